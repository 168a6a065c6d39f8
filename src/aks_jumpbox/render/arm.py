"""Render the plan's resources as ARM templates a user can deploy with `az deployment` alone.

subscription.json       custom least-privilege roles (subscription scope)
resource-group.json     identity, role assignments (nested deployments into the VNet's and the
                        image's resource groups) and the image template; deploy to build.resource_group
network.json            NSG rules and an Azure Firewall policy rule collection group for the contract

Every string is an ARM literal (a leading `[` of a `[...]` value is written `[[`) except the
expressions written here on purpose (`Expression`); see core/arm_strings.py.
"""

from __future__ import annotations

from typing import Any

from aks_jumpbox.core.arm_strings import Expression, escape_template, quote_arg
from aks_jumpbox.core.model import Plan, Ref, Resource
from aks_jumpbox.core.spec import azure_facts

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


def arm_resource(resource: Resource, plan: Plan, depends: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": resource.type, "apiVersion": resource.api_version, "name": resource.name}
    out.update(_expression(resource.body, plan))
    if depends:
        out["dependsOn"] = depends
    return out


def _template(schema: str, resources: list[dict[str, Any]], outputs: dict[str, Any] | None = None,
              parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"$schema": schema, "contentVersion": "1.0.0.0"}
    if parameters:
        doc["parameters"] = parameters
    doc["resources"] = resources
    if outputs:
        doc["outputs"] = outputs
    return doc


def subscription_template(plan: Plan) -> dict[str, Any]:
    roles = [r for r in plan.resources if r.level == "subscription"]
    outputs = {r.key.replace(".", "_") + "_id": {"type": "string", "value": r.id} for r in roles}
    return escape_template(_template(SUB_SCHEMA, [arm_resource(r, plan) for r in roles], outputs or None))


def _deployments_id(nested: dict[str, Any]) -> Expression:
    return Expression(f"[resourceId({quote_arg(nested['resourceGroup'])}, 'Microsoft.Resources/deployments', "
                      f"{quote_arg(nested['name'])})]")


def _nested_gallery(plan: Plan) -> dict[str, Any] | None:
    """The gallery and its image definition, as a nested deployment into the gallery's group."""
    resources = [r for r in plan.resources if r.key.startswith("gallery")]
    if not resources:
        return None
    gallery, definition = resources
    gallery_id = Expression(f"[resourceId({quote_arg(gallery.type)}, {quote_arg(gallery.name)})]")
    inner = [arm_resource(gallery, plan), arm_resource(definition, plan, [gallery_id])]
    return {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": azure_facts()["api_versions"]["Microsoft.Resources/deployments"],
        "name": f"aks-jumpbox-gallery-{gallery.name[:40]}",
        "resourceGroup": gallery.resource_group,
        "properties": {"mode": "Incremental", "template": _template(RG_SCHEMA, inner)},
    }


def _nested_assignment(assignment: Resource, plan: Plan) -> dict[str, Any]:
    """A role assignment in another resource group, as a nested deployment into that group."""
    target_rg = assignment.scope.split("/")[4]
    inner = arm_resource(assignment, plan)
    parts = assignment.scope.split("/")
    if len(parts) > 5:  # a resource inside the group (the VNet): scope the assignment to it
        inner["scope"] = "/".join(parts[6:])  # e.g. Microsoft.Network/virtualNetworks/<name>
    deployments_api = azure_facts()["api_versions"]["Microsoft.Resources/deployments"]
    identity = plan.resource("identity")
    return {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": deployments_api,
        "name": f"aks-jumpbox-{assignment.key.replace('.', '-')}-{assignment.name[:8]}",
        "resourceGroup": target_rg,
        "dependsOn": [identity.id],
        "properties": {
            "mode": "Incremental",
            "expressionEvaluationOptions": {"scope": "outer"},
            "template": _template(RG_SCHEMA, [inner]),
        },
    }


def resource_group_template(plan: Plan) -> dict[str, Any]:
    identity = plan.resource("identity")
    assignments = [r for r in plan.resources if r.level == "extension"]
    nested = [_nested_assignment(a, plan) for a in assignments]
    gallery = _nested_gallery(plan)
    if gallery is not None:
        # The gallery's role assignment needs the gallery; the template needs both.
        for a, n in zip(assignments, nested, strict=True):
            if "gallery" in a.depends_on:
                n["dependsOn"].append(_deployments_id(gallery))
        nested.insert(0, gallery)
    template = plan.template
    deps = [identity.id] + [_deployments_id(n) for n in nested]
    resources = [arm_resource(identity, plan), *nested, arm_resource(template, plan, deps)]
    outputs = {
        "imageTemplateName": {"type": "string", "value": template.name},
        "imageTemplateId": {"type": "string", "value": template.id},
        "imageId": {"type": "string", "value": plan.image_id},
        "identityId": {"type": "string", "value": identity.id},
        "identityPrincipalId": {"type": "string", "value": _expression(Ref("identity", "properties.principalId"), plan)},
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
