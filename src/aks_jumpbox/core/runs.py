"""Image Builder run states and what `build` does about them. Pure.

AIB reports the last run of a template as lastRunStatus {runState, runSubState, message,
startTime, endTime}. runState: Running | Canceling | Succeeded | PartiallySucceeded | Failed |
Canceled; runSubState: Queued | Building | Customizing | Optimizing | Validating | Distributing.
"""

from __future__ import annotations

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
        return {
            "runState": self.state,
            "runSubState": self.sub_state,
            "message": self.message,
            "startTime": self.start_time,
            "endTime": self.end_time,
        }


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
