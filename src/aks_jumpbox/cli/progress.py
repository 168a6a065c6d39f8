"""Showing builds: a live view on a terminal, one line per change elsewhere, JSON Lines events with -o json.

The live view counts elapsed time from the run's start in Azure and redraws every second between looks
(rich's Live asks for a fresh frame on each refresh), shows Image Builder's phase and the provision
script's own steps as a checklist, and only ever the current run's output. With `-o json`, stdout keeps
the one final JSON document and every change goes to stderr as one JSON object per line (README,
"Progress events").
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from typing import IO, Any

from aks_jumpbox.cli.present import console, esc, printable
from aks_jumpbox.core import kinds
from aks_jumpbox.core.buildlog import StepBoard
from aks_jumpbox.core.drift import MISSING, dig
from aks_jumpbox.core.runs import hms

WAITING = "waiting for the build VM's output"
MARK = {"pending": "·", "running": "▶", "done": "✓", "failed": "✗"}
MARK_STYLE = {"pending": "dim", "running": "bold yellow", "done": "green", "failed": "bold red"}


def elapsed(seconds: float | None) -> str:
    return hms(seconds)


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


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Presenter:
    """Implements the pipeline's Progress for people (text, live on a terminal) or machines (JSON Lines)."""

    def __init__(
        self,
        output: str,
        *,
        events: IO[str] | None = None,
        now: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self.json = output == "json"
        self.quiet = self.json  # nothing but the final document on stdout
        self.con = console()
        self.events = events
        self.now = now
        self.live: Any = None
        self.started = False  # a run exists in Azure: Ctrl-C now detaches rather than abandons
        self.snap: Any = None
        self._snap_at = 0.0
        self._last_line: str | None = None
        self._last_note: str | None = None
        self._last_source: str | None = None
        self._phase: tuple[str | None, str | None] | None = None
        self._steps: dict[str, str] = {}
        self._shown: list[str] = []

    # ---- JSON Lines on stderr

    def emit(self, event: str, **fields: Any) -> None:
        if not self.json:
            return
        from aks_jumpbox.cli.present import json_text

        stream = self.events or sys.stderr
        # A log line of the build VM may hold `##[` or terminal controls: escaped as emit_json does.
        stream.write(json_text({"event": event, "time": _stamp(self.now()), **fields}) + "\n")
        stream.flush()

    # ---- before the build

    def preflight(self, report: Any) -> None:
        """The preflight's summary line and its failures and warnings (with evidence and fix)."""
        c = report.counts()
        if self.json:
            found = [f.to_dict() for f in report.checks if str(f.status) in ("fail", "warn")]
            self.emit("preflight", ok=report.ok, summary=report.summary(), counts=dict(c), findings=found)
            return
        style = "red" if not report.ok else "yellow" if c["warn"] else "green"
        lines = str(report).splitlines()
        self._say(lines[0], style)
        for line in lines[1:]:
            self._say(f"  {line}")

    # ---- Progress protocol

    def deployed(self, change: Any) -> None:
        if self.json:
            self.emit("deployed", **change.to_json())
        else:
            self.con.print(f"  {esc(VERB.get(change.action, change.action))} {describe(change.resource)}")

    def decided(self, decision: Any) -> None:
        if self.json:
            self.emit("decision", action=decision.action, why=decision.why)
        else:
            from aks_jumpbox.cli.annotations import defuse

            self.con.print(f"[bold]{esc(decision.action)}[/]: {esc(defuse(decision.why))}", soft_wrap=True)

    def note(self, text: str) -> None:
        self.started = self.started or text.startswith(("started", "attaching"))
        if self.json:
            self.emit("note", text=text)
        else:
            self._say(text)

    def update(self, snap: Any) -> None:
        self.started = True
        self.snap, self._snap_at = snap, time.monotonic()
        changes = self._changes(snap)
        if self.json:
            for kind, fields in changes:
                self.emit(kind, **fields)
        elif self.con.is_terminal:
            self._live()
        else:
            self._lines(snap, changes)
        if snap.log_tail:
            self._shown = list(snap.log_tail)

    # ---- what changed since the last look (for the log stream and the events)

    def _changes(self, snap: Any) -> list[tuple[str, dict[str, Any]]]:
        out: list[tuple[str, dict[str, Any]]] = []
        run = snap.run
        if (run.state, run.sub_state) != self._phase:
            self._phase = (run.state, run.sub_state)
            out.append(
                (
                    "phase",
                    {
                        "template": snap.template,
                        "runState": run.state,
                        "runSubState": run.sub_state,
                        "startTime": getattr(run, "start_time", None),
                        "elapsedSeconds": None if snap.elapsed is None else int(snap.elapsed),
                    },
                )
            )
        out += self._step_changes(getattr(snap, "steps", None))
        source = getattr(snap, "log_source", None) or (WAITING if run.active and not snap.log_tail else None)
        if source and source != self._last_source:
            self._last_source = source
            out.append(("output", {"source": source}))
        if snap.note and snap.note != self._last_note:
            out.append(("note", {"text": snap.note}))
        self._last_note = snap.note
        out += [("log", {"line": line}) for line in _new_lines(self._shown, snap.log_tail)]
        return out

    def _step_changes(self, board: StepBoard | None) -> list[tuple[str, dict[str, Any]]]:
        out: list[tuple[str, dict[str, Any]]] = []
        if board is None:
            return out
        total = len(board.items)
        for n, item in enumerate(board.items, 1):
            if item.status != "pending" and self._steps.get(item.name) != item.status:
                self._steps[item.name] = item.status
                fields = {"name": item.name, "index": n, "total": total, "status": item.status}
                out.append(("step", {**fields, **({"why": item.why} if item.why else {})}))
        return out

    def _say(self, text: str, style: str = "") -> None:
        """One line of plain text (the build VM's and Azure's words in it) for a pipeline's log: never
        markup, never a terminal control, never wrapped, and under GitHub Actions never a workflow command
        (a log line holding `##[`, or a note that starts a line with `::`)."""
        from rich.text import Text

        from aks_jumpbox.cli.annotations import defuse

        self.con.print(Text(defuse(printable(text)), style=style), soft_wrap=True)

    def _lines(self, snap: Any, changes: list[tuple[str, dict[str, Any]]]) -> None:
        """One line per change, for pipelines and files."""
        for kind, f in changes:
            if kind == "phase":
                self._say(f"[{elapsed(snap.elapsed)}] {snap.template}: {snap.run.label()}")
            elif kind == "step":
                verb = {"running": "began", "done": "done", "failed": "FAILED"}[f["status"]]
                why = f": {f['why']}" if f.get("why") else ""
                self._say(f"  step {f['name']} ({f['index']}/{f['total']}) {verb}{why}")
            elif kind == "output":
                self._say(f"  {f['source']}", "dim")
            elif kind == "note":
                self._say(f"  {f['text']}")
            elif kind == "log":
                self._say(f"  | {f['line']}")

    # ---- live view

    def _elapsed_now(self, snap: Any) -> float | None:
        """Elapsed at this redraw: from the run's start while it runs, so it ticks between looks."""
        if snap.run.finished:
            return snap.elapsed
        start = getattr(snap, "start", None)
        if start is not None:
            return max(0.0, (self.now() - start).total_seconds())
        return None if snap.elapsed is None else snap.elapsed + (time.monotonic() - self._snap_at)

    def render(self, snap: Any) -> Any:
        from rich.console import Group
        from rich.panel import Panel
        from rich.table import Table
        from rich.text import Text

        run, board = snap.run, getattr(snap, "steps", None)
        head = Table.grid(padding=(0, 2))
        head.add_row("template", f"[bold]{esc(snap.template)}[/]")
        head.add_row("state", f"[bold]{esc(run.state or '-')}[/]")
        # Image Builder's phase; on a finished run, the one it ended in.
        head.add_row("phase", esc(run.sub_state or "-"))
        if board is not None and board.items:
            label = board.label()
            head.add_row("step", f"[bold red]{esc(label)}[/]" if label.endswith("FAILED") else esc(label))
        head.add_row("elapsed", elapsed(self._elapsed_now(snap)))
        parts: list[Any] = [head]
        if board is not None and board.items:
            checklist = Text()
            for item in board.items:
                if checklist:
                    checklist.append("  ")
                checklist.append(f"{MARK[item.status]} {printable(item.name)}", style=MARK_STYLE[item.status])
            parts.append(checklist)
            failed = board.failed()
            if failed is not None and failed.why:
                parts.append(Text(f"{failed.name} failed: {printable(failed.why)}", style="red"))
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
        elif run.active:
            parts.append(Text(printable(source or WAITING), style="dim"))
        if not run.finished:
            parts.append(Text("Ctrl-C detaches; the build goes on in Azure.", style="dim"))
        return Group(*parts)

    def _frame(self) -> Any:
        return self.render(self.snap)

    def _live(self) -> None:
        from rich.live import Live

        if self.live is None:
            # get_renderable: every refresh draws a new frame, so elapsed ticks between looks.
            self.live = Live(console=self.con, get_renderable=self._frame, refresh_per_second=2, transient=False)
            self.live.start()
        else:
            self.live.refresh()

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    # ---- the end

    def finished(self, outcome: Any) -> None:
        """The run ended: settle the checklist from its logs (or from where its output stopped), draw the
        last frame, and, for machines, send the result event."""
        board = getattr(self.snap, "steps", None)
        run, report, logs = outcome.run, outcome.report, outcome.logs
        if board is not None and run is not None and not run.succeeded and not run.active:
            if logs is not None and logs.texts.get("customization.log"):
                board.feed(logs.texts["customization.log"])
            if report is not None and report.failed_step:
                board.fail(report.failed_step, report.reason)
            elif board.failed() is None and (running := board.running()) is not None:
                board.fail(running.name)
        if self.snap is not None:
            changes = self._step_changes(board)
            if self.json:
                for kind, fields in changes:
                    self.emit(kind, **fields)
            elif self.live is not None:
                self.live.refresh()
            else:
                self._lines(self.snap, changes)
        self.stop()

    def result(self, doc: dict[str, Any]) -> None:
        self.emit("result", **doc)


def failing_step(outcome: Any, board: StepBoard | None) -> tuple[str | None, str | None]:
    """The failing step and why: from the run's logs, else from the checklist of its live output."""
    report = outcome.report
    if report is not None and report.failed_step:
        return report.failed_step, report.reason
    failed = board.failed() if board is not None else None
    return (failed.name, failed.why) if failed is not None else (None, report.reason if report else None)


def next_commands(outcome: Any, plan: Any, hint: Callable[[str, str], str]) -> list[str]:
    """What to run after this build: promote a canary gallery version, read what a managed image holds,
    or read the failed run's whole log. `hint(command, extra)` spells a command with the user's flags."""
    run = outcome.run
    if run is None or run.active:
        return []
    if not (run.succeeded or outcome.decision.action == "skip"):
        return [hint("logs", "--full")]
    gallery = plan.gallery if outcome.template == plan.template.name else None
    if gallery is not None:
        return [hint("promote", gallery.version)] if gallery.exclude_from_latest else [hint("versions", "")]
    return [hint("logs", "--save build-logs"), hint("report", "--log build-logs/customization.log")]


def show_next(con: Any, outcome: Any, plan: Any, commands: list[str]) -> None:
    """After the outcome: the gallery version written, and the next command."""
    run = outcome.run
    if run is None or not (run.succeeded or outcome.decision.action == "skip"):
        return  # a failure's next command (the whole log) is in its outcome already
    gallery = plan.gallery if outcome.template == plan.template.name else None
    if gallery is not None:
        canary = " (a canary: excluded from latest until promoted)" if gallery.exclude_from_latest else ""
        con.print(f"gallery version [bold]{esc(gallery.version)}[/]{canary}")
    for command in commands:
        con.print(f"next: `{esc(command)}`", soft_wrap=True)


def present_outcome(presenter: Presenter, outcome: Any, plan: Any, hint: Callable[[str, str], str]) -> None:
    """The end of `build` / `watch`: the final JSON document (and result event), or the outcome for people
    with the failing step named and the next command."""
    from aks_jumpbox.cli.outcome import show_outcome
    from aks_jumpbox.cli.present import emit_json

    board = getattr(presenter.snap, "steps", None)
    commands = next_commands(outcome, plan, hint)
    step, why = failing_step(outcome, board)
    run = outcome.run
    ended_badly = run is not None and run.finished and not run.succeeded
    if presenter.json:
        doc = outcome.to_json()
        if ended_badly:
            doc["failedStep"], doc["reason"] = step, doc.get("reason") or why
        if plan.gallery is not None and outcome.template == plan.template.name:
            doc["galleryVersion"] = plan.gallery.version
        doc["next"] = commands
        keep = ("ok", "template", "action", "imageId", "galleryVersion", "failedStep", "reason", "next")
        presenter.result({"runState": run.state if run else None, **{k: doc[k] for k in keep if k in doc}})
        emit_json(doc)
        return
    con = presenter.con
    show_outcome(con, outcome, hint("logs", ""))
    if ended_badly and step and not (outcome.report is not None and outcome.report.failed_step):
        because = f": {esc(why)}" if why else ""
        con.print(
            f"[bold red]failing step:[/] [bold]{esc(step)}[/]{because} "
            "[dim](where the build's live output stopped; its logs could not be read)[/]"
        )
    show_next(con, outcome, plan, commands)
