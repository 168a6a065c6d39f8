"""Issue 10, findings 7 and 8: live output comes from the build container while the build runs, the logs
in packerlogs only after it, and always the current run's
(https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-troubleshoot#customization-log);
Packer's debug output on "PACKER ERR" lines is neither shown live nor taken for an error."""

from __future__ import annotations

import json

import pytest

from tests.scenarios.conftest import assert_ok
from tests.scenarios.test_failures import WHY, fail_download

pytestmark = pytest.mark.emulator


def test_the_live_view_streams_the_build_containers_output_while_it_runs(world):
    world.arm.imagebuilder.ticks_per_phase = 4  # several looks while it customizes
    result = world.cli("build")
    assert_ok(result)
    out = result.stdout
    assert "live output of vmimagebuilder-build-container-" in out
    streamed = out.index("| ==> aks-jumpbox step download begin")
    assert streamed < out.index("Running / Distributing") < out.index("build succeeded")
    assert "Azure request" not in out and "[INFO]" not in out  # Packer's debug log stays out of the view


def test_without_leave_to_read_the_container_logs_the_view_says_what_it_waits_for(world):
    world.arm.imagebuilder.ticks_per_phase = 3
    world.arm.faults.error(
        403,
        "AuthorizationFailed",
        "The client does not have authorization to perform action "
        "'Microsoft.ContainerInstance/containerGroups/containers/logs/read'.",
        count=1000,
        method="GET",
        path="/containers/[^/]+/logs$",
    )
    result = world.cli("build")
    assert_ok(result)
    assert (
        "waiting for the build VM's output: reading the build container's logs needs "
        "Microsoft.ContainerInstance/containerGroups/containers/logs/read" in result.stdout
    )
    assert "build succeeded" in result.stdout


def test_logs_of_a_running_rebuild_are_never_the_previous_runs(world):
    fail_download(world)
    assert_ok(world.cli("build"), 1)
    world.arm.faults.clear()
    world.arm.imagebuilder.hold = True  # the rebuild stays running while we look
    started = world.cli("build", "--no-wait", "--output", "json")
    assert_ok(started)
    assert json.loads(started.stdout)["run"]["runState"] == "Running"
    result = world.cli("logs", "--output", "json")
    assert_ok(result)
    doc = json.loads(result.stdout)
    assert doc["failedStep"] is None and doc["reason"] is None and doc["blobs"] == {}
    assert "writes its logs to packerlogs when it ends" in doc["note"]
    assert WHY not in result.stdout


def test_logs_of_a_successful_build_report_no_failure_despite_packers_debug_lines(world):
    assert_ok(world.cli("build"))
    result = world.cli("logs", "--output", "json", "--full")
    assert_ok(result)
    doc = json.loads(result.stdout)
    assert "PACKER ERR" in doc["texts"]["customization.log"]  # the realistic log has them
    assert doc["failedStep"] is None and doc["reason"] is None and doc["relevantLines"] == []
