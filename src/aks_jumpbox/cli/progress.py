"""Showing builds to people: a live view on a terminal, one line per change elsewhere, nothing for JSON."""

from __future__ import annotations

from typing import Any

from aks_jumpbox.cli.present import console, esc, printable
from aks_jumpbox.core import kinds
from aks_jumpbox.core.drift import MISSING, dig


def elapsed(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    return f"{s // 3600:d}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


ACTION_STYLE = {
    "create": "green",
    "unchanged": "dim",
    "differs": "yellow",
    "replace": "yellow",
    "update-tags": "yellow",
    "conflict": "red",
    "skip": "dim",
}
VERB = {"create": "created", "differs": "updated", "replace": "replaced", "update-tags": "updated tags of"}


def _new_lines(shown: list[str], now: list[str]) -> list[str]:
    """The lines of `now` after the longest end of `shown` it starts with (tails overlap as they move)."""
    for k in range(min(len(shown), len(now)), 0, -1):
        if shown[-k:] == now[:k]:
            return now[k:]
    return list(now)


def describe(r: Any) -> str:
    """'custom role [aks-jumpbox] Image Builder Image Writer (...)', 'managed identity id-x', ...: the
    labels and titles declared in core/kinds.py."""
    kind = kinds.KINDS.get(r.type)
    title = dig(r.body, kind.title) if kind is not None and kind.title else MISSING
    shown = title not in (MISSING, None, "")
    name = f"[bold]{esc(title)}[/] ({esc(r.name)})" if shown else f"[bold]{esc(r.name)}[/]"
    return f"{esc(kind.label if kind is not None else r.type)} {name}"


class Presenter:
    """Implements the pipeline's Progress for people (text) or for machines (quiet)."""

    def __init__(self, output: str) -> None:
        self.quiet = output == "json"
        self.con = console()
        self.live: Any = None
        self.started = False  # a run exists in Azure: Ctrl-C now detaches rather than abandons
        self._last_line: str | None = None
        self._last_note: str | None = None
        self._last_source: str | None = None
        self._shown: list[str] = []

    # ---- Progress protocol

    def deployed(self, change: Any) -> None:
        if not self.quiet:
            self.con.print(f"  {esc(VERB.get(change.action, change.action))} {describe(change.resource)}")

    def decided(self, decision: Any) -> None:
        if not self.quiet:
            self.con.print(f"[bold]{esc(decision.action)}[/]: {esc(decision.why)}")

    def note(self, text: str) -> None:
        self.started = self.started or text.startswith(("started", "attaching"))
        if not self.quiet:
            self.con.print(esc(text))

    def update(self, snap: Any) -> None:
        self.started = True
        if self.quiet:
            return
        if self.con.is_terminal:
            self._live(snap)
            return
        line = f"[{elapsed(snap.elapsed)}] {snap.template}: {snap.run.label()}"
        if line.split("] ", 1)[1] != (self._last_line or "").split("] ", 1)[-1]:
            self.con.print(esc(line))
            self._last_line = line
        if snap.note and snap.note != self._last_note:
            self.con.print(f"  {esc(snap.note)}")
        self._last_note = snap.note
        source = getattr(snap, "log_source", None)
        if source and source != self._last_source:
            self.con.print(f"  [dim]{esc(source)}[/]")
            self._last_source = source
        for line in _new_lines(self._shown, snap.log_tail):  # a log stream for pipelines and files
            self.con.print(f"  | {esc(line)}", soft_wrap=True)
        if snap.log_tail:
            self._shown = list(snap.log_tail)

    # ---- live view

    def _render(self, snap: Any) -> Any:
        from rich.console import Group
        from rich.panel import Panel
        from rich.table import Table
        from rich.text import Text

        head = Table.grid(padding=(0, 2))
        head.add_row("template", f"[bold]{esc(snap.template)}[/]")
        head.add_row("state", f"[bold]{esc(snap.run.state or '-')}[/]")
        head.add_row("step", esc((snap.run.sub_state if snap.run.active else None) or "-"))
        head.add_row("elapsed", elapsed(snap.elapsed))
        parts: list[Any] = [head]
        if snap.note:
            parts.append(Text(printable(snap.note), style="yellow"))
        source = getattr(snap, "log_source", None)
        if snap.log_tail:
            # Text keeps ESC: a log line (the build VM's output) must not drive the terminal.
            tail = "\n".join(map(printable, snap.log_tail))
            parts.append(
                Panel(
                    Text(tail, overflow="ellipsis", no_wrap=True),
                    title=printable(source or "build output"),
                    title_align="left",
                    border_style="dim",
                )
            )
        elif source and snap.run.active:
            parts.append(Text(printable(source), style="dim"))
        if not snap.run.finished:
            parts.append(Text("Ctrl-C detaches; the build goes on in Azure.", style="dim"))
        return Group(*parts)

    def _live(self, snap: Any) -> None:
        from rich.live import Live

        if self.live is None:
            self.live = Live(self._render(snap), console=self.con, refresh_per_second=4, transient=False)
            self.live.start()
        else:
            self.live.update(self._render(snap))

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
