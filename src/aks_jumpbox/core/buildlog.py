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
from dataclasses import dataclass, field

_STEP = re.compile(r"==> aks-jumpbox step (?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*) "
                   r"(?:(?P<event>begin|end)\b|FAILED: (?P<why>.*))")
_CHECK = re.compile(r"==> aks-jumpbox validate FAILED: (?P<why>.*)")
# Packer's own error lines: "PACKER ERR ..." and "Build 'azure-arm' errored ...".
_PACKER_ERR = re.compile(r"PACKER ERR|errored after|Script exited with non-zero exit status")
_ECHOED = re.compile(r"azure-arm: \+ ")  # a line the shell echoed (set -x / inline echo), not output


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
    ended (the VM died or Packer stopped it). `relevant` holds the failing step's lines (its last
    `context` lines when longer) plus Packer's error lines after it.
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
        if _PACKER_ERR.search(line):
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
        body = lines[start: stop + 1]
        if len(body) > context:
            body = [lines[start], f"... ({len(body) - context} lines omitted) ...", *body[-(context - 1):]]
        tail = [x for x in lines[stop + 1:] if _PACKER_ERR.search(x) or _CHECK.search(x)]
        report.relevant = body + tail
        if report.reason is None and report.packer_errors:
            report.reason = _packer_reason(report.packer_errors)
    elif report.packer_errors:
        report.relevant = report.packer_errors[-context:]
        report.reason = _packer_reason(report.packer_errors)
    return report


_EXIT = re.compile(r"Script exited with non-zero exit status: \d+.*")


def _packer_reason(errors: list[str]) -> str:
    for line in errors:
        if m := _EXIT.search(line):
            return m[0].strip()
    return _short(errors[-1])


def tail(text: str, n: int = 8) -> list[str]:
    """The last n non-empty lines, Packer's timestamp and prefix trimmed for a live view."""
    out = []
    for line in reversed(text.splitlines()):
        line = _clean(line)
        if not line.strip() or line.startswith("(telemetry)"):
            continue
        out.append(_short(line))
        if len(out) == n:
            break
    return out[::-1]


_PREFIX = re.compile(r"^\[[^\]]*\]\s+PACKER (?:OUT|ERR)\s+(?:\s*azure-arm:\s?)?")


def _short(line: str) -> str:
    return _PREFIX.sub("", line).strip()
