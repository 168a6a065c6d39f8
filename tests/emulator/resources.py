"""Handlers for the plain resource types: resource groups, identities, network, compute, storage."""

from __future__ import annotations

import base64
import copy
import datetime
import os
import re

from . import ids
from .handlers import TypeHandler
from .store import Resource
from .wire import ArmError, Request, Response, new_guid


class ResourceGroupHandler(TypeHandler):
    type = "Microsoft.Resources/resourceGroups"
    lro_delete = True

    def build(self, arm, rid, body, existing):
        stored = super().build(arm, rid, body, existing)
        stored.pop("type")
        stored["type"] = "Microsoft.Resources/resourceGroups"
        return stored

    def before_delete(self, arm, res):
        arm.imagebuilder.refuse_if_running_inside(res.id)

    def delete(self, arm, rid, req):
        res = arm.store.get(rid)
        if res is None:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{ids.name_of(rid)}' could not be found.")
        self.before_delete(arm, res)
        res.properties["provisioningState"] = "Deleting"

        def done():
            arm.remove(res)
            return None

        op = self.start_op(arm, res.id, arm.ops.countdown(arm.config.lro_polls, done))
        # Resource groups report deletion through Location only.
        return Response(202, None, arm.ops.headers(op, req.base_url, location=True, async_op=False))


class IdentityHandler(TypeHandler):
    type = "Microsoft.ManagedIdentity/userAssignedIdentities"

    def fill(self, arm, rid, props, existing):
        old = existing.properties if existing else {}
        props["tenantId"] = arm.tenant_id
        props["principalId"] = old.get("principalId") or new_guid()
        props["clientId"] = old.get("clientId") or new_guid()
        props.setdefault("isolationScope", "None")

    def after_put(self, arm, res, created):
        arm.principals[res.properties["principalId"].lower()] = "ServicePrincipal"

    def after_delete(self, arm, res):
        arm.principals.pop(res.properties["principalId"].lower(), None)


# ---- network


class NetworkHandler(TypeHandler):
    lro_put = lro_delete = True
    has_etag = True


class VirtualNetworkHandler(NetworkHandler):
    type = "Microsoft.Network/virtualNetworks"
    SUBNETS = "Microsoft.Network/virtualNetworks/subnets"

    def build(self, arm, rid, body, existing):
        stored = super().build(arm, rid, body, existing)
        stored["properties"].pop("subnets", None)  # kept as child resources, embedded on render
        return stored

    def after_put(self, arm, res, created):
        wanted = (res.meta.get("spec") or {}).get("properties", {}).get("subnets")
        if wanted is None:
            return
        handler = arm.handler(self.SUBNETS)
        keep = set()
        for sub in wanted:
            sid = f"{res.id}/subnets/{sub['name']}"
            keep.add(sid.lower())
            body = {k: v for k, v in sub.items() if k not in ("id", "name", "type", "etag")}
            handler.store_direct(arm, sid, body)
        for child in arm.store.children(res.id, self.SUBNETS):
            if child.id.lower() not in keep:
                arm.remove(child)

    def render(self, arm, res):
        out = super().render(arm, res)
        subnets = [arm.handler(self.SUBNETS).render(arm, s) for s in arm.store.children(res.id, self.SUBNETS)]
        out["properties"]["subnets"] = subnets
        return out


class SubnetHandler(NetworkHandler):
    type = "Microsoft.Network/virtualNetworks/subnets"
    requires_location = False

    def store_direct(self, arm, rid, body):
        existing = arm.store.get(rid)
        stored = self.build(arm, existing.id if existing else rid, body, existing)
        stored["etag"] = f'W/"{new_guid()}"'
        stored["properties"]["provisioningState"] = "Succeeded"
        res = Resource(existing.id if existing else rid, self.type, stored, {"spec": copy.deepcopy(body)})
        arm.store.put(res)

    def fill(self, arm, rid, props, existing):
        for d in props.get("delegations") or []:
            d.setdefault("id", f"{rid}/delegations/{d.get('name')}")
            d.setdefault("type", "Microsoft.Network/virtualNetworks/subnets/delegations")
        props.setdefault("privateEndpointNetworkPolicies", "Disabled")
        props.setdefault("privateLinkServiceNetworkPolicies", "Enabled")


_DEFAULT_NSG_RULES = [
    ("AllowVnetInBound", "Inbound", "Allow", 65000, "VirtualNetwork", "VirtualNetwork"),
    ("AllowAzureLoadBalancerInBound", "Inbound", "Allow", 65001, "AzureLoadBalancer", "*"),
    ("DenyAllInBound", "Inbound", "Deny", 65500, "*", "*"),
    ("AllowVnetOutBound", "Outbound", "Allow", 65000, "VirtualNetwork", "VirtualNetwork"),
    ("AllowInternetOutBound", "Outbound", "Allow", 65001, "*", "Internet"),
    ("DenyAllOutBound", "Outbound", "Deny", 65500, "*", "*"),
]


class NetworkSecurityGroupHandler(NetworkHandler):
    type = "Microsoft.Network/networkSecurityGroups"

    def fill(self, arm, rid, props, existing):
        for rule in props.get("securityRules") or []:
            rule.setdefault("id", f"{rid}/securityRules/{rule.get('name')}")
            rule.setdefault("type", "Microsoft.Network/networkSecurityGroups/securityRules")
            rule.setdefault("properties", {})["provisioningState"] = "Succeeded"
        props["defaultSecurityRules"] = [
            {
                "id": f"{rid}/defaultSecurityRules/{name}",
                "name": name,
                "type": "Microsoft.Network/networkSecurityGroups/defaultSecurityRules",
                "properties": {
                    "description": name,
                    "protocol": "*",
                    "sourcePortRange": "*",
                    "destinationPortRange": "*",
                    "sourceAddressPrefix": src,
                    "destinationAddressPrefix": dst,
                    "access": access,
                    "priority": prio,
                    "direction": direction,
                    "provisioningState": "Succeeded",
                },
            }
            for name, direction, access, prio, src, dst in _DEFAULT_NSG_RULES
        ]
        props.setdefault("resourceGuid", new_guid())


class RouteTableHandler(NetworkHandler):
    type = "Microsoft.Network/routeTables"

    def fill(self, arm, rid, props, existing):
        for route in props.get("routes") or []:
            route.setdefault("id", f"{rid}/routes/{route.get('name')}")
            route.setdefault("properties", {})["provisioningState"] = "Succeeded"


class FirewallPolicyHandler(NetworkHandler):
    type = "Microsoft.Network/firewallPolicies"

    def render(self, arm, res):
        out = super().render(arm, res)
        groups = arm.store.children(res.id, "Microsoft.Network/firewallPolicies/ruleCollectionGroups")
        out["properties"]["ruleCollectionGroups"] = [{"id": g.id} for g in groups]
        return out


class RuleCollectionGroupHandler(NetworkHandler):
    type = "Microsoft.Network/firewallPolicies/ruleCollectionGroups"
    requires_location = False


class AzureFirewallHandler(NetworkHandler):
    type = "Microsoft.Network/azureFirewalls"


class IpGroupHandler(NetworkHandler):
    type = "Microsoft.Network/ipGroups"


# ---- compute


class ComputeHandler(TypeHandler):
    lro_put = lro_delete = True


class ImageHandler(ComputeHandler):
    type = "Microsoft.Compute/images"


class GalleryHandler(ComputeHandler):
    type = "Microsoft.Compute/galleries"

    def fill(self, arm, rid, props, existing):
        props.setdefault("identifier", {"uniqueName": f"{arm.subscription_id}-{ids.name_of(rid).upper()}"})


class GalleryImageHandler(ComputeHandler):
    type = "Microsoft.Compute/galleries/images"


class GalleryImageVersionHandler(ComputeHandler):
    """Versions report publishedDate and, with `$expand=ReplicationStatus`, replication per target
    region: Completed unless a test sets ``res.meta["replication"] = {region: state}``."""

    type = "Microsoft.Compute/galleries/images/versions"

    def fill(self, arm, rid, props, existing):
        profile = props.setdefault("publishingProfile", {})
        before = ((existing.properties if existing else {}).get("publishingProfile") or {}).get("publishedDate")
        profile["publishedDate"] = before or datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")

    def get(self, arm, rid, req):
        res = self.require(arm, rid)
        out = self.render(arm, res)
        if (req.q("$expand") or "").lower() == "replicationstatus":
            out["properties"]["replicationStatus"] = self.replication(res)
        return Response(200, out)

    @staticmethod
    def replication(res) -> dict:
        regions = (res.properties.get("publishingProfile") or {}).get("targetRegions") or []
        given = {k.replace(" ", "").lower(): v for k, v in (res.meta.get("replication") or {}).items()}
        summary = []
        for r in regions:
            state = given.get(str(r.get("name", "")).replace(" ", "").lower(), "Completed")
            summary.append({"region": r.get("name"), "state": state, "progress": 100 if state == "Completed" else 40})
        states = {s["state"] for s in summary}
        aggregated = (
            "Failed"
            if "Failed" in states
            else "InProgress"
            if "Replicating" in states
            else "Completed"
            if states <= {"Completed"}
            else "Unknown"
        )
        return {"aggregatedState": aggregated, "summary": summary}


class VirtualMachineHandler(ComputeHandler):
    type = "Microsoft.Compute/virtualMachines"


# ---- storage

_ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")


class StorageAccountHandler(TypeHandler):
    type = "Microsoft.Storage/storageAccounts"
    location_style = True
    put_status_new = put_status_existing = 200
    actions = {"listKeys": "list_keys"}

    def validate(self, arm, rid, body, existing, req):
        name = ids.name_of(rid)
        if not _ACCOUNT_NAME.match(name):
            raise ArmError(
                400,
                "AccountNameInvalid",
                f"{name} is not a valid storage account name. Storage account name must be between 3 "
                "and 24 characters in length and use numbers and lower-case letters only.",
            )
        for key in ("sku", "kind"):
            if key not in body:
                raise ArmError(400, "MissingRequiredProperty", f"The request is missing the required property '{key}'.")

    def fill(self, arm, rid, props, existing):
        name = ids.name_of(rid)
        blob = arm.blobs.endpoint(name)
        props["primaryEndpoints"] = {
            "blob": blob,
            "dfs": blob,
            "queue": blob,
            "table": blob,
            "file": blob,
            "web": blob,
        }
        props["primaryLocation"] = arm.config.default_location
        props["statusOfPrimary"] = "available"
        props.setdefault("allowSharedKeyAccess", True)
        props.setdefault("minimumTlsVersion", "TLS1_2")
        props.setdefault("creationTime", "2026-01-01T00:00:00.0000000Z")

    def after_put(self, arm, res, created):
        if "keys" not in res.meta:
            key = arm.blobs.account_key(res.name) or base64.b64encode(os.urandom(64)).decode()
            res.meta["keys"] = [key, base64.b64encode(os.urandom(64)).decode()]

    def after_delete(self, arm, res):
        arm.blobs.forget(res.name)

    def list_keys(self, arm, res, req: Request) -> Response:
        if res.properties.get("allowSharedKeyAccess") is False:
            raise ArmError(
                409,
                "KeyBasedAuthenticationNotPermitted",
                "Key based authentication is not permitted on this storage account.",
            )
        keys = res.meta.get("keys") or []
        return Response(
            200,
            {
                "keys": [
                    {
                        "keyName": f"key{i + 1}",
                        "value": k,
                        "permissions": "FULL",
                        "creationTime": "2026-01-01T00:00:00.0000000Z",
                    }
                    for i, k in enumerate(keys)
                ]
            },
        )


# ---- container instances (Image Builder's build container; read-only here)


class ContainerGroupHandler(TypeHandler):
    """Container groups as Image Builder leaves them in the staging group during a build. Their logs:
    GET {group}/containers/{name}/logs?tail=N -> {"content": "..."}, the Containers - List Logs operation
    (https://learn.microsoft.com/rest/api/container-instances/containers/list-logs), answered by
    ``ImageBuilder.container_logs_response``."""

    type = "Microsoft.ContainerInstance/containerGroups"


ALL: list[type[TypeHandler]] = [
    ResourceGroupHandler,
    IdentityHandler,
    VirtualNetworkHandler,
    SubnetHandler,
    NetworkSecurityGroupHandler,
    RouteTableHandler,
    FirewallPolicyHandler,
    RuleCollectionGroupHandler,
    AzureFirewallHandler,
    IpGroupHandler,
    ImageHandler,
    GalleryHandler,
    GalleryImageHandler,
    GalleryImageVersionHandler,
    VirtualMachineHandler,
    StorageAccountHandler,
    ContainerGroupHandler,
]
