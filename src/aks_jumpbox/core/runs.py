"""Image Builder run states and what `build` does about them. Pure.

AIB reports the last run of a template as lastRunStatus {runState, runSubState, message,
startTime, endTime}. runState: Running | Canceling | Succeeded | PartiallySucceeded | Failed |
Canceled; runSubState: Queued | Building | Customizing | Optimizing | Validating | Distributing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Literal

ACTIVE = ("Running", "Canceling")
TERMINAL = ("Succeeded", "PartiallySucceeded", "Failed", "Canceled")


@dataclass(frozen=True)
class RunStatus:
    state: str | None  # None: never run
    sub_state: str | None = None
    message: str | None = None
    start_time: str | None = None
    end_time: str | None = None

    @classmethod
    def from_template(cls, template: dict[str, Any] | None) -> RunStatus:
        last = ((template or {}).get("properties") or {}).get("lastRunStatus") or {}
        return cls(
            state=last.get("runState"),
            sub_state=last.get("runSubState"),
            message=last.get("message"),
            start_time=_s(last.get("startTime")),
            end_time=_s(last.get("endTime")),
        )

    @property
    def started(self) -> dt.datetime | None:
        return instant(self.start_time)

    @property
    def ended(self) -> dt.datetime | None:
        return instant(self.end_time)

    def seconds(self, now: dt.datetime | None = None) -> float | None:
        """How long the run took (ended) or has taken so far (active, by `now`), from Azure's startTime: a
        watcher that attaches late still counts from the run's start."""
        start = self.started
        end = self.ended if self.finished else None
        if end is None and self.active and now is not None:
            end = now
        if start is None or end is None:
            return None
        return max(0.0, (end - start).total_seconds())

    def since(self, now: dt.datetime | None = None) -> str:
        """'Succeeded since 2026-06-01 10:31:02 UTC (took 31:02)', 'Running / Customizing since … (12:03 so
        far)': for `status`; whole seconds, no microseconds."""
        label, took = self.label(), self.seconds(now)
        if self.finished and self.ended is not None:
            return f"{label} since {clock_text(self.ended)}" + (
                f" (the run took {hms(took)})" if took is not None else ""
            )
        if self.started is not None:
            return f"{label} since {clock_text(self.started)}" + (f" ({hms(took)} so far)" if took is not None else "")
        return label

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL

    @property
    def succeeded(self) -> bool:
        return self.state == "Succeeded"

    def label(self) -> str:
        if self.state is None:
            return "never run"
        # The sub-state of a finished run only says where it stopped; show it for active runs.
        return f"{self.state} / {self.sub_state}" if self.sub_state and self.active else self.state

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "runState": self.state,
            "runSubState": self.sub_state,
            "message": self.message,
            "startTime": self.start_time,
            "endTime": self.end_time,
        }
        took = self.seconds() if self.finished else None
        if took is not None:
            out["durationSeconds"] = int(took)
        return out


def instant(value: Any) -> dt.datetime | None:
    """An ARM or blob time as an aware datetime (ARM may send 7 or 9 fractional digits), None if unreadable."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$", str(value).strip())
    if not m:
        return None
    text = m[1] + (f".{m[2][:6]}" if m[2] else "") + ("+00:00" if m[3] in (None, "Z") else m[3])
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def clock_text(when: dt.datetime, *, date: bool = True) -> str:
    """'2026-06-01 10:31:02 UTC': whole seconds, in UTC (Azure's times are UTC)."""
    utc = when.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%d %H:%M:%S UTC" if date else "%H:%M:%S UTC")


def hms(seconds: float | None) -> str:
    """'04:07', '1:02:03'; '-' when unknown."""
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    return f"{s // 3600:d}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


def _s(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


Action = Literal["run", "attach", "skip"]


@dataclass(frozen=True)
class Decision:
    action: Action
    why: str


def decide(run: RunStatus, *, template_exists: bool, image_exists: bool, force: bool) -> Decision:
    """What `build` does with this exact template (same content hash, so same name)."""
    if not template_exists:
        return Decision("run", "the template is new")
    if run.active and run.state is not None:  # active: the state is Running or Canceling
        # Starting another run is refused by AIB while one is active; attaching is what the user wants.
        return Decision("attach", f"a build of this template is already {run.state.lower()}")
    if run.succeeded and image_exists and not force:
        return Decision("skip", "the last build of this exact template succeeded and its image exists")
    if force and run.succeeded and image_exists:
        return Decision("run", "--force: rebuilding although the image exists")
    if run.succeeded:
        return Decision("run", "the last build succeeded but its image no longer exists")
    if run.state is None:
        return Decision("run", "the template has never been run")
    return Decision("run", f"the last build ended {run.state}")
