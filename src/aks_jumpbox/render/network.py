"""Render the network contract: a readable table, JSON, and deployable ARM (NSGs, firewall rules).

network.json deploys to the virtual network's resource group.
"""

from __future__ import annotations

from typing import Any

from aks_jumpbox.core import kinds
from aks_jumpbox.core.arm_strings import Expression, escape_template
from aks_jumpbox.core.model import Plan
from aks_jumpbox.core.network import NetworkContract
from aks_jumpbox.render.arm import RG_SCHEMA


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def contract_markdown(contract: NetworkContract) -> str:
    lines = [
        f"# Network contract ({contract.topology} build, {contract.cloud})",
        "",
        f"Build subnet: `{contract.build_subnet}`",
    ]
    if contract.container_subnet:
        lines.append(f"Container instance subnet: `{contract.container_subnet}`")
    lines += [
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
    lines += ["", "## Notes", ""] + [f"- {n}" for n in contract.notes]
    return "\n".join(lines) + "\n"


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


def network_template(plan: Plan) -> dict[str, Any]:
    contract, spec = plan.network, plan.spec
    resources: list[dict[str, Any]] = []
    subnets = [("build", spec.build.subnet)]
    if spec.build.container_subnet is not None:
        subnets.append(("container", spec.build.container_subnet))
    for role, subnet in subnets:
        resources.append(
            {
                "type": kinds.NSG.arm_type,
                "apiVersion": kinds.NSG.api_version,
                "name": f"nsg-{subnet.subnet}",
                "location": spec.build.location,
                "properties": {"securityRules": _nsg_rules(contract, role)},
            }
        )
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
    resources.append(
        {
            "type": kinds.RULE_COLLECTION_GROUP.arm_type,
            "apiVersion": kinds.RULE_COLLECTION_GROUP.api_version,
            "name": Expression(f"[format('{{0}}/rcg-{spec.name}-imagebuilder', parameters('firewallPolicyName'))]"),
            "properties": {"priority": 500, "ruleCollections": collections},
        }
    )
    parameters = {
        "firewallPolicyName": {
            "type": "string",
            "defaultValue": "fwp-hub",
            "metadata": {
                "description": (
                    "The Azure Firewall policy (in this resource group) that governs the build subnets' egress."
                )
            },
        }
    }
    # One walk over the whole document: every string an ARM literal but the expression above.
    return escape_template(
        {"$schema": RG_SCHEMA, "contentVersion": "1.0.0.0", "parameters": parameters, "resources": resources}
    )
