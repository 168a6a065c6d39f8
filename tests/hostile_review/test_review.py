"""The second hostile review (issue 9): its cases run by the first corpus's harness and judge, plus what
a CLI run cannot reach (the live build view, the release parsers)."""

from __future__ import annotations

import io
import json

import pytest

from tests.hostile.case import Case
from tests.hostile.test_corpus import init_dir, run_and_judge, trip  # noqa: F401 - fixtures, by name
from tests.hostile_review.cases import CASES, ESC, HUGE, OSC_TITLE


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_second_review(case: Case, tmp_path, init_dir, trip):  # noqa: F811
    assert case.verify is None  # no rendered-plan baseline needed: these cases render no plan
    run_and_judge(case, tmp_path, init_dir, None, trip)


def test_live_view_shows_log_lines_and_notes_escaped():
    """`build`/`watch` on a terminal: the customization.log tail and the note are the build VM's and
    Azure's words; rich's Text keeps ESC, so they must be escaped before."""
    from rich.console import Console

    from aks_jumpbox.azure.build import Snapshot
    from aks_jumpbox.cli.progress import Presenter
    from aks_jumpbox.core.runs import RunStatus

    snap = Snapshot(
        "it-x",
        RunStatus("Running", "Building"),
        12.0,
        [f"[2026] PACKER OUT azure-arm: {OSC_TITLE}\x1b[2Jdone", "\x1b]8;;https://x.example\x07link"],
        f"lost contact with Azure ({OSC_TITLE}); still trying",
    )
    out = io.StringIO()
    con = Console(file=out, force_terminal=True, color_system=None, width=160)  # no styles: any ESC is injected
    con.print(Presenter("text").render(snap))
    assert ESC not in out.getvalue()
    assert "\\x1b]0;PWNED" in out.getvalue()  # shown, escaped


@pytest.mark.parametrize(
    "tag",
    [
        "azure-cli-3.0.0\n",
        "azure-cli-\u0663.\u0660.\u0660",
        f"azure-cli-2.{HUGE}.0",
        "azure-cli-3.0.0 ",
        "azure-cli-3.0.0\x1b[2J",
    ],
)
def test_a_feed_tag_that_is_not_a_plain_version_is_skipped(tag):
    from aks_jumpbox.core.catalog import load_catalog
    from aks_jumpbox.core.releases import newest_release

    answer = json.dumps(
        [
            {"tag_name": tag, "draft": False, "prerelease": False, "assets": []},
            {"tag_name": "azure-cli-2.91.0", "draft": False, "prerelease": False, "assets": []},
        ]
    )
    newest = newest_release("azure-cli", load_catalog(), "amd64", lambda url: answer)
    assert (newest.version, newest.error) == ("2.91.0", None)


def test_a_lock_note_from_a_server_is_one_printable_line():
    """What `lock` writes into `source` must be what the lock reader accepts."""
    from aks_jumpbox.core.resolve import _one_line

    note = _one_line(f"HTTP 404 {OSC_TITLE}\nTrusted: yes " + "x" * 5000)
    assert note.isprintable() and len(note) <= 900 and "\\x1b" in note


# ---------------------------------------------------------------------------------------------
# third review: the build's progress under GitHub Actions, the what-if's live values, the fetch script

GHA_INJECTION = "x\n::add-mask::hostile\r::stop-commands::tok\n  ::error::forged ##[add-mask]y"


def _workflow_commands(text: str) -> list[str]:
    """The lines GitHub's runner would read as workflow commands (split at LF, CR and CRLF; `::` after
    leading whitespace, or the older `##[` anywhere)."""
    import re

    return [ln for ln in re.split(r"\r\n|\r|\n", text) if ln.lstrip().startswith("::") or "##[" in ln]


@pytest.mark.parametrize("output", ["text", "json"])
def test_build_progress_under_github_actions_starts_no_workflow_command(output, monkeypatch):
    """`build -o json` sends JSON Lines events to stderr and `build` in a pipeline one line per change: the
    build VM's log lines and Azure's notes are in them, and the runner reads both streams for commands
    (`##[add-mask]`, `::stop-commands::`). Was: a log line's `##[` in every event, a note's lines raw."""
    from rich.console import Console

    from aks_jumpbox.azure.build import Snapshot
    from aks_jumpbox.cli.progress import Presenter
    from aks_jumpbox.core.runs import Decision, RunStatus

    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    events, out = io.StringIO(), io.StringIO()
    p = Presenter(output, events=events)
    p.con = Console(file=out, force_terminal=False, width=40)  # a pipeline's log, where long lines wrap
    p.decided(Decision("create", "because " + "w" * 30 + " ::error::wrapped"))
    p.note(GHA_INJECTION)
    snap = Snapshot(
        "imgt-x",
        RunStatus("Running", "Building"),
        12.0,
        ["[2026] PACKER OUT azure-arm: ##[add-mask]secret", "  ::warning::from the build VM", GHA_INJECTION],
        GHA_INJECTION,
    )
    p.update(snap)
    shown = events.getvalue() + out.getvalue()
    assert "hostile" in shown and "from the build VM" in shown  # shown, defused
    assert _workflow_commands(shown) == []
    if output == "json":
        for line in events.getvalue().splitlines():
            json.loads(line)  # still one JSON document per line


def test_what_if_live_values_with_line_breaks_start_no_workflow_command(monkeypatch):
    """`deploy --what-if`: a resource ID or property path from Azure's what-if answer holding a line break
    printed a second line that started with `::` (defuse looked at the start of the whole text only)."""
    from aks_jumpbox.cli.annotations import defuse

    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert _workflow_commands(defuse(f"  id: {GHA_INJECTION}")) == []
    assert defuse("::x\r\n::y") == "> ::x\r\n> ::y"  # the breaks themselves kept
