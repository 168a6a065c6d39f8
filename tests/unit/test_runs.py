"""What `build` decides from a template's last run."""

from __future__ import annotations

import pytest

from aks_jumpbox.core.runs import RunStatus, decide


def status(state, sub=None, start="2026-12-01T10:00:00Z"):
    return RunStatus.from_template(
        {"properties": {"lastRunStatus": {"runState": state, "runSubState": sub, "startTime": start}}}
        if state
        else {"properties": {}}
    )


@pytest.mark.parametrize(
    "state, exists, image, force, action",
    [
        (None, False, False, False, "run"),
        (None, True, False, False, "run"),
        ("Running", True, False, False, "attach"),
        ("Running", True, False, True, "attach"),  # --force never starts a second build
        ("Canceling", True, False, False, "attach"),
        ("Succeeded", True, True, False, "skip"),
        ("Succeeded", True, True, True, "run"),
        ("Succeeded", True, False, False, "run"),  # the image was deleted
        ("Failed", True, False, False, "run"),
        ("Canceled", True, False, False, "run"),
        ("PartiallySucceeded", True, True, False, "run"),
    ],
)
def test_decide(state, exists, image, force, action):
    assert decide(status(state), template_exists=exists, image_exists=image, force=force).action == action


def test_labels_and_json():
    assert status("Running", "Customizing").label() == "Running / Customizing"
    assert status("Failed", "Customizing").label() == "Failed"
    assert status(None).label() == "never run"
    assert status("Succeeded").to_json()["runState"] == "Succeeded"
    assert RunStatus.from_template(None).state is None
