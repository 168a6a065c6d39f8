"""Render the network contract: a readable table with a diagram, JSON, and deployable ARM.

Two templates, as hub-and-spoke networks split ownership:
  network-spoke.json  the NSGs of the build (and container) subnet, attached to them; deploy to the
                      virtual network's resource group
  network-hub.json    the egress allow-list as a rule collection group of the hub's Azure Firewall
                      policy; deploy to the policy's resource group (often another subscription)
"""

from __future__ import annotations

import shlex
from typing import Any

from aks_jumpbox.core import kinds
from aks_jumpbox.core.arm_strings import Expression, escape_template, quote_arg
from aks_jumpbox.core.model import Plan
from aks_jumpbox.core.naming import rule_collection_group_name
from aks_jumpbox.core.network import NetworkContract
from aks_jumpbox.core.resource_ids import SubnetId
from aks_jumpbox.render.arm import RG_SCHEMA
from aks_jumpbox.render.diagram import network_diagram

# A subnet PUT replaces the whole subnet: any property left out (its route table, delegations, service
# endpoints, NAT gateway) is removed. https://learn.microsoft.com/rest/api/virtualnetwork/subnets/create-or-update
# So the spoke template re-deploys each subnet with the properties it has now (read with reference() at
# deployment time) plus the NSG; `az network vnet subnet update --network-security-group` does the same
# read-modify-write: https://learn.microsoft.com/cli/azure/network/vnet/subnet#az-network-vnet-subnet-update
SUBNET_API_NOTE = "https://learn.microsoft.com/rest/api/virtualnetwork/subnets/create-or-update"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def contract_markdown(plan: Plan) -> str:
    contract = plan.network
    lines = [
        f"# Network contract ({contract.topology} build, {contract.cloud})",
        "",
        f"Build subnet: `{contract.build_subnet}`",
    ]
    if contract.container_subnet:
        lines.append(f"Container instance subnet: `{contract.container_subnet}`")
    lines += [
        "",
        "```mermaid",
        network_diagram(plan).rstrip("\n"),
        "```",
        "",
        "Each row's level follows its basis: `required` rows are documented by Microsoft (source given) or "
        "derived from the lock, and `aks-jumpbox check` fails when they are blocked; `advisory` rows are "
        "inferred (why given), and `check` only warns.",
        "",
        "## NSG flows",
        "",
        "| id | subnet NSG | direction | source | destination | port | protocol | why | level | basis |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {f.id} | {f.subnet} | {f.direction} | {f.source} | {f.destination} | {f.ports} | {f.protocol} | "
        f"{f.purpose} | {f.basis.level} | {_md(f.basis.describe())} |"
        for f in contract.flows
    ]
    lines += [
        "",
        "## Egress allow-list (firewall)",
        "",
        "| FQDN | port | protocol | from subnet | needed by | why | level | basis |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for e in contract.egress:
        dest = f"{e.fqdn} (service tag {e.service_tag}: network rule)" if e.service_tag else e.fqdn
        lines.append(
            f"| {dest} | {e.port} | {e.protocol} | {', '.join(e.subnets)} | {', '.join(e.required_by)} | "
            f"{e.purpose} | {e.basis.level} | {_md(e.basis.describe())} |"
        )
    lines += [
        "",
        "## Deploy",
        "",
        "From the folder `plan` wrote (`out/` by default). The spoke template attaches the NSGs to the subnets by "
        "re-deploying each subnet with the properties it has (route table, delegations, service endpoints kept); "
        "with `-p attachToSubnets=false` it only creates the NSGs, and the `az network vnet subnet update` lines "
        "attach them instead. The hub template needs your firewall policy's subscription, resource group and name.",
        "",
        "```sh",
        *deploy_commands(plan, "."),
        "```",
    ]
    lines += ["", "## Notes", ""] + [f"- {n}" for n in contract.notes]
    return "\n".join(lines) + "\n"


def _subnets(plan: Plan) -> list[tuple[str, SubnetId]]:
    b = plan.spec.build
    out = [("build", b.subnet)]
    if b.container_subnet is not None:
        out.append(("container", b.container_subnet))
    return out


def nsg_name(subnet: SubnetId) -> str:
    return f"nsg-{subnet.subnet}"


def deploy_commands(plan: Plan, out: str = "out") -> list[str]:
    """The az commands that deploy the network templates, with the spec's own names (shell-quoted)."""
    q = shlex.quote
    sid = plan.spec.build.subnet
    base = "" if out in ("", ".") else out.rstrip("/") + "/"
    lines = [
        "# spoke: the NSGs, attached to the subnets (the virtual network's resource group)",
        f"az deployment group create --subscription {q(sid.subscription)} -g {q(sid.resource_group)} "
        f"-n aks-jumpbox-network-spoke-{plan.names.spec} -f {q(base + kinds.NETWORK_SPOKE_JSON)}",
        "# or, with -p attachToSubnets=false above, attach them with az (it keeps every other subnet property):",
    ]
    for _, subnet in _subnets(plan):
        nsg = f"{subnet.vnet_id.rsplit('/virtualNetworks/', 1)[0]}/networkSecurityGroups/{nsg_name(subnet)}"
        lines.append(f"#   az network vnet subnet update --ids {q(str(subnet))} --network-security-group {q(nsg)}")
    lines += [
        "# hub: the egress allow-list in your Azure Firewall policy (its own subscription and resource group)",
        'az deployment group create --subscription "$HUB_SUBSCRIPTION" -g "$HUB_RESOURCE_GROUP" '
        f"-n aks-jumpbox-network-hub-{plan.names.spec} -f {q(base + kinds.NETWORK_HUB_JSON)} "
        '-p firewallPolicyName="$FIREWALL_POLICY"',
    ]
    return lines


def _nsg_rules(contract: NetworkContract, subnet: str) -> list[dict[str, Any]]:
    rules, priority = [], {"Inbound": 100, "Outbound": 100}
    for f in contract.flows:
        if f.subnet != subnet:
            continue
        rules.append(
            {
                "name": f.id,
                "properties": {
                    "description": f.purpose[:140],
                    "priority": priority[f.direction],
                    "direction": f.direction,
                    "access": "Allow",
                    "protocol": f.protocol,
                    "sourceAddressPrefix": f.source,
                    "sourcePortRange": "*",
                    "destinationAddressPrefix": f.destination,
                    "destinationPortRange": f.ports,
                },
            }
        )
        priority[f.direction] += 10
    # Maximally locked down, like the upstream's reference network: deny everything else.
    for direction in ("Inbound", "Outbound"):
        rules.append(
            {
                "name": f"deny-all-{direction.lower()}",
                "properties": {
                    "description": "Deny everything the build does not need.",
                    "priority": 4096,
                    "direction": direction,
                    "access": "Deny",
                    "protocol": "*",
                    "sourceAddressPrefix": "*",
                    "sourcePortRange": "*",
                    "destinationAddressPrefix": "*",
                    "destinationPortRange": "*",
                },
            }
        )
    return rules


def _attach(subnet: SubnetId, role: str, after: Expression | None) -> dict[str, Any]:
    """A nested deployment that re-deploys an existing subnet with its current properties plus the NSG.

    reference() reads the subnet's properties when the deployment runs (the outer template's scope), and
    union() adds only networkSecurityGroup: nothing the subnet has is dropped (see SUBNET_API_NOTE).
    """
    subnet_id = (
        f"resourceId('Microsoft.Network/virtualNetworks/subnets', {quote_arg(subnet.vnet)}, {quote_arg(subnet.subnet)})"
    )
    nsg_id = f"resourceId({quote_arg(kinds.NSG.arm_type)}, {quote_arg(nsg_name(subnet))})"
    out: dict[str, Any] = {
        "type": kinds.DEPLOYMENT.arm_type,
        "apiVersion": kinds.DEPLOYMENT.api_version,
        "name": f"aks-jumpbox-attach-nsg-{role}",
        "condition": Expression("[parameters('attachToSubnets')]"),
        "dependsOn": [Expression(f"[{nsg_id}]"), *([after] if after is not None else [])],
        "properties": {
            "mode": "Incremental",
            "expressionEvaluationOptions": {"scope": "inner"},
            "parameters": {
                "subnetProperties": {
                    "value": Expression(f"[reference({subnet_id}, {quote_arg(kinds.SUBNET.api_version)})]")
                },
                "nsgId": {"value": Expression(f"[{nsg_id}]")},
            },
            "template": {
                "$schema": RG_SCHEMA,
                "contentVersion": "1.0.0.0",
                "parameters": {"subnetProperties": {"type": "object"}, "nsgId": {"type": "string"}},
                "resources": [
                    {
                        "type": kinds.SUBNET.arm_type,
                        "apiVersion": kinds.SUBNET.api_version,
                        "name": f"{subnet.vnet}/{subnet.subnet}",
                        "properties": Expression(
                            "[union(parameters('subnetProperties'), createObject('networkSecurityGroup', "
                            "createObject('id', parameters('nsgId'))))]"
                        ),
                    }
                ],
            },
        },
    }
    return out


def network_spoke_template(plan: Plan) -> dict[str, Any]:
    """NSGs for the build (and container) subnet allowing exactly the contract's flows, attached to them."""
    contract, spec = plan.network, plan.spec
    resources: list[dict[str, Any]] = []
    for role, subnet in _subnets(plan):
        resources.append(
            {
                "type": kinds.NSG.arm_type,
                "apiVersion": kinds.NSG.api_version,
                "name": nsg_name(subnet),
                "location": spec.build.location,
                "properties": {"securityRules": _nsg_rules(contract, role)},
            }
        )
    after: Expression | None = None
    for role, subnet in _subnets(plan):
        resources.append(_attach(subnet, role, after))
        # One subnet at a time: Azure refuses concurrent writes to subnets of one virtual network.
        after = Expression(f"[resourceId('Microsoft.Resources/deployments', 'aks-jumpbox-attach-nsg-{role}')]")
    parameters = {
        "attachToSubnets": {
            "type": "bool",
            "defaultValue": True,
            "metadata": {
                "description": "Attach each NSG to its subnet (the subnet is re-deployed with its current properties "
                "plus the NSG). false: create the NSGs only."
            },
        }
    }
    return escape_template(
        {"$schema": RG_SCHEMA, "contentVersion": "1.0.0.0", "parameters": parameters, "resources": resources}
    )


def network_hub_template(plan: Plan) -> dict[str, Any]:
    """The egress allow-list as a rule collection group of the hub's Azure Firewall policy."""
    contract, spec = plan.network, plan.spec
    app_rules, net_rules = [], []
    prefixes = {
        "build": spec.build.subnet_address_prefix,
        "container": spec.build.container_instance_subnet_address_prefix,
    }
    for e in contract.egress:
        # Each FQDN only from the subnets whose traffic needs it (see the contract's `subnets`).
        sources = [p for p in (prefixes.get(s) for s in e.subnets) if p] or ["*"]
        name = f"{e.destination.replace('*', 'any')}-{e.port}"
        if e.protocol in ("Http", "Https"):
            app_rules.append(
                {
                    "ruleType": "ApplicationRule",
                    "name": name,
                    "description": e.purpose[:140],
                    "protocols": [{"protocolType": e.protocol, "port": e.port}],
                    "sourceAddresses": sources,
                    "targetFqdns": [e.fqdn],
                }
            )
        else:
            # A network rule names its destination by service tag (or a single FQDN, which needs the
            # policy's DNS proxy); never by wildcard FQDN, which Azure Firewall does not match there:
            # https://learn.microsoft.com/azure/firewall/fqdn-filtering-network-rules
            if e.service_tag is None and e.fqdn.startswith("*"):
                raise ValueError(f"egress row {e.fqdn}:{e.port}: a network rule cannot name a wildcard FQDN")
            dest = {"destinationAddresses": [e.service_tag]} if e.service_tag else {"destinationFqdns": [e.fqdn]}
            net_rules.append(
                {
                    "ruleType": "NetworkRule",
                    "name": name,
                    "description": e.purpose[:140],
                    "ipProtocols": ["TCP"],
                    "sourceAddresses": sources,
                    **dest,
                    "destinationPorts": [str(e.port)],
                }
            )
    collections = []
    if net_rules:
        collections.append(
            {
                "ruleCollectionType": "FirewallPolicyFilterRuleCollection",
                "name": "aks-jumpbox-network",
                "priority": 100,
                "action": {"type": "Allow"},
                "rules": net_rules,
            }
        )
    collections.append(
        {
            "ruleCollectionType": "FirewallPolicyFilterRuleCollection",
            "name": "aks-jumpbox-egress",
            "priority": 200,
            "action": {"type": "Allow"},
            "rules": app_rules,
        }
    )
    group = rule_collection_group_name(plan.names.spec)
    resources = [
        {
            "type": kinds.RULE_COLLECTION_GROUP.arm_type,
            "apiVersion": kinds.RULE_COLLECTION_GROUP.api_version,
            "name": Expression(f"[format('{{0}}/{group}', parameters('firewallPolicyName'))]"),
            "properties": {
                "priority": Expression("[parameters('ruleCollectionGroupPriority')]"),
                "ruleCollections": collections,
            },
        }
    ]
    parameters = {
        "firewallPolicyName": {
            "type": "string",
            "metadata": {
                "description": (
                    "The name of the Azure Firewall policy (in this resource group) that governs the build subnets' "
                    "egress."
                )
            },
        },
        # Azure processes a policy's groups by priority (100 highest .. 65000); whether two groups may share
        # one is not documented, so each environment's group can be given its own:
        # https://learn.microsoft.com/azure/firewall/policy-rule-sets
        "ruleCollectionGroupPriority": {
            "type": "int",
            "defaultValue": 500,
            "minValue": 100,
            "maxValue": 65000,
            "metadata": {
                "description": "This group's priority in the policy; give another environment's group another one."
            },
        },
    }
    # One walk over the whole document: every string an ARM literal but the expression above.
    return escape_template(
        {"$schema": RG_SCHEMA, "contentVersion": "1.0.0.0", "parameters": parameters, "resources": resources}
    )
