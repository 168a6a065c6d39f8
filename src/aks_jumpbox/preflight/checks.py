"""Preflight: everything a 30-minute build needs, proved in seconds, from live Azure or a snapshot.

``run_checks(plan, source)`` is what `check` runs and `build` runs first. ``source`` is a
:class:`~aks_jumpbox.preflight.source.Source`: a snapshot folder, or the live source the command
builds (``aks_jumpbox.azure.preflight.LiveSource``). This package never imports ``aks_jumpbox.azure``:
the CLI composes the two.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aks_jumpbox.core import kinds
from aks_jumpbox.core.plan import Plan
from aks_jumpbox.core.resource_ids import resource_group_id
from aks_jumpbox.core.spec import azure_facts
from aks_jumpbox.preflight._arm import ResourceFormatError
from aks_jumpbox.preflight.access_checks import access_checks
from aks_jumpbox.preflight.context import CheckContext
from aks_jumpbox.preflight.findings import Finding, Status
from aks_jumpbox.preflight.network_checks import network_checks
from aks_jumpbox.preflight.platform_checks import platform_checks
from aks_jumpbox.preflight.source import Lookups, Source
from aks_jumpbox.preflight.staging_checks import with_staging_checks

__all__ = ["Report", "run_checks"]

_ORDER = {Status.FAIL: 0, Status.WARN: 1, Status.SKIP: 2, Status.PASS: 3}


@dataclass(frozen=True)
class Report:
    checks: tuple[Finding, ...]
    source: str
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(f.status is Status.FAIL for f in self.checks)

    def counts(self) -> Counter[str]:
        return Counter(str(f.status) for f in self.checks)

    def summary(self) -> str:
        c = self.counts()
        parts = [
            f"{c[s]} {label}"
            for s, label in (("fail", "failed"), ("warn", "warnings"), ("pass", "passed"), ("skip", "skipped"))
            if c[s]
        ]
        return f"preflight ({self.source}): " + ", ".join(parts or ["no checks"])

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "source": self.source,
            "checks": [f.to_dict() for f in self.checks],
            "notes": list(self.notes),
        }

    def __str__(self) -> str:
        """Failures and warnings with their evidence and fix, for a log or a terminal."""
        lines = [self.summary()]
        for f in sorted(
            (f for f in self.checks if f.status in (Status.FAIL, Status.WARN)), key=lambda f: _ORDER[f.status]
        ):
            lines.append(f"{str(f.status).upper()} {f.id}: {f.message}")
            if f.evidence:
                lines.append(f"  evidence: {f.evidence}")
            if f.fix:
                lines.append(f"  fix: {f.fix}")
        return "\n".join(lines)


def first_questions(plan: Plan, facts: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """What the checks will ask whatever the answers: known from the plan alone, so asked at once."""
    spec, sub = plan.spec, plan.subscription
    qs: list[tuple[str, tuple[str, ...]]] = [("provider", (sub, ns)) for ns in facts["required_providers"]]
    rgs = {spec.build.resource_group}
    if spec.distribute.managed_image is not None:
        rgs.add(spec.distribute.managed_image.resource_group)
    if spec.distribute.gallery is not None:
        rgs.add(spec.distribute.gallery.resource_group)
    qs += [("resource", (resource_group_id(sub, rg),)) for rg in sorted(rgs)]
    qs += [("resource", (spec.build.subnet.vnet_id,))]
    if spec.build.container_subnet is not None:
        qs.append(("resource", (spec.build.container_subnet.vnet_id,)))
    scopes = set()
    for r in plan.resources:  # what preflight reads of each kind: core/kinds.py
        kind = kinds.of(r.type)
        if kind.preflight_get:
            qs.append(("resource", (r.id,)))
        if kind.preflight_permissions:
            scopes.add(r.scope)
    qs += [("permissions", (s,)) for s in sorted(scopes)]
    source = plan.template.body["properties"]["source"]
    if source.get("type") == "PlatformImage":
        loc = "".join(spec.build.location.split()).lower()
        qs.append(("image_versions", (sub, loc, source["publisher"], source["offer"], source["sku"])))
    # Once each: two threads asking the same question would both go to Azure.
    return list({(q[0], tuple(a.lower() for a in q[1])): q for q in qs}.values())


def run_checks(plan: Plan, source: Source | Lookups, *, today: dt.date | None = None) -> Report:
    src = source if isinstance(source, Lookups) else Lookups(source)
    facts = azure_facts()
    ctx = CheckContext(plan, src, today or dt.date.today(), facts)
    src.prefetch(first_questions(plan, facts))
    try:
        findings = [*platform_checks(ctx), *network_checks(ctx), *access_checks(ctx)]
        findings = with_staging_checks(ctx, findings)
    except ResourceFormatError as exc:
        raise src.explain(exc) from None
    return Report(tuple(findings), src.description, tuple(ctx.notes))
