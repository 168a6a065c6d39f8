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
    con.print(Presenter("text")._render(snap))
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
