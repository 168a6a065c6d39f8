"""The result of one preflight check, in the shape the report prints and ``--output json`` emits."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"


@dataclass(frozen=True)
class Finding:
    id: str
    status: Status
    message: str
    evidence: str = ""
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": str(self.status),
            "message": self.message,
            "evidence": self.evidence,
            "fix": self.fix,
        }
