"""`cleanup`: remove what `deploy` made — image templates (and with them their staging groups), role
assignments, the identity, the custom roles — never the images already built (so neither the
gallery nor its image definition, which hold the image versions).

Only this spec's: resources that take tags must carry its footprint key in aks-jumpbox.spec; role
definitions and assignments are its own by their GUIDs, which derive from that key. Another spec's
resources, and untagged ones that look like aks-jumpbox's, are listed to warn about, never deleted
(core/footprint.py).

What is deleted, and in which order, is declared per kind in core/kinds.py (`Kind.cleanup`): the
reverse of creation. Templates before the assignments they were built with (Image Builder empties a
staging group it did not create with the identity's rights there) and the identity they run as;
assignments before the roles they use (Azure refuses to delete a role that is still assigned).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aks_jumpbox.azure import resources as rs
from aks_jumpbox.azure.build import Template
from aks_jumpbox.azure.clients import Azure
from aks_jumpbox.azure.errors import AzureFailure, arm
from aks_jumpbox.azure.footprint import survey
from aks_jumpbox.core import kinds
from aks_jumpbox.core.drift import MISSING, dig
from aks_jumpbox.core.footprint import Found, tag_owner
from aks_jumpbox.core.footprint import found as footprint_found
from aks_jumpbox.core.model import Plan, Resource
from aks_jumpbox.core.runs import RunStatus


@dataclass
class Deletion:
    kind: str
    name: str
    id: str
    exists: bool
    resource: Resource | None = None  # a planned resource
    template: Template | None = None  # an image template (planned or an older one of this spec)
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "id": self.id, "exists": self.exists, "note": self.note}


def _templates(az: Azure, plan: Plan, ours: list[dict[str, Any]]) -> list[Deletion]:
    """Every image template of this spec (one per content version; the planned one among them when it
    exists), or the planned one, absent."""
    rg = plan.spec.build.resource_group
    label = kinds.of(plan.template.type).label
    names = sorted({t["name"] for t in ours})
    if not names:
        return [Deletion(label, plan.template.name, plan.template.id, False)]
    out = []
    for name in names:
        tid = plan.template.id.rsplit("/", 1)[0] + "/" + name
        note = "Image Builder deletes its staging resource group with it"
        out.append(Deletion(label, name, tid, True, template=Template(az, rg, name, tid), note=note))
    return out


@dataclass
class CleanupPlan:
    deletions: list[Deletion]  # this spec's resources only
    foreign: list[Found]  # other specs' (or untagged) resources found: left alone, warned about
    key: str

    @property
    def present(self) -> list[Deletion]:
        return [d for d in self.deletions if d.exists]

    def warnings(self) -> list[str]:
        return [f.line(self.key) for f in self.foreign]


def cleanup_plan(az: Azure, plan: Plan) -> CleanupPlan:
    from aks_jumpbox.azure.apply import read_all

    live = read_all(az, plan.resources)
    found = survey(az, plan, strict=True)
    foreign = list(found.foreign)
    out: list[Deletion] = []
    for kind in kinds.cleanup_order():
        if kind.write == "immutable":  # named by content: older versions of this spec's go too
            out += _templates(az, plan, found.templates)
            continue
        for r in plan.resources:
            if r.type != kind.arm_type:
                continue
            doc = live[r.key]
            if doc is not None and kind.tags and tag_owner(doc) != plan.names.spec:
                # Planned by name, but tagged for another spec or not at all: never deleted.
                if not any(f.id.lower() == r.id.lower() for f in foreign):
                    foreign.append(footprint_found(kind, doc, planned=True))
                continue
            title = dig(r.body, kind.title) if kind.title else MISSING
            name = str(title) if title is not MISSING else r.name
            note = r.purpose if kind.named_by_guid and title is MISSING else None
            out.append(Deletion(kind.label, name, r.id, doc is not None, resource=r, note=note))
    return CleanupPlan(out, foreign, plan.names.spec)


def execute(az: Azure, deletions: list[Deletion], on_done: Callable[[Deletion], None] | None = None) -> None:
    # Refuse before deleting anything: half a clean-up is worse than none.
    for d in deletions:
        if d.exists and d.template is not None:
            run = RunStatus.from_template(d.template.read())
            if run.active and run.state is not None:  # active: the state is Running or Canceling
                raise AzureFailure(
                    f"deleting image template {d.name}",
                    "BuildRunning",
                    f"a build is {run.state.lower()}",
                    resource=d.id,
                    hint="Cancel it first (`aks-jumpbox cancel`), then run cleanup again.",
                )
    for d in deletions:
        if not d.exists:
            continue
        if d.template is not None:
            d.template.delete()
        elif d.resource is not None:
            with arm(f"deleting {d.kind} {d.name}", d.id):
                rs.ops(d.resource.type).delete(az, d.resource)
        if on_done:
            on_done(d)
