"""Render the plan's resources as ARM templates a user can deploy with `az deployment` alone.

Which file holds a resource, and whether it sits in a nested deployment, is declared per kind in
core/kinds.py (`template`, `nesting`, `deployment_name`); nothing here tests a resource's type or key.

subscription.json       custom least-privilege roles (subscription scope)
resource-group.json     identity, role assignments (nested deployments into the VNet's and the
                        image's resource groups) and the image template; deploy to build.resource_group.
                        With a gallery: the gallery and image definition, shared by every spec that
                        distributes there, in a nested deployment of this spec's own (named by its
                        footprint key) writing the same body from every spec (core/gallery.py)
network-spoke.json      the contract's NSGs, attached to the subnets; network-hub.json: its Azure Firewall
                        policy rule collection group (both rendered by render/network.py)

Every string is an ARM literal (a leading `[` of a `[...]` value is written `[[`) except the
expressions written here on purpose (`Expression`); see core/arm_strings.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aks_jumpbox.core import kinds
from aks_jumpbox.core.arm_strings import Expression, escape_template, quote_arg
from aks_jumpbox.core.drift import has_refs
from aks_jumpbox.core.model import Plan, Ref, Resource
from aks_jumpbox.core.naming import SPEC_TAG

SUB_SCHEMA = "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"
RG_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


def _expression(value: Any, plan: Plan) -> Any:
    """Replace Refs with ARM reference() expressions."""
    if isinstance(value, Ref):
        target = plan.resource(value.resource_key)
        path = value.path.removeprefix("properties.")
        return Expression(f"[reference({quote_arg(target.id)}, {quote_arg(target.api_version)}).{path}]")
    if isinstance(value, dict):
        return {k: _expression(v, plan) for k, v in value.items()}
    if isinstance(value, list):
        return [_expression(v, plan) for v in value]
    return value


def arm_resource(resource: Resource, plan: Plan, depends: Sequence[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": resource.type, "apiVersion": resource.api_version, "name": resource.name}
    out.update(_expression(resource.body, plan))
    if depends:
        out["dependsOn"] = list(depends)
    return out


def _template(
    schema: str,
    resources: list[dict[str, Any]],
    outputs: dict[str, Any] | None = None,
    parameters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"$schema": schema, "contentVersion": "1.0.0.0"}
    if parameters:
        doc["parameters"] = parameters
    doc["resources"] = resources
    if outputs:
        doc["outputs"] = outputs
    return doc


def subscription_template(plan: Plan) -> dict[str, Any]:
    roles = [r for r in plan.resources if kinds.of(r.type).template == kinds.SUBSCRIPTION_JSON]
    outputs = {r.key.replace(".", "_") + "_id": {"type": "string", "value": r.id} for r in roles}
    return escape_template(_template(SUB_SCHEMA, [arm_resource(r, plan) for r in roles], outputs or None))


def _deployments_id(nested: dict[str, Any]) -> Expression:
    return Expression(
        f"[resourceId({quote_arg(nested['resourceGroup'])}, 'Microsoft.Resources/deployments', "
        f"{quote_arg(nested['name'])})]"
    )


@dataclass
class _Entry:
    """A top-level resource of resource-group.json: one planned resource, or a nested deployment of some."""

    members: list[Resource]
    nested: bool
    resource_group: str | None = None
    name: str = ""

    def reference(self) -> str | Expression:
        """How a dependsOn names it."""
        if not self.nested:
            return self.members[0].id
        return _deployments_id({"resourceGroup": self.resource_group, "name": self.name})


def _entries(plan: Plan) -> tuple[list[_Entry], dict[str, _Entry]]:
    """resource-group.json's top-level entries in plan order, placed as core/kinds.py declares."""
    entries: list[_Entry] = []
    holder: dict[str, _Entry] = {}
    shared: dict[str | None, _Entry] = {}
    for r in plan.resources:
        kind = kinds.of(r.type)
        if kind.template != kinds.RESOURCE_GROUP_JSON:
            continue
        if kind.nesting == "none":
            entry = _Entry([r], nested=False)
        else:
            # An extension resource (a role assignment) goes to its scope's group, anything else to its own.
            rg = r.scope.split("/")[4] if r.level == "extension" else r.resource_group
            pattern = kind.deployment_name or "aks-jumpbox-{key}"
            name = pattern.format(key=r.key.replace(".", "-"), name=r.name, spec=plan.names.spec)
            if kind.nesting == "shared" and rg in shared:
                shared[rg].members.append(r)
                holder[r.key] = shared[rg]
                continue
            entry = _Entry([r], nested=True, resource_group=rg, name=name)
            if kind.nesting == "shared":
                shared[rg] = entry
        entries.append(entry)
        holder[r.key] = entry
    return entries, holder


def _depends(entry: _Entry, entries: list[_Entry], holder: dict[str, _Entry]) -> list[str | Expression]:
    """What an entry's members need from other entries of this template, in template order."""
    needed = {id(holder[d]) for r in entry.members for d in r.depends_on if d in holder and holder[d] is not entry}
    return [e.reference() for e in entries if id(e) in needed]


def _nested(entry: _Entry, plan: Plan, depends: list[str | Expression]) -> dict[str, Any]:
    inner = []
    for r in entry.members:
        local = [
            Expression(f"[resourceId({quote_arg(m.type)}, {quote_arg(m.name)})]")
            for m in entry.members
            if m.key in r.depends_on
        ]
        resource = arm_resource(r, plan, local)
        parts = r.scope.split("/")
        if r.level == "extension" and len(parts) > 5:  # on a resource inside the group (the VNet): scope it
            resource["scope"] = "/".join(parts[6:])  # e.g. Microsoft.Network/virtualNetworks/<name>
        inner.append(resource)
    out: dict[str, Any] = {
        "type": kinds.DEPLOYMENT.arm_type,
        "apiVersion": kinds.DEPLOYMENT.api_version,
        "name": entry.name,
        "resourceGroup": entry.resource_group,
        # Deployments take tags: https://learn.microsoft.com/azure/templates/microsoft.resources/deployments
        "tags": {SPEC_TAG: plan.names.spec},
    }
    if depends:
        out["dependsOn"] = depends
    properties: dict[str, Any] = {"mode": "Incremental"}
    if any(has_refs(r.body) for r in entry.members):  # reference()s to resources of the outer template
        properties["expressionEvaluationOptions"] = {"scope": "outer"}
    properties["template"] = _template(RG_SCHEMA, inner)
    out["properties"] = properties
    return out


def resource_group_template(plan: Plan) -> dict[str, Any]:
    entries, holder = _entries(plan)
    resources = []
    for entry in entries:
        depends = _depends(entry, entries, holder)
        resources.append(
            _nested(entry, plan, depends) if entry.nested else arm_resource(entry.members[0], plan, depends)
        )
    template = plan.template
    identity = plan.resource("identity")
    outputs = {
        "imageTemplateName": {"type": "string", "value": template.name},
        "imageTemplateId": {"type": "string", "value": template.id},
        "imageId": {"type": "string", "value": plan.image_id},
        "identityId": {"type": "string", "value": identity.id},
        "identityPrincipalId": {
            "type": "string",
            "value": _expression(Ref("identity", "properties.principalId"), plan),
        },
    }
    return escape_template(_template(RG_SCHEMA, resources, outputs))


def inner_resources(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Every resource of a template, nested deployments' resources included (for validation)."""
    out = []
    for r in template.get("resources", []):
        if r["type"] == "Microsoft.Resources/deployments":
            out += inner_resources(r["properties"]["template"])
        else:
            out.append(r)
    return out
