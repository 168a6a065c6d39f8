"""Small builders of ARM documents for the evaluator tests (REST GET shape)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
SUB = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _put(p: dict[str, Any], singular: str, value: str | list[str]) -> None:
    """ARM's paired fields: a string goes to ``sourcePortRange``, a list to ``sourcePortRanges``."""
    if isinstance(value, list):
        p[singular + ("es" if singular.endswith("Prefix") else "s")] = value
    else:
        p[singular] = value


def nsg_rule(
    name: str,
    priority: int,
    access: str = "Allow",
    *,
    direction: str = "Inbound",
    protocol: str = "*",
    src: str | list[str] = "*",
    dst: str | list[str] = "*",
    dports: str | list[str] = "*",
    sports: str | list[str] = "*",
    src_asgs: list[str] | None = None,
    dst_asgs: list[str] | None = None,
) -> dict[str, Any]:
    p: dict[str, Any] = {"priority": priority, "access": access, "direction": direction, "protocol": protocol}
    _put(p, "sourceAddressPrefix", src)
    _put(p, "sourcePortRange", sports)
    _put(p, "destinationAddressPrefix", dst)
    _put(p, "destinationPortRange", dports)
    if src_asgs is not None:
        p.pop("sourceAddressPrefix", None)
        p["sourceApplicationSecurityGroups"] = [{"id": a} for a in src_asgs]
    if dst_asgs is not None:
        p.pop("destinationAddressPrefix", None)
        p["destinationApplicationSecurityGroups"] = [{"id": a} for a in dst_asgs]
    return {"name": name, "properties": p}


def nsg(name: str, *rules: dict[str, Any]) -> dict[str, Any]:
    rid = f"/subscriptions/{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/{name}"
    return {
        "id": rid,
        "name": name,
        "type": "Microsoft.Network/networkSecurityGroups",
        "properties": {"securityRules": list(rules)},
    }


def asg_id(name: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/applicationSecurityGroups/{name}"


POLICY_ID = f"/subscriptions/{SUB}/resourceGroups/rg-hub/providers/Microsoft.Network/firewallPolicies/"


def policy(name: str, base: str | None = None) -> dict[str, Any]:
    p: dict[str, Any] = {}
    if base:
        p["basePolicy"] = {"id": POLICY_ID + base}
    return {
        "id": POLICY_ID + name,
        "name": name,
        "type": "Microsoft.Network/firewallPolicies",
        "properties": p,
    }


def group(policy_name: str, name: str, priority: int, *collections: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"{POLICY_ID}{policy_name}/ruleCollectionGroups/{name}",
        "name": name,
        "properties": {"priority": priority, "ruleCollections": list(collections)},
    }


def collection(name: str, priority: int, action: str, *rules: dict[str, Any], nat: bool = False) -> dict[str, Any]:
    ctype = "FirewallPolicyNatRuleCollection" if nat else "FirewallPolicyFilterRuleCollection"
    return {
        "ruleCollectionType": ctype,
        "name": name,
        "priority": priority,
        "action": {"type": action},
        "rules": list(rules),
    }


def app_rule(
    name: str,
    fqdns: list[str],
    protocols: list[tuple[str, int]] = (("Https", 443),),
    *,  # type: ignore[assignment]
    src: list[str] | None = None,
    tags: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "ruleType": "ApplicationRule",
        "name": name,
        "sourceAddresses": ["*"] if src is None else src,
        "protocols": [{"protocolType": t, "port": p} for t, p in protocols],
        "targetFqdns": fqdns,
        "fqdnTags": tags or [],
        **extra,
    }


def net_rule(
    name: str,
    *,
    protocols: list[str] = ("TCP",),
    src: list[str] | None = None,  # type: ignore[assignment]
    dst: list[str] | None = None,
    fqdns: list[str] | None = None,
    ports: list[str] = ("443",),  # type: ignore[assignment]
    **extra: Any,
) -> dict[str, Any]:
    r: dict[str, Any] = {
        "ruleType": "NetworkRule",
        "name": name,
        "ipProtocols": list(protocols),
        "sourceAddresses": ["*"] if src is None else src,
        "destinationPorts": list(ports),
        **extra,
    }
    if dst is not None:
        r["destinationAddresses"] = dst
    if fqdns is not None:
        r["destinationFqdns"] = fqdns
    return r
