"""Read Image Builder's Packer logs: which step of provision.sh / validate.sh failed, and why.

The rendered scripts print step markers that survive Packer's line prefixes:
  ==> aks-jumpbox step <name> begin <ts>
  ==> aks-jumpbox step <name> end <ts>
  ==> aks-jumpbox step <name> FAILED: <why>
  ==> aks-jumpbox validate FAILED: <why>          (one per failed check)
The inline customizer echoes the script text itself (`+ printf '==> aks-jumpbox step %s ...'`), so a
marker's name must be a concrete step name, never a format placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from aks_jumpbox.core.plan import Plan

_STEP = re.compile(
    r"==> aks-jumpbox step (?P<name>[A-Za-z0-9][A-Za-z0-9_.:-]*) "  # provision.sh names tool steps tool:<name>
    r"(?:(?P<event>begin|end)\b|FAILED: (?P<why>.*))"
)
_CHECK = re.compile(r"==> aks-jumpbox validate FAILED: (?P<why>.*)")
# Image Builder prefixes each line with the run's ID and the stream Packer wrote it to: "PACKER OUT" for
# standard output, "PACKER ERR" for standard error, where Packer also writes its debug log (Azure request
# traces, "[INFO]" lines, telemetry) and some progress messages ("Deleting individual resources ..."):
# https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-troubleshoot#stages-of-the-customization-log
# So "PACKER ERR" says nothing about failure. Packer's own error lines, on either stream: the shell
# provisioner's "Script exited with non-zero exit status", "Build '<builder>' errored[ after …]: <error>",
# the summary "--> <builder>: <error>" after "Some builds didn't complete successfully and had errors",
# and "machine readable: <builder>,error" (the troubleshooting page's error-code-1190 excerpt shows them).
_PACKER_ERROR = re.compile(
    r"Script exited with non-zero exit status|Build '[^']+' errored|^--> [\w.-]+: "
    r"|machine readable: [\w.-]+,error|Some builds didn't complete successfully"
    r"|Error: Failed to prepare build"
)
# A line of Packer's debug log: Go's log timestamp right after the stream, or a telemetry line.
_DEBUG = re.compile(r"^(?:\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\s|\(telemetry\))")
_ECHOED = re.compile(r"azure-arm: \+ ")  # a line the shell echoed (set -x / inline echo), not output
_PREFIX = re.compile(r"^(?:\[[^\]]*\]\s+)?PACKER(?: (?:OUT|ERR))?\s?")


def _body(line: str) -> str:
    """The line without Image Builder's "[run id] PACKER OUT|ERR " prefix."""
    return _PREFIX.sub("", line, count=1)


def is_debug(line: str) -> bool:
    """Packer's debug output (or telemetry), not something the build itself printed."""
    return bool(_DEBUG.search(_body(line).lstrip())) and not is_packer_error(line)


def is_packer_error(line: str) -> bool:
    return bool(_PACKER_ERROR.search(_body(line).strip()))


@dataclass
class StepResult:
    name: str
    began: int | None = None  # line index
    ended: int | None = None
    failed: int | None = None
    why: str | None = None


@dataclass
class LogReport:
    steps: list[StepResult] = field(default_factory=list)
    failed_step: str | None = None
    reason: str | None = None
    failed_checks: list[str] = field(default_factory=list)
    relevant: list[str] = field(default_factory=list)  # the lines a person should read
    packer_errors: list[str] = field(default_factory=list)


def _clean(line: str) -> str:
    return line.rstrip("\r\n")


def parse_log(text: str, *, context: int = 30) -> LogReport:
    """Steps seen in a customization.log or validation.log, and the failing one if any.

    The failing step is the one with a FAILED marker; failing that, a step that began and never
    ended while Packer reported an error (the VM died, a timeout, a lost connection). A step in
    progress without an error is running, not failing. `relevant` holds the failing step's lines
    (its last `context` lines when longer) without Packer's debug output, plus Packer's error lines
    after it.
    """
    lines = [_clean(x) for x in text.splitlines()]
    report = LogReport()
    by_name: dict[str, StepResult] = {}
    for i, line in enumerate(lines):
        if _ECHOED.search(line):
            continue
        if m := _STEP.search(line):
            name = m["name"]
            step = by_name.get(name)
            if step is None or (m["event"] == "begin" and step.ended is not None):
                step = StepResult(name)
                by_name[name] = step
                report.steps.append(step)
            if m["event"] == "begin":
                step.began = i
            elif m["event"] == "end":
                step.ended = i
            else:
                step.failed, step.why = i, m["why"].strip()
        elif m := _CHECK.search(line):
            report.failed_checks.append(m["why"].strip())
        if is_packer_error(line):
            report.packer_errors.append(line)

    failed = next((s for s in report.steps if s.failed is not None), None)
    if failed is None:
        failed = next((s for s in reversed(report.steps) if s.began is not None and s.ended is None), None)
        if failed is not None and not report.packer_errors:
            failed = None  # still running: a step in progress is not a failure
    if failed is not None:
        report.failed_step = failed.name
        report.reason = failed.why or (report.failed_checks[0] if report.failed_checks else None)
        stop = failed.failed if failed.failed is not None else len(lines) - 1
        start = failed.began if failed.began is not None else stop  # no start seen: from the failure line
        body = [x for x in lines[start : stop + 1] if not is_debug(x)]
        if len(body) > context:
            body = [body[0], f"... ({len(body) - context} lines omitted) ...", *body[-(context - 1) :]]
        tail_lines = [x for x in lines[stop + 1 :] if is_packer_error(x) or _CHECK.search(x)]
        report.relevant = body + tail_lines
        if report.reason is None and report.packer_errors:
            report.reason = _packer_reason(report.packer_errors)
    elif report.packer_errors:
        report.relevant = report.packer_errors[-context:]
        report.reason = _packer_reason(report.packer_errors)
    return report


_EXIT = re.compile(r"Script exited with non-zero exit status: \d+.*")
_ERRORED = re.compile(r"Build '[^']+' errored(?: after [^:]*)?: (?P<why>.+)")
_SUMMARY = re.compile(r"^--> [\w.-]+: (?P<why>.+)")


def _packer_reason(errors: list[str]) -> str:
    """The most telling of Packer's error lines: the script's exit, else what the build errored with."""
    for line in errors:
        if m := _EXIT.search(line):
            return m[0].strip()
    for line in errors:
        if m := _ERRORED.search(_body(line)) or _SUMMARY.search(_body(line).strip()):
            return m["why"].strip()
    return _short(errors[-1])


def tail(text: str, n: int = 8) -> list[str]:
    """The last n lines the build printed, for a live view: Image Builder's prefixes trimmed, Packer's
    debug output and telemetry left out."""
    out = []
    for line in reversed(text.splitlines()):
        line = _clean(line)
        if not line.strip() or line.startswith("(telemetry)") or is_debug(line):
            continue
        out.append(_short(line))
        if len(out) == n:
            break
    return out[::-1]


def _short(line: str) -> str:
    return re.sub(r"^\s*azure-arm:\s?", "", _body(line)).strip()


# ---- the provision script's steps, as a checklist for the live view


def planned_steps(*, mirror_ca: bool, apt_mirror: bool, tools: Sequence[str]) -> tuple[str, ...]:
    """The step markers provision.sh prints, in order (data/scripts/provision.sh `main`): a mirror CA and an
    apt mirror add a step each, every tool of the plan one `tool:<name>` step."""
    return (
        "wait-for-boot",
        *(("trust-mirror-ca",) if mirror_ca else ()),
        *(("apt-sources",) if apt_mirror else ()),
        "apt-upgrade",
        "download",
        "azure-cli",
        *(f"tool:{t}" for t in tools),
        "sshd-hardening",
        "manifest",
        "cleanup",
    )


def plan_steps(plan: Plan) -> tuple[str, ...]:
    return planned_steps(
        mirror_ca=bool(plan.spec.mirror.ca_certificate),
        apt_mirror=bool(plan.apt.archive),
        tools=[a.name for a in plan.artifacts],
    )


StepStatus = Literal["pending", "running", "done", "failed"]


@dataclass
class StepItem:
    name: str
    status: StepStatus = "pending"
    why: str | None = None


@dataclass(frozen=True)
class StepChange:
    """One step's move, for a log stream or a JSON Lines event."""

    name: str
    index: int  # 1-based position in the checklist
    total: int
    status: StepStatus
    why: str | None = None


class StepBoard:
    """The checklist of a run's script steps, from the markers in whatever output has been seen so far.

    Output arrives as overlapping tails of a growing log, so a marker may be seen twice or never: the board
    only moves forward, and a step that begins means every earlier step is over (the script runs them one
    after another under `set -e`; a step skipped by its guard prints nothing)."""

    def __init__(self, planned: Sequence[str] = ()) -> None:
        self.items = [StepItem(n) for n in planned]

    def _item(self, name: str) -> tuple[int, StepItem]:
        for i, item in enumerate(self.items):
            if item.name == name:
                return i, item
        self.items.append(StepItem(name))  # a step the plan did not announce (validate.sh's, a newer script)
        return len(self.items) - 1, self.items[-1]

    def _move(self, i: int, status: StepStatus, why: str | None, changes: list[StepChange]) -> None:
        item = self.items[i]
        order = ("pending", "running", "done", "failed")
        if order.index(status) <= order.index(item.status):
            return
        item.status, item.why = status, why or item.why
        changes.append(StepChange(item.name, i + 1, len(self.items), status, item.why))

    def feed(self, text: str) -> list[StepChange]:
        """Take in the markers of `text`; returns what moved."""
        changes: list[StepChange] = []
        for raw in text.splitlines():
            line = _clean(raw)
            if _ECHOED.search(line) or is_debug(line):
                continue
            m = _STEP.search(line)
            if not m:
                continue
            i, _ = self._item(m["name"])
            for j in range(i):
                if self.items[j].status in ("pending", "running"):
                    self._move(j, "done", None, changes)
            if m["event"] == "begin":
                self._move(i, "running", None, changes)
            elif m["event"] == "end":
                self._move(i, "running", None, changes)
                self._move(i, "done", None, changes)
            else:
                self._move(i, "running", None, changes)
                self._move(i, "failed", m["why"].strip(), changes)
        return changes

    def fail(self, name: str, why: str | None = None) -> list[StepChange]:
        """The run failed in `name` (from the whole log, or the step that was running when it ended)."""
        changes: list[StepChange] = []
        i, _ = self._item(name)
        for j in range(i):
            if self.items[j].status in ("pending", "running"):
                self._move(j, "done", None, changes)
        self._move(i, "running", None, changes)
        self._move(i, "failed", why, changes)
        return changes

    def running(self) -> StepItem | None:
        return next((s for s in self.items if s.status == "running"), None)

    def failed(self) -> StepItem | None:
        return next((s for s in self.items if s.status == "failed"), None)

    def current(self) -> tuple[StepItem, int] | None:
        """The step to show: the failed one, else the running one, else the last one done; with its 1-based
        position."""
        item = self.failed() or self.running()
        if item is None:
            done = [s for s in self.items if s.status == "done"]
            item = done[-1] if done else None
        return (item, self.items.index(item) + 1) if item is not None else None

    def label(self) -> str:
        """'download 3/13', 'download 3/13 FAILED', 'none yet (13 planned)' before the first marker."""
        cur = self.current()
        if cur is None:
            return f"none yet ({len(self.items)} planned)"
        item, n = cur
        tail = " FAILED" if item.status == "failed" else " done" if item.status == "done" else ""
        return f"{item.name} {n}/{len(self.items)}{tail}"
