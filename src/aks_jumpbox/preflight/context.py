"""What every group of checks shares: the plan, the (remembering) source, today's date, Azure facts."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from aks_jumpbox.core.plan import Plan
from aks_jumpbox.core.spec import Spec
from aks_jumpbox.preflight.findings import Finding, Status
from aks_jumpbox.preflight.source import Lookups, Unavailable

_RG_RE = re.compile(r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)(?:/|$)", re.IGNORECASE)


@dataclass
class CheckContext:
    plan: Plan
    src: Lookups
    today: dt.date
    facts: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def spec(self) -> Spec:
        return self.plan.spec

    @property
    def subscription(self) -> str:
        return self.plan.subscription

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def skipped(fid: str, what: str, exc: Unavailable) -> Finding:
    return Finding(fid, Status.SKIP, f"{what}: not checked, {exc.reason}")


def split_id(rid: str) -> tuple[str, str, str]:
    """(subscription, resource group, name) of a resource ID, for `az … --subscription S -g RG -n NAME`."""
    m = _RG_RE.match(rid)
    sub, rg = (m[1], m[2]) if m else ("", "")
    return sub, rg, rid.rstrip("/").rsplit("/", 1)[-1]
