"""Scenario tests: interrupted commands, throttling storms, server errors and dropped connections."""

from __future__ import annotations

import json
import queue
import signal
import threading
import time

import pytest

from tests.scenarios.conftest import assert_ok

pytestmark = pytest.mark.emulator

RUN = "Microsoft.VirtualMachineImages/imageTemplates/run"


def wait_for_line(proc, needle: str, timeout: float = 60) -> list[str]:
    """Lines of proc's stdout up to the first containing needle."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} never appeared; output so far:\n{''.join(seen)}\n{proc.stderr.read()}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_detaches_and_the_rerun_attaches(world, sig):
    world.arm.imagebuilder.hold = True  # the build stays running while we interrupt
    proc = world.popen("build")
    wait_for_line(proc, "Running / ")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "detached: the build goes on in Azure" in err and "aks-jumpbox watch -f" in err
    template = world.arm.store.of_type("Microsoft.VirtualMachineImages/imageTemplates")[0]
    assert world.arm.imagebuilder.run_of(template.id).state == "Running"  # not cancelled
    world.arm.imagebuilder.hold = False
    result = world.cli("build", "--output", "json")
    assert_ok(result)
    doc = json.loads(result.stdout)
    assert doc["action"] == "attach" and doc["run"]["runState"] == "Succeeded"
    assert world.arm.count("POST", kind=RUN) == 1  # one build, not two


def test_killed_build_is_reattached_by_watch(world):
    world.arm.imagebuilder.hold = True
    proc = world.popen("build")
    wait_for_line(proc, "Running / ")
    proc.kill()
    proc.communicate(timeout=30)
    status = json.loads(world.cli("status", "--output", "json").stdout)
    assert status["run"]["runState"] == "Running"
    world.arm.imagebuilder.hold = False
    result = world.cli("watch")
    assert_ok(result)
    assert "build succeeded" in result.stdout
    assert world.arm.count("POST", kind=RUN) == 1


def test_second_build_while_one_runs_attaches_and_cancel_cancels(world):
    world.arm.imagebuilder.hold = True
    assert_ok(world.cli("build", "--no-wait"))
    attach = world.cli("build", "--no-wait", "--output", "json")
    assert_ok(attach)
    assert json.loads(attach.stdout)["action"] == "attach"
    assert world.arm.count("POST", kind=RUN) == 1
    cancel = world.cli("cancel", "--output", "json")
    assert_ok(cancel)
    assert json.loads(cancel.stdout)["cancelled"] is True
    world.arm.imagebuilder.hold = False
    watched = world.cli("watch", "--output", "json")
    assert_ok(watched, 1)
    assert json.loads(watched.stdout)["run"]["runState"] == "Canceled"
    nothing = world.cli("cancel")
    assert_ok(nothing)
    assert "nothing to cancel" in nothing.stdout


def test_build_survives_throttling_storms_server_errors_and_dropped_connections(world):
    f = world.arm.faults
    f.throttle(5, method="GET", path="roleDefinitions", retry_after=0.05)
    f.throttle(5, method="PUT", retry_after=0.05)
    f.server_error(3, status=500, method="PUT", path="userAssignedIdentities")
    f.server_error(2, status=503, method="GET", path="operations")
    f.throttle(4, method="POST", path="/run$", retry_after=0.05)
    f.drop(1, method="POST", path="/run$", after=True)  # ARM starts the run, the answer is lost
    f.drop(2, method="GET", path="roleAssignments")

    def storm_while_watching() -> None:
        deadline = time.monotonic() + 60
        while world.arm.count("POST", kind=RUN) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        # More consecutive drops than the SDK retries: the watch itself must resume.
        f.drop(8, method="GET", path="imageTemplates/imgt-[^/]+$")
        f.throttle(5, method="GET", path="imageTemplates/imgt-[^/]+$", retry_after=0.05)

    helper = threading.Thread(target=storm_while_watching, daemon=True)
    helper.start()
    result = world.cli("build", "--output", "json", timeout=180)
    helper.join(5)
    assert_ok(result)
    doc = json.loads(result.stdout)
    assert doc["run"]["runState"] == "Succeeded" and doc["ok"]
    assert world.arm.count("POST", kind=RUN) == 5  # 4 throttled + 1 accepted; its lost answer not resent
    assert all(rule.exhausted for rule in f.rules), [(r.path, r.hits, r.count) for r in f.rules]
    faults = [r.fault for r in world.arm.requests if r.fault]
    assert faults.count("drop") == 11 and faults.count("429") == 19


def test_interrupted_deploy_resumes_where_it_stopped(world):
    world.arm.faults.error(
        400,
        "InvalidTemplate",
        "Deployment template validation failed: 'simulated'.",
        method="PUT",
        path="imageTemplates",
    )
    first = world.cli("build")
    assert_ok(first, 1)
    assert "InvalidTemplate" in first.stderr and "resource: /subscriptions/" in first.stderr
    assert "imageTemplates/imgt-aksjb-" in first.stderr
    again = world.cli("build", "--output", "json")
    assert_ok(again)
    assert [c["key"] for c in json.loads(again.stdout)["deployed"]] == ["template"]
