"""`cleanup`: remove what `deploy` made — image templates (and with them their staging groups), role
assignments, the identity, the custom roles — never the images already built (so neither the
gallery nor its image definition, which hold the image versions).

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
from aks_jumpbox.core import kinds
from aks_jumpbox.core.drift import MISSING, dig
from aks_jumpbox.core.model import Plan, Resource
from aks_jumpbox.core.plan import GENERATOR
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


def _templates_of_spec(az: Azure, plan: Plan) -> list[dict[str, Any]]:
    """Every image template this spec has produced in the build group (one per content version)."""
    rg = plan.spec.build.resource_group
    prefix = f"imgt-{plan.spec.name}-"
    with arm(f"listing the image templates in resource group {rg}", plan.template.scope):
        items = [
            rs.to_json(t) or {} for t in az.imagebuilder.virtual_machine_image_templates.list_by_resource_group(rg)
        ]
    ours = []
    for t in items:
        generator = (t.get("tags") or {}).get("aks-jumpbox.generator") or ""
        if t.get("name", "").startswith(prefix) and generator.split(" ")[0] == GENERATOR.split(" ")[0]:
            ours.append(t)
    return sorted(ours, key=lambda t: t["name"])


def _templates(az: Azure, plan: Plan, planned_exists: bool) -> list[Deletion]:
    """The planned template and every older one of this spec (a template per content version)."""
    rg = plan.spec.build.resource_group
    label = kinds.of(plan.template.type).label
    names = {t["name"] for t in _templates_of_spec(az, plan)}
    if planned_exists:
        names.add(plan.template.name)
    out = []
    for name in sorted(names) or [plan.template.name]:
        tid = plan.template.id.rsplit("/", 1)[0] + "/" + name
        exists = name in names
        out.append(
            Deletion(
                label,
                name,
                tid,
                exists,
                template=Template(az, rg, name, tid),
                note="Image Builder deletes its staging resource group with it" if exists else None,
            )
        )
    return out


def cleanup_plan(az: Azure, plan: Plan) -> list[Deletion]:
    from aks_jumpbox.azure.apply import read_all

    live = read_all(az, plan.resources)
    out: list[Deletion] = []
    for kind in kinds.cleanup_order():
        if kind.write == "immutable":  # named by content: older versions of this spec's go too
            out += _templates(az, plan, live[plan.template.key] is not None)
            continue
        for r in plan.resources:
            if r.type != kind.arm_type:
                continue
            title = dig(r.body, kind.title) if kind.title else MISSING
            name = str(title) if title is not MISSING else r.name
            note = r.purpose if kind.named_by_guid and title is MISSING else None
            out.append(Deletion(kind.label, name, r.id, live[r.key] is not None, resource=r, note=note))
    return out


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
