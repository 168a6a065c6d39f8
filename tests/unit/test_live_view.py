"""The live view's pure parts: the step checklist, the planned steps, run times, the current run's build
container, and the presenter's ticking elapsed time and JSON Lines events."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from types import SimpleNamespace

from aks_jumpbox.azure.build import Snapshot
from aks_jumpbox.azure.logs import current_container
from aks_jumpbox.cli.progress import Presenter
from aks_jumpbox.core.buildlog import StepBoard, plan_steps, planned_steps
from aks_jumpbox.core.runs import RunStatus
from tests.conftest import make_plan, variant

T0 = dt.datetime(2026, 6, 1, 10, 0, 0, tzinfo=dt.UTC)


def marker(name: str, event: str) -> str:
    return f"[run] PACKER OUT     azure-arm: ==> aks-jumpbox step {name} {event}"


def test_planned_steps_are_the_steps_provision_sh_runs(default_plan):
    """Read from the rendered script: main's calls in order, each function's step markers."""
    script = default_plan.scripts["provision.sh"]
    calls = re.findall(r"^  ([a-z_]+)$", script[script.index("\nmain() {") :], re.MULTILINE)
    in_script = []
    for fn in calls:
        body = script[script.index(f"\n{fn}() {{") :].split("\n}\n", 1)[0]
        in_script += re.findall(r"^\s+step (\S+)$", body, re.MULTILINE)
    assert "trust-mirror-ca" in in_script and "apt-sources" in in_script  # guarded: the default spec skips them
    tools = [f"tool:{a.name}" for a in default_plan.artifacts]
    expected = []
    for name in in_script:
        if name == '"tool:$name"':
            expected += tools
        elif name not in ("trust-mirror-ca", "apt-sources"):
            expected.append(name)
    assert list(plan_steps(default_plan)) == expected


def test_a_mirror_adds_its_steps():
    with_mirror = planned_steps(mirror_ca=True, apt_mirror=True, tools=["helm"])
    assert with_mirror[:4] == ("wait-for-boot", "trust-mirror-ca", "apt-sources", "apt-upgrade")
    assert "tool:helm" in with_mirror


def test_the_board_moves_forward_only_and_infers_steps_it_did_not_see():
    board = StepBoard(["wait-for-boot", "apt-upgrade", "download", "azure-cli"])
    assert board.label() == "none yet (4 planned)"
    changes = board.feed(marker("wait-for-boot", "begin"))
    assert [(c.name, c.status, c.index, c.total) for c in changes] == [("wait-for-boot", "running", 1, 4)]
    # A later tail: the window moved past apt-upgrade's markers entirely.
    changes = board.feed(
        "\n".join(
            [
                marker("download", "begin"),
                "[run] PACKER OUT     azure-arm: + printf '==> aks-jumpbox step download end'",
            ]
        )
    )
    assert [(c.name, c.status) for c in changes] == [
        ("wait-for-boot", "done"),
        ("apt-upgrade", "done"),
        ("download", "running"),
    ]
    assert board.label() == "download 3/4"
    assert board.feed(marker("download", "begin")) == []  # seen again in an overlapping tail: nothing moves
    failed = board.feed("[run] PACKER ERR     azure-arm: ==> aks-jumpbox step download FAILED: sha256 mismatch")
    assert [(c.name, c.status, c.why) for c in failed] == [("download", "failed", "sha256 mismatch")]
    assert board.label() == "download 3/4 FAILED"
    assert board.feed(marker("download", "end")) == []  # a failed step stays failed


def test_a_run_that_ends_while_a_step_runs_fails_that_step():
    board = StepBoard(["a", "b", "c"])
    board.feed(marker("b", "begin"))
    assert [(c.name, c.status) for c in board.fail("b")] == [("b", "failed")]
    assert board.failed().name == "b" and board.items[0].status == "done" and board.items[2].status == "pending"


def test_run_times_are_whole_seconds_with_the_duration():
    done = RunStatus(
        "Succeeded", "Distributing", start_time="2026-06-01T10:00:00.1234567Z", end_time="2026-06-01T10:31:02.5Z"
    )
    assert done.since() == "Succeeded since 2026-06-01 10:31:02 UTC (the run took 31:02)"
    assert done.to_json()["durationSeconds"] == 1862
    running = RunStatus("Running", "Customizing", start_time="2026-06-01T10:00:00Z")
    assert (
        running.since(T0 + dt.timedelta(seconds=20))
        == "Running / Customizing since 2026-06-01 10:00:00 UTC (00:20 so far)"
    )
    assert "durationSeconds" not in running.to_json()
    assert RunStatus(None).since() == "never run"


def test_the_current_runs_container_is_never_one_made_before_the_run_started():
    old = {"name": "vmimagebuilder-build-container-old", "createdTime": "2026-06-01T09:00:00Z"}
    new = {"name": "vmimagebuilder-build-container-new", "createdTime": "2026-06-01T10:00:03.5Z"}
    start = "2026-06-01T10:00:00Z"
    assert current_container([old], start) is None
    assert current_container([old, new], start) == new["name"]
    assert current_container([new, old], start) == new["name"]
    assert current_container([{"name": "only"}], start) == "only"  # no times to compare: the only one
    assert current_container([], start) is None


def snapshot(run: RunStatus, **kw) -> Snapshot:
    return Snapshot("imgt-x", run, kw.pop("elapsed", 0.0), kw.pop("tail", []), start=run.started, **kw)


def test_elapsed_ticks_between_looks_from_the_runs_start():
    now = [T0 + dt.timedelta(seconds=20)]
    presenter = Presenter("text", now=lambda: now[0])
    snap = snapshot(RunStatus("Running", "Building", start_time="2026-06-01T10:00:00Z"), elapsed=20.0)
    text = lambda: _plain(presenter.render(snap))  # noqa: E731
    assert re.search(r"elapsed\s+00:20", text())
    now[0] += dt.timedelta(seconds=3)  # no new look, only a redraw
    assert re.search(r"elapsed\s+00:23", text())
    assert "waiting for the build VM's output" in text() and re.search(r"phase\s+Building", text())


def _plain(renderable) -> str:
    from rich.console import Console

    buffer = io.StringIO()
    Console(file=buffer, width=200, color_system=None).print(renderable)
    return buffer.getvalue()


def test_json_lines_events_say_what_changed_once():
    stream = io.StringIO()
    presenter = Presenter("json", events=stream, now=lambda: T0)
    board = StepBoard(["wait-for-boot", "download"])
    run = RunStatus("Running", "Customizing", start_time="2026-06-01T09:59:00Z")
    board.feed(marker("wait-for-boot", "begin"))
    presenter.update(snapshot(run, steps=board, tail=["one", "two"], log_source="live output of c"))
    board.feed(marker("download", "begin"))
    presenter.update(snapshot(run, steps=board, tail=["two", "three"], log_source="live output of c"))
    presenter.decided(SimpleNamespace(action="run", why="the template is new"))
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert all(e["time"] == "2026-06-01T10:00:00Z" for e in events)
    kinds = [(e["event"], e.get("name") or e.get("line") or e.get("runSubState") or e.get("source")) for e in events]
    assert kinds == [
        ("phase", "Customizing"),
        ("step", "wait-for-boot"),
        ("output", "live output of c"),
        ("log", "one"),
        ("log", "two"),
        ("step", "wait-for-boot"),
        ("step", "download"),
        ("log", "three"),
        ("decision", None),
    ]
    assert [e["status"] for e in events if e["event"] == "step"] == ["running", "done", "running"]


def test_a_gallery_plan_names_its_version_for_the_next_command(default_data, default_lock):
    from aks_jumpbox.cli.progress import next_commands

    data = variant(
        default_data,
        distribute={"gallery": {"resource_group": "rg-images", "name": "gal", "image": {"publisher": "c"}}},
    )
    plan = make_plan(data, default_lock)
    outcome = SimpleNamespace(
        run=RunStatus("Succeeded"), decision=SimpleNamespace(action="run"), template=plan.template.name
    )
    hint = lambda c, extra: f"aks-jumpbox {c} {extra}".strip()  # noqa: E731
    assert next_commands(outcome, plan, hint) == [f"aks-jumpbox promote {plan.gallery.version}"]
    outcome.run = RunStatus("Failed")
    assert next_commands(outcome, plan, hint) == ["aks-jumpbox logs --full"]
