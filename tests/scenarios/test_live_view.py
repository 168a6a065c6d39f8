"""Issue 12, findings 2-5 and 13-14: the live view of a build shows only the current run, counts elapsed time
from the run's start, shows the provision script's steps as a checklist (the failing one marked), the
preflight before the build and the gallery version and next command after it; `-o json` streams JSON Lines
progress events on stderr while stdout keeps the one final document."""

from __future__ import annotations

import json
import re

import pytest

from aks_jumpbox.core.buildlog import plan_steps
from tests.conftest import make_plan
from tests.scenarios.conftest import IMAGE_RG, assert_ok
from tests.scenarios.test_failures import WHY, fail_download

pytestmark = pytest.mark.emulator

TEMPLATES = "Microsoft.VirtualMachineImages/imageTemplates"


def events(stderr: str) -> list[dict]:
    """Every stderr line is one JSON object with an "event"."""
    out = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert all("event" in e and "time" in e for e in out), stderr
    return out


def template_id(world) -> str:
    (template,) = world.arm.store.of_type(TEMPLATES)
    return template.id


def steps_total(world, default_lock) -> int:
    return len(plan_steps(make_plan(world.data, default_lock)))


def test_a_new_run_after_a_failed_one_shows_none_of_the_old_runs_lines(world):
    # The failed run's build container stays behind, still holding its output: the new run's view must not
    # read it, before its own container exists nor after.
    world.arm.imagebuilder.linger_build_containers = True
    world.arm.imagebuilder.ticks_per_phase = 3
    fail_download(world)
    failed = world.cli("build")
    assert_ok(failed, 1)
    assert WHY in failed.stdout
    world.arm.faults.clear()
    result = world.cli("build")
    assert_ok(result)
    out = result.stdout
    assert "live output of vmimagebuilder-build-container-" in out and "build succeeded" in out
    assert WHY not in out and "FAILED" not in out
    assert "waiting for the build VM's output (no build container of this run" in out
    again = world.cli("build", "--force", "--output", "json")
    assert_ok(again)
    assert WHY not in again.stderr and not [e for e in events(again.stderr) if e.get("status") == "failed"]


def test_reattaching_counts_elapsed_from_the_runs_start_not_from_the_attach(world):
    world.arm.imagebuilder.hold = True
    assert_ok(world.cli("build", "--no-wait"))
    world.arm.imagebuilder.backdate(template_id(world), 20 * 60)  # the run began 20 minutes ago
    status = world.cli("status")
    assert_ok(status)
    assert re.search(
        r"last run  Running / Queued since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(2\d:\d\d so far\)", status.stdout
    )
    world.arm.imagebuilder.hold = False
    watched = world.cli("watch")
    assert_ok(watched)
    first = next(line for line in watched.stdout.splitlines() if line.startswith("["))
    assert re.match(r"\[2\d:\d\d\] imgt-aksjb-\S+: Running / ", first), watched.stdout
    as_json = world.cli("build", "--force", "--no-wait", "--output", "json")
    assert_ok(as_json)
    world.arm.imagebuilder.backdate(template_id(world), 20 * 60)
    doc = world.cli("watch", "--output", "json")
    assert_ok(doc)
    phases = [e for e in events(doc.stderr) if e["event"] == "phase"]
    assert phases and all(e["elapsedSeconds"] >= 20 * 60 for e in phases)


def test_the_failing_step_is_named_and_marked_in_the_checklist(world, default_lock):
    world.arm.imagebuilder.ticks_per_phase = 4
    fail_download(world)
    total = steps_total(world, default_lock)
    result = world.cli("build")
    assert_ok(result, 1)
    out = result.stdout
    assert "step wait-for-boot (1/" in out
    assert f"step download (3/{total}) FAILED: {WHY}" in out
    assert "failing step: download" in out and "step -" not in out and "(-)" not in out
    assert "build Failed in phase Customizing" in out

    as_json = world.cli("build", "--output", "json")
    assert_ok(as_json, 1)
    doc = json.loads(as_json.stdout)
    seen = events(as_json.stderr)
    steps = [(e["name"], e["status"]) for e in seen if e["event"] == "step"]
    assert ("wait-for-boot", "done") in steps and ("apt-upgrade", "done") in steps
    assert steps[-1] == ("download", "failed") and ("azure-cli", "running") not in steps
    failed = next(e for e in seen if e["event"] == "step" and e["status"] == "failed")
    assert failed["index"] == 3 and failed["total"] == total and failed["why"] == WHY
    result_event = seen[-1]
    assert result_event["event"] == "result" and result_event["failedStep"] == "download"
    assert result_event["ok"] is False and doc["failedStep"] == "download"


def test_build_shows_the_preflight_summary_first_and_the_next_command_last(world):
    result = world.cli("build")
    assert_ok(result)
    out = result.stdout
    assert out.index("preflight (") < out.index("started a build of")
    assert re.search(r"preflight \([^)]*\): .*\d+ passed", out)
    assert "next: `aks-jumpbox logs -f" in out and re.search(
        r"next: `aks-jumpbox report -f \S+ --log build-logs/customization.log`", out
    )
    status = world.cli("status")
    assert_ok(status)
    line = next(x for x in status.stdout.splitlines() if x.startswith("last run"))
    assert re.fullmatch(
        r"last run  Succeeded since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(the run took \d\d:\d\d\)", line
    ), line
    doc = json.loads(world.cli("status", "--output", "json").stdout)
    assert isinstance(doc["run"]["durationSeconds"], int)


def test_json_progress_events_go_to_stderr_and_the_document_to_stdout(world):
    world.arm.imagebuilder.ticks_per_phase = 3
    result = world.cli("build", "--output", "json")
    assert_ok(result)
    doc = json.loads(result.stdout)  # stdout: exactly the final document
    seen = events(result.stderr)
    kinds = [e["event"] for e in seen]
    assert kinds[0] == "preflight" and kinds[-1] == "result"
    for kind in ("decision", "deployed", "note", "phase", "step", "output", "log"):
        assert kind in kinds, kind
    subs = [e["runSubState"] for e in seen if e["event"] == "phase"]
    assert subs.index("Customizing") < subs.index("Distributing")
    assert any(e["event"] == "log" and "==> aks-jumpbox step " in e["line"] for e in seen)
    assert seen[-1]["ok"] is True and seen[-1]["imageId"] == doc["imageId"]
    assert doc["next"] and doc["next"][0].startswith("aks-jumpbox logs")


def test_a_gallery_build_names_the_version_and_the_promote_command(world):
    world.data["distribute"] = {
        "gallery": {"resource_group": IMAGE_RG, "name": "gal_jumpbox", "image": {"publisher": "contoso"}}
    }
    world.write_spec()
    result = world.cli("build")
    assert_ok(result)
    version = re.search(r"gallery version (\S+) \(a canary: excluded from latest until promoted\)", result.stdout)
    assert version, result.stdout
    assert f"next: `aks-jumpbox promote -f {world.spec_path} {version[1]}`" in result.stdout
    doc = json.loads(world.cli("build", "--output", "json").stdout)  # nothing to build: same answer
    assert doc["action"] == "skip" and doc["galleryVersion"] == version[1]
    assert doc["next"] == [f"aks-jumpbox promote -f {world.spec_path} {version[1]}"]
