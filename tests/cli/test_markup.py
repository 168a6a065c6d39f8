"""Values printed through rich are printed as written: `[/]` or `[bold]` in a name, path, URL or message
neither crashes the output (a MarkupError after the files were written) nor styles it. Checked on a
console that believes it is a terminal (force_terminal), so styles would show as escape codes."""

from __future__ import annotations

import io
import re
from types import SimpleNamespace

import pytest
import yaml

from aks_jumpbox.cli import present
from aks_jumpbox.cli.main import main
from tests.conftest import variant

ANSI = re.compile(r"\x1b\[[0-9;]*m")
HOSTILE = ("[/]", "[bold]", "[red]x[/red]", "[link=https://evil.example]y", ":warning:", "\\[b]", "end\\")


@pytest.fixture
def terminal(monkeypatch):
    """Every console the CLI makes is a colour terminal writing into one buffer."""
    buffer = io.StringIO()

    def console(stderr: bool = False, **kwargs):
        from rich.console import Console

        return Console(
            file=buffer,
            force_terminal=True,
            color_system="standard",
            width=400,
            highlight=False,
            soft_wrap=False,
            emoji=False,
        )

    import importlib

    # Imported before present.console is replaced: a module first imported now would keep the stand-in.
    modules = [
        importlib.import_module(f"aks_jumpbox.cli.commands.{name}")
        for name in (
            "plan",
            "check",
            "deploy",
            "outdated",
            "status",
            "cancel",
            "cleanup",
            "logs",
            "promote",
            "snapshot",
            "versions",
            "build",
            "watch",
        )
    ] + [importlib.import_module("aks_jumpbox.cli.progress")]
    monkeypatch.setattr(present, "console", console)
    for module in modules:
        if hasattr(module, "console"):
            monkeypatch.setattr(module, "console", console)
    return buffer


def _literal(raw: str, value: str) -> None:
    """value appears as written, with no style switched on or off inside it."""
    assert value in raw, (value, raw[:2000])


def test_plan_prints_markup_like_paths_and_values_as_written(tmp_path, terminal, default_data, capsys):
    spec_dir = tmp_path / "spec[/]dir[bold]"  # folders "spec[" and "]dir[bold]"
    spec_dir.mkdir(parents=True)
    lock_dir = tmp_path / "lock[red]x[/red]"
    lock_dir.mkdir(parents=True)
    from aks_jumpbox.core.lock import default_lock_text

    (lock_dir / "jumpbox.lock.json").write_text(default_lock_text())
    # The spec allows brackets in tag values and a gallery's regions are printed in brackets.
    data = variant(
        default_data,
        tags={"owner": "[/]team[bold]x", "cost": "[red]1[/red]"},
        distribute__gallery={
            "resource_group": "rg-images",
            "name": "gal_x",
            "image": {"name": "aks-jumpbox", "publisher": "Contoso", "offer": "aks-jumpbox"},
            "target_regions": [{"name": "eastus2", "replicas": 1}],
        },
    )
    (spec_dir / "jumpbox.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp_path / "out[/]"
    rc = main(
        ["plan", "-f", str(spec_dir / "jumpbox.yaml"), "--lock", str(lock_dir / "jumpbox.lock.json"), "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert rc == 0, err
    raw = terminal.getvalue()
    plain = ANSI.sub("", raw)
    for value in (str(spec_dir), str(lock_dir), str(out), "[eastus2 x1]"):
        _literal(raw, value)
    assert "\x1b[1m" in raw, "the tool's own styles still work on a terminal"
    assert "aks-jumpbox plan" in plain and (out / "provision.sh").is_file()


@pytest.mark.parametrize("value", HOSTILE)
def test_every_presenter_prints_values_as_written(value):
    from rich.console import Console

    from aks_jumpbox.cli.commands.check import show_report
    from aks_jumpbox.cli.outcome import show_logs, show_outcome
    from aks_jumpbox.cli.progress import Presenter, describe

    buffer = io.StringIO()
    con = Console(file=buffer, force_terminal=True, color_system="standard", width=400, highlight=False, emoji=False)
    run = SimpleNamespace(
        active=False, succeeded=False, state=value, sub_state=value, message=value, finished=True, label=lambda: value
    )
    report = SimpleNamespace(failed_step=value, reason=value, failed_checks=[value], relevant=[value])
    logs = SimpleNamespace(blob_urls={value: f"https://x.example/{value}"}, auth=value)
    outcome = SimpleNamespace(
        decision=SimpleNamespace(action="build"),
        run=run,
        template=value,
        image_id=value,
        report=report,
        logs=logs,
        log_error=None,
        image_role_removed=False,
    )
    show_outcome(con, outcome, value)
    show_logs(con, None, None, value)
    resource = SimpleNamespace(
        type="Microsoft.Authorization/roleDefinitions", name=value, body={"properties": {"roleName": value}}
    )
    con.print(describe(resource))
    presenter = Presenter("text")
    presenter.con = con
    presenter.note(value)
    presenter.decided(SimpleNamespace(action=value, why=value))
    presenter.deployed(SimpleNamespace(action=value, resource=resource))
    try:  # a terminal gets the live view (a refresh thread until stopped)
        presenter.update(SimpleNamespace(elapsed=5, template=value, run=run, note=value, log_tail=[value]))
    finally:
        presenter.stop()
    raw = buffer.getvalue()
    # Every call printed the value as written (some several times): count the literal occurrences.
    assert raw.count(value) >= 15, raw
    assert "\u26a0" not in raw, "no emoji code is rendered"

    check = SimpleNamespace(
        source=value,
        ok=False,
        notes=[value],
        summary=lambda: value,
        checks=[SimpleNamespace(id=value, status="fail", message=value, evidence=value, fix=value)],
    )
    buffer.truncate(0)
    import aks_jumpbox.cli.commands.check as check_module

    original = check_module.console
    check_module.console = lambda **kw: con
    try:
        show_report(check)
    finally:
        check_module.console = original
    assert buffer.getvalue().count(value) >= 6


def test_esc_escapes_markup_and_control_characters():
    from rich.console import Console

    buffer = io.StringIO()
    con = Console(file=buffer, force_terminal=True, color_system="standard", highlight=False, emoji=False)
    con.print(f"[bold]{present.esc('[/]x[bold]y')}[/] {present.esc('a' + chr(27) + '[2J')}")
    raw = buffer.getvalue()
    assert "[/]x[bold]y" in raw and "\\x1b[2J" in raw and "\x1b[2J" not in raw


def test_the_cleanup_table_shows_custom_role_names_whole(terminal):
    # Issue 12: "[aks-jumpbox]" at the start of a custom role's name was read as a style tag and vanished.
    from aks_jumpbox.cli.commands import cleanup

    role = "[aks-jumpbox] Image Builder Image Writer (aksjb, 00000000)"
    deletion = SimpleNamespace(exists=True, kind="custom role", name=role, note="[bold]why[/]")
    cleanup._show(cleanup.console(), [deletion], "aksjb[x]")
    raw = terminal.getvalue()
    _literal(raw, role)
    _literal(raw, "[bold]why[/]")
    _literal(raw, "aksjb[x]")
