"""The watch loop's patience, driven by a scripted sequence of template states and a fake clock."""

from __future__ import annotations

import pytest

from aks_jumpbox.azure import build as b
from aks_jumpbox.azure.errors import AzureFailure
from aks_jumpbox.core.runs import RunStatus


class Scripted(b.Template):
    """A Template whose looks return the given states (an AzureFailure item is raised)."""

    def __init__(self, looks):
        super().__init__(az=None, resource_group="rg", name="imgt-x", template_id="/subscriptions/s/x")
        self.looks = list(looks)

    def require(self):
        item = self.looks.pop(0) if len(self.looks) > 1 else self.looks[0]
        if isinstance(item, Exception):
            raise item
        return {"properties": {"lastRunStatus": item}}


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def run(state, sub=None, start="t1"):
    return {"runState": state, "runSubState": sub, "startTime": start}


def lost():
    return AzureFailure("reading", "ConnectionFailed", "no answer")


def test_watch_ends_with_the_new_runs_result_not_the_previous_one():
    before = RunStatus("Failed", "Customizing", start_time="t0")
    t = Scripted(
        [
            run("Failed", "Customizing", "t0"),
            run("Running", "Building"),
            lost(),
            lost(),
            run("Running", "Distributing"),
            run("Succeeded", "Distributing"),
        ]
    )
    clock, seen = Clock(), []
    final = t.watch(before=before, interval=15, on_update=seen.append, clock=clock, sleep=clock.sleep)
    assert final.state == "Succeeded"
    assert [s.run.label() for s in seen][0] == "Running / Queued"  # the old Failed is not this run's result
    assert any(s.note and "lost contact" in s.note for s in seen)


def test_watch_gives_up_after_a_long_silence_but_says_the_build_goes_on():
    t = Scripted([run("Running", "Building"), lost()])
    clock = Clock()
    with pytest.raises(AzureFailure) as err:
        t.watch(interval=60, clock=clock, sleep=clock.sleep)
    assert "the build goes on" in err.value.message and "aks-jumpbox watch" in err.value.hint
    assert clock.now > b.LOST_CONTACT_LIMIT_SECONDS


def test_watch_stops_when_a_started_run_never_shows_up():
    before = RunStatus("Succeeded", start_time="t0")
    t = Scripted([run("Succeeded", "Distributing", "t0")])
    clock = Clock()
    with pytest.raises(AzureFailure) as err:
        t.watch(before=before, interval=30, clock=clock, sleep=clock.sleep)
    assert err.value.code == "RunNotStarted"


def test_other_azure_errors_end_the_watch_at_once():
    t = Scripted([AzureFailure("reading", "AuthorizationFailed", "no", status=403)])
    clock = Clock()
    with pytest.raises(AzureFailure, match="AuthorizationFailed"):
        t.watch(interval=1, clock=clock, sleep=clock.sleep)
    assert clock.now == 0
