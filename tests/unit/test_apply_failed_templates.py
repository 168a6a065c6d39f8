"""Issue 10, finding 3, the pure parts: how a failed template is recognised and how long deploy waits for
new role assignments to reach Image Builder (bounded; the wait itself is injected as `sleep`)."""

from __future__ import annotations

from aks_jumpbox.azure.apply import PROPAGATION_RETRIES, propagation_waits, provisioning_failure
from aks_jumpbox.cli.progress import _new_lines


def test_waits_for_role_propagation_are_bounded_and_scale_with_the_backoff_setting():
    default = propagation_waits(0.8)
    assert len(default) == PROPAGATION_RETRIES and default == sorted(default)
    assert 120 <= sum(default) <= 600  # minutes, as Azure documents, never endless
    assert sum(propagation_waits(0.001)) < 5  # what the scenario tests use: seconds


def test_a_failed_template_is_told_by_its_provisioning_state_and_error():
    failed = {
        "properties": {
            "provisioningState": "Failed",
            "provisioningError": {"provisioningErrorCode": "BadStagingResourceGroup", "message": "not empty"},
        }
    }
    assert provisioning_failure(failed) == "BadStagingResourceGroup: not empty"
    assert provisioning_failure({"properties": {"provisioningState": "Succeeded"}}) is None
    assert provisioning_failure(None) is None


def test_the_log_stream_prints_only_lines_not_shown_yet():
    assert _new_lines(["a", "b", "c"], ["b", "c", "d", "e"]) == ["d", "e"]
    assert _new_lines([], ["a"]) == ["a"]
    assert _new_lines(["a", "b"], ["a", "b"]) == []
