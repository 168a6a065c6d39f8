"""Snapshot folders for preflight scenarios: a build's Azure world as ARM documents, in REST shape.

``World.upstream(...)`` is the upstream guide's maximally locked-down network (its NSG, route table
and hub firewall policy, from tests/unit/preflight/fixtures/upstream) with everything else a build
needs in place (providers, resource groups, identity and its role assignments, the caller's
permissions, the base image). The firewall's application rule collection is the guide's table plus
one rule per FQDN the current plan needs that the 2022 table lacks (newer tool hosts), in the
guide's style; so "passes" means the contract and the evaluators agree with the guide's design,
not that a table was copied from the code under test.

``World.isolated(...)`` is the same locked-down style for the isolated topology. Each scenario then
breaks one thing (``world.docs[...]`` edits) and writes the folder.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aks_jumpbox.core.catalog import load_catalog
from aks_jumpbox.core.lock import load_lock
from aks_jumpbox.core.plan import Plan, build_plan
from aks_jumpbox.core.spec import default_spec_text, parse_spec
from aks_jumpbox.core.yamlfile import load_yaml
from aks_jumpbox.preflight.source import image_versions_path, permissions_path, provider_path, role_assignments_path

UPSTREAM = Path(__file__).resolve().parents[1] / "unit" / "preflight" / "fixtures" / "upstream"
SUB = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
NET_RG = "rg-enterprise-networking-spokes-eastus2"
HUB_RG = "rg-enterprise-networking-hubs"
VNET_ID = f"/subscriptions/{SUB}/resourceGroups/{NET_RG}/providers/Microsoft.Network/virtualNetworks/vnet-imagebuilder"
BUILD_SUBNET = f"{VNET_ID}/subnets/snet-imagebuilder"
ACI_SUBNET = f"{VNET_ID}/subnets/snet-imagebuilder-aci"
NSG_ID = (
    f"/subscriptions/{SUB}/resourceGroups/{NET_RG}/providers/Microsoft.Network/networkSecurityGroups/nsg-imagebuilder"
)
ACI_NSG_ID = NSG_ID + "-aci"
ROUTES_ID = (
    f"/subscriptions/{SUB}/resourceGroups/{NET_RG}/providers/Microsoft.Network/routeTables/route-to-eastus2-hub-fw"
)
POLICY_ID = (
    f"/subscriptions/{SUB}/resourceGroups/{HUB_RG}/providers/Microsoft.Network/firewallPolicies/fw-policies-eastus2"
)
FIREWALL_ID = f"/subscriptions/{SUB}/resourceGroups/{HUB_RG}/providers/Microsoft.Network/azureFirewalls/fw-eastus2"
FIREWALL_IP = "10.200.0.4"
PRINCIPAL = "3f1e5c2a-7b6d-4e8f-9a0b-1c2d3e4f5a6b"
CALLER_ALL = [{"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []}]
# A Contributor: everything but role assignments and role definitions.
CALLER_CONTRIBUTOR = [
    {
        "actions": ["*"],
        "notActions": [
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
        ],
        "dataActions": [],
        "notDataActions": [],
    }
]
PROVIDERS = [
    "Microsoft.VirtualMachineImages",
    "Microsoft.ContainerInstance",
    "Microsoft.Compute",
    "Microsoft.KeyVault",
    "Microsoft.Network",
    "Microsoft.Storage",
    "Microsoft.ManagedIdentity",
]
AIB_REGIONS = ["East US", "East US 2", "West Europe", "North Europe"]


def load(name: str) -> Any:
    return json.loads((UPSTREAM / name).read_text())


def spec_data(topology: str) -> dict:
    data = yaml.safe_load(default_spec_text())
    data["subscription_id"] = SUB
    data["build"]["subnet_id"] = BUILD_SUBNET
    if topology == "proxy":
        data["build"]["subnet_address_prefix"] = "10.241.0.0/28"
        for k in ("container_instance_subnet_id", "container_instance_subnet_address_prefix"):
            data["build"].pop(k, None)
    else:
        data["build"]["subnet_address_prefix"] = "10.241.0.0/28"
        data["build"]["container_instance_subnet_id"] = ACI_SUBNET
        data["build"]["container_instance_subnet_address_prefix"] = "10.241.0.16/28"
    return data


def make_plan(data: dict) -> Plan:
    catalog = load_catalog()
    spec = parse_spec(load_yaml(yaml.safe_dump(data, sort_keys=False), "jumpbox.yaml"), catalog)
    return build_plan(spec, load_lock(None, catalog)[0], catalog=catalog)


def _nsg_rule(
    name: str, priority: int, direction: str, access: str, protocol: str, src: str, dst: str, ports: str
) -> dict:
    return {
        "name": name,
        "properties": {
            "priority": priority,
            "direction": direction,
            "access": access,
            "protocol": protocol,
            "sourceAddressPrefix": src,
            "sourcePortRange": "*",
            "destinationAddressPrefix": dst,
            "destinationPortRange": ports,
        },
    }


def _app_rule(name: str, fqdn: str, protocol: str, port: int, sources: list[str]) -> dict:
    return {
        "ruleType": "ApplicationRule",
        "name": name,
        "protocols": [{"protocolType": protocol, "port": port}],
        "targetFqdns": [fqdn],
        "sourceAddresses": sources,
        "fqdnTags": [],
        "webCategories": [],
        "targetUrls": [],
    }


@dataclass
class World:
    plan: Plan
    docs: dict[str, Any] = field(default_factory=dict)  # file name -> JSON value

    # ---- the worlds

    @classmethod
    def upstream(cls, data: dict | None = None) -> World:
        plan = make_plan(data or spec_data("proxy"))
        w = cls(plan)
        vnet = load("vnet-imagebuilder.json")
        w.docs["vnet.json"] = vnet
        w.docs["nsg.json"] = load("nsg-imagebuilder.json")
        w.docs["routes.json"] = load("route-table.json")
        policy, group = load("firewall-policy.json")
        w._complete_policy(group, ["10.241.0.0/28"], {"build"})
        w.docs["firewall-policy.json"] = [policy, group]
        w.docs["firewall.json"] = w.firewall_doc()
        w._everything_else()
        return w

    @classmethod
    def isolated(cls, data: dict | None = None) -> World:
        plan = make_plan(data or spec_data("isolated"))
        w = cls(plan)
        vnet = load("vnet-imagebuilder.json")
        vnet["properties"]["addressSpace"]["addressPrefixes"] = ["10.241.0.0/27"]
        build = vnet["properties"]["subnets"][0]
        build["properties"]["privateLinkServiceNetworkPolicies"] = "Enabled"  # not needed without a proxy VM
        aci = copy.deepcopy(build)
        aci["name"] = "snet-imagebuilder-aci"
        aci["id"] = ACI_SUBNET
        aci["properties"].update(
            {
                "addressPrefix": "10.241.0.16/28",
                "networkSecurityGroup": {"id": ACI_NSG_ID},
                "delegations": [
                    {"name": "aci", "properties": {"serviceName": "Microsoft.ContainerInstance/containerGroups"}}
                ],
            }
        )
        vnet["properties"]["subnets"].append(aci)
        w.docs["vnet.json"] = vnet
        build_nsg = load("nsg-imagebuilder.json")
        build_nsg["properties"]["securityRules"] = [
            _nsg_rule("AllowAci22InBound", 100, "Inbound", "Allow", "Tcp", "10.241.0.16/28", "10.241.0.0/28", "22"),
            _nsg_rule("DenyAllInBound", 1000, "Inbound", "Deny", "*", "*", "*", "*"),
            _nsg_rule("AllowInternet443OutBound", 100, "Outbound", "Allow", "Tcp", "10.241.0.0/28", "Internet", "443"),
            _nsg_rule("AllowInternet80OutBound", 110, "Outbound", "Allow", "Tcp", "10.241.0.0/28", "Internet", "80"),
            _nsg_rule("DenyAllOutBound", 1000, "Outbound", "Deny", "*", "*", "*", "*"),
        ]
        aci_nsg = copy.deepcopy(build_nsg)
        aci_nsg["id"], aci_nsg["name"] = ACI_NSG_ID, "nsg-imagebuilder-aci"
        aci_nsg["properties"]["securityRules"] = [
            _nsg_rule("DenyAllInBound", 1000, "Inbound", "Deny", "*", "*", "*", "*"),
            _nsg_rule(
                "AllowBuildVm22OutBound", 100, "Outbound", "Allow", "Tcp", "10.241.0.16/28", "10.241.0.0/28", "22"
            ),
            _nsg_rule("AllowInternet443OutBound", 110, "Outbound", "Allow", "Tcp", "10.241.0.16/28", "Internet", "443"),
            _nsg_rule("AllowInternet445OutBound", 120, "Outbound", "Allow", "Tcp", "10.241.0.16/28", "Internet", "445"),
            _nsg_rule("DenyAllOutBound", 1000, "Outbound", "Deny", "*", "*", "*", "*"),
        ]
        w.docs["nsg.json"] = build_nsg
        w.docs["nsg-aci.json"] = aci_nsg
        w.docs["routes.json"] = load("route-table.json")
        policy, group = load("firewall-policy.json")
        w._complete_policy(group, ["10.241.0.0/28"], {"build"})
        w._complete_policy(group, ["10.241.0.16/28"], {"container"})
        w.docs["firewall-policy.json"] = [policy, group]
        w.docs["firewall.json"] = w.firewall_doc()
        w._everything_else()
        return w

    # ---- building blocks

    def _complete_policy(self, group: dict, sources: list[str], subnets: set[str]) -> None:
        """Add, in the guide's style, one application (or network) rule per planned FQDN the group lacks."""
        coll = group["properties"]["ruleCollections"][0]
        have = {
            (f, p["protocolType"], p["port"], tuple(r["sourceAddresses"]))
            for r in coll["rules"]
            if r["ruleType"] == "ApplicationRule"
            for f in r["targetFqdns"]
            for p in r["protocols"]
        }
        net = None
        for i, e in enumerate(self.plan.network.egress):
            if not subnets & set(e.subnets) or (e.fqdn, e.protocol, e.port, tuple(sources)) in have:
                continue
            name = f"plan-{i:02d}-{e.fqdn.replace('*', 'any')}-{e.port}"
            if e.protocol == "Tcp":
                if net is None:
                    net = {
                        "ruleCollectionType": "FirewallPolicyFilterRuleCollection",
                        "name": "AzureImageBuilderNetwork",
                        "priority": 900,
                        "action": {"type": "Allow"},
                        "rules": [],
                    }
                    group["properties"]["ruleCollections"].append(net)
                # As Azure supports it: a service tag (network rules match no wildcard FQDN).
                dest = {"destinationAddresses": [e.service_tag]} if e.service_tag else {"destinationFqdns": [e.fqdn]}
                net["rules"].append(
                    {
                        "ruleType": "NetworkRule",
                        "name": name,
                        "ipProtocols": ["TCP"],
                        "sourceAddresses": sources,
                        **dest,
                        "destinationPorts": [str(e.port)],
                    }
                )
            else:
                coll["rules"].append(_app_rule(name, e.fqdn, e.protocol, e.port, sources))

    def firewall_doc(self) -> dict:
        return {
            "id": FIREWALL_ID,
            "name": "fw-eastus2",
            "type": "Microsoft.Network/azureFirewalls",
            "location": "eastus2",
            "properties": {
                "sku": {"name": "AZFW_VNet", "tier": "Standard"},
                "firewallPolicy": {"id": POLICY_ID},
                "ipConfigurations": [{"name": "ipconfig", "properties": {"privateIPAddress": FIREWALL_IP}}],
            },
        }

    def _everything_else(self) -> None:
        plan = self.plan
        sub = plan.subscription
        loc = plan.spec.build.location
        self.docs["providers.json"] = {"value": [self.provider(ns) for ns in PROVIDERS]}
        rgs = {plan.spec.build.resource_group, plan.spec.distribute.managed_image.resource_group}
        if plan.spec.distribute.gallery is not None:
            rgs.add(plan.spec.distribute.gallery.resource_group)
        self.docs["resource-groups.json"] = [
            {
                "id": f"/subscriptions/{sub}/resourceGroups/{rg}",
                "name": rg,
                "type": "Microsoft.Resources/resourceGroups",
                "location": loc,
                "properties": {"provisioningState": "Succeeded"},
            }
            for rg in sorted(rgs)
        ]
        identity = plan.resource("identity")
        self.docs["identity.json"] = {
            "id": identity.id,
            "name": identity.name,
            "type": identity.type,
            "location": loc,
            "properties": {
                "principalId": PRINCIPAL,
                "clientId": PRINCIPAL,
                "tenantId": "a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
            },
        }
        self.docs["role-definitions.json"] = [
            {"id": r.id, "name": r.name, "type": r.type, **copy.deepcopy(r.body)}
            for r in plan.resources
            if r.type == "Microsoft.Authorization/roleDefinitions"
        ]
        self.docs["role-assignments.json"] = {
            "id": role_assignments_path(sub),
            "value": [
                self.assignment(r.key) for r in plan.resources if r.type == "Microsoft.Authorization/roleAssignments"
            ],
        }
        for name, scope in self.caller_scopes().items():
            self.docs[f"permissions-{name}.json"] = {"id": permissions_path(scope), "value": copy.deepcopy(CALLER_ALL)}
        source = plan.template.body["properties"]["source"]
        path = image_versions_path(sub, loc, source["publisher"], source["offer"], source["sku"])
        self.docs["image-versions.json"] = {
            "id": path,
            "value": [
                {"location": loc, "name": v, "id": f"{path}/{v}"} for v in ("24.04.202604010", "24.04.202605010")
            ],
        }
        self.docs["template.json"] = {
            "id": plan.template.id,
            "status": 404,
            "error": {"code": "ResourceNotFound", "message": "not found"},
        }

    def provider(self, ns: str, state: str = "Registered") -> dict:
        types = (
            [{"resourceType": "imageTemplates", "locations": AIB_REGIONS}]
            if ns == "Microsoft.VirtualMachineImages"
            else []
        )
        return {
            "id": provider_path(self.plan.subscription, ns),
            "namespace": ns,
            "registrationState": state,
            "resourceTypes": types,
        }

    def assignment(self, key: str) -> dict:
        r = self.plan.resource(key)
        body = copy.deepcopy(r.body)
        body["properties"]["principalId"] = PRINCIPAL
        body["properties"]["scope"] = r.scope
        return {"id": r.id, "name": r.name, "type": r.type, **body}

    def caller_scopes(self) -> dict[str, str]:
        plan = self.plan
        out = {"subscription": f"/subscriptions/{plan.subscription}", "build": plan.resource("identity").scope}
        for r in plan.resources:
            if r.type == "Microsoft.Authorization/roleAssignments":
                out[r.key.split(".", 1)[1]] = r.scope
        return out

    # ---- edits used by the scenarios

    @property
    def vnet(self) -> dict:
        return self.docs["vnet.json"]

    def subnet(self, name: str = "snet-imagebuilder") -> dict:
        return next(s for s in self.vnet["properties"]["subnets"] if s["name"] == name)

    def nsg_rules(self, file: str = "nsg.json") -> list[dict]:
        return self.docs[file]["properties"]["securityRules"]

    def app_rules(self) -> list[dict]:
        return self.docs["firewall-policy.json"][1]["properties"]["ruleCollections"][0]["rules"]

    def set_caller(self, scope_name: str, blocks: list[dict]) -> None:
        self.docs[f"permissions-{scope_name}.json"]["value"] = copy.deepcopy(blocks)

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for name, value in self.docs.items():
            (folder / name).write_text(json.dumps(value, indent=1))
        return folder


# ---- the same world in the ARM emulator (for the live tests and the benchmark)

_BODY_KEYS = ("location", "tags", "sku", "properties")


def seed_emulator(arm, topology: str) -> World:
    """The locked-down world of the scenario tests, created in the emulator (its subscription)."""
    sub = arm.subscription_id
    data = json.loads(json.dumps(spec_data(topology)).replace(SUB, sub))
    w = World.upstream(data) if topology == "proxy" else World.isolated(data)
    docs = json.loads(json.dumps(w.docs).replace(SUB, sub))
    w.docs = docs
    plan = w.plan
    rgs = {
        "rg-enterprise-networking-spokes-eastus2",
        "rg-enterprise-networking-hubs",
        plan.spec.build.resource_group,
        plan.spec.distribute.managed_image.resource_group,
    }
    for rg in sorted(rgs):
        arm.seed_resource_group(rg, "eastus2")

    def seed(doc: dict) -> dict:
        return arm.seed(doc["id"], {k: v for k, v in doc.items() if k in _BODY_KEYS})

    for name in ("nsg.json", "nsg-aci.json", "routes.json"):
        if name in docs:
            seed(docs[name])
    for doc in docs["firewall-policy.json"]:
        seed(doc)
    seed(docs["firewall.json"])
    seed(docs["vnet.json"])
    identity = seed(docs["identity.json"])
    principal = identity["properties"]["principalId"]
    for r in plan.resources:
        if r.type == "Microsoft.Authorization/roleDefinitions":
            arm.seed(r.id, r.body)
    for r in plan.resources:
        if r.type == "Microsoft.Authorization/roleAssignments":
            arm.assign_role(
                principal, r.scope, r.body["properties"]["roleDefinitionId"], "ServicePrincipal", name=r.name
            )
    return w
