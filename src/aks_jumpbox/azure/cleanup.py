"""`cleanup`: remove what `deploy` made — role assignments, image templates (and with them their
staging groups), the identity, the custom roles — never the images already built (so neither the
gallery nor its image definition, which hold the image versions).

Deletion order is the reverse of creation: assignments before the roles they use (Azure refuses
to delete a role that is still assigned), templates before the identity they run as.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aks_jumpbox.azure import resources as rs
from aks_jumpbox.azure.build import Template
from aks_jumpbox.azure.clients import Azure
from aks_jumpbox.azure.errors import AzureFailure, arm
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
        items = [rs.to_json(t) or {} for t in az.imagebuilder.virtual_machine_image_templates.list_by_resource_group(rg)]
    ours = []
    for t in items:
        generator = ((t.get("tags") or {}).get("aks-jumpbox.generator") or "")
        if t.get("name", "").startswith(prefix) and generator.split(" ")[0] == GENERATOR.split(" ")[0]:
            ours.append(t)
    return sorted(ours, key=lambda t: t["name"])


def cleanup_plan(az: Azure, plan: Plan) -> list[Deletion]:
    from aks_jumpbox.azure.apply import read_all

    planned = {r.key: r for r in plan.resources}
    live = read_all(az, plan.resources)
    out: list[Deletion] = []
    for r in plan.resources:
        if r.type == rs.ROLE_ASSIGNMENT:
            out.append(Deletion("role assignment", r.name, r.id, live[r.key] is not None, resource=r,
                                note=r.purpose))
    rg = plan.spec.build.resource_group
    names = {t["name"] for t in _templates_of_spec(az, plan)}
    if live["template"] is not None:
        names.add(plan.template.name)
    for name in sorted(names) or [plan.template.name]:
        tid = plan.template.id.rsplit("/", 1)[0] + "/" + name
        exists = name in names
        out.append(Deletion("image template", name, tid, exists, template=Template(az, rg, name, tid),
                            note="Image Builder deletes its staging resource group with it" if exists else None))
    r = planned["identity"]
    out.append(Deletion("managed identity", r.name, r.id, live["identity"] is not None, resource=r))
    for key in ("role.network", "role.image"):
        if key in planned:
            r = planned[key]
            out.append(Deletion("custom role", r.body["properties"]["roleName"], r.id, live[key] is not None,
                                resource=r))
    return out


def execute(az: Azure, deletions: list[Deletion], on_done: Callable[[Deletion], None] | None = None) -> None:
    # Refuse before deleting anything: half a clean-up is worse than none.
    for d in deletions:
        if d.exists and d.template is not None:
            run = RunStatus.from_template(d.template.read())
            if run.active:
                raise AzureFailure(f"deleting image template {d.name}", "BuildRunning",
                                   f"a build is {run.state.lower()}", resource=d.id,
                                   hint="Cancel it first (`aks-jumpbox cancel`), then run cleanup again.")
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
