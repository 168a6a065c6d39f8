"""An NSG's ARM document as rules: the REST shape or `az network nsg show`'s flattened one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aks_jumpbox.preflight._arm import ResourceFormatError, id_list, id_of, name_of, props, str_list
from aks_jumpbox.preflight._intervals import parse_ports

PROTOCOLS = ("Tcp", "Udp", "Icmp", "Esp", "Ah")
DIRECTIONS = ("Inbound", "Outbound")


@dataclass(frozen=True)
class NsgRuleRef:
    """Which rule decided: enough to name it in evidence and in a fix."""

    name: str
    priority: int
    direction: str
    access: str
    nsg_name: str
    nsg_id: str
    default: bool

    def __str__(self) -> str:
        kind = "default rule" if self.default else "rule"
        return f"{kind} '{self.name}' (priority {self.priority}) of {self.nsg_name}"


@dataclass(frozen=True)
class SecurityRule:
    ref: NsgRuleRef
    protocol: str
    source_prefixes: tuple[str, ...]
    source_ports: tuple[str, ...]
    destination_prefixes: tuple[str, ...]
    destination_ports: tuple[str, ...]
    source_asgs: tuple[str, ...] = ()
    destination_asgs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Nsg:
    id: str
    name: str
    rules: tuple[SecurityRule, ...]
    # False when the document had no defaultSecurityRules and Azure's were added.
    defaults_from_document: bool


# Azure's default rules, exactly as every NSG carries them: (name, priority, direction, access,
# source, destination).
DEFAULT_RULES: tuple[tuple[str, int, str, str, str, str], ...] = (
    ("AllowVnetInBound", 65000, "Inbound", "Allow", "VirtualNetwork", "VirtualNetwork"),
    ("AllowAzureLoadBalancerInBound", 65001, "Inbound", "Allow", "AzureLoadBalancer", "*"),
    ("DenyAllInBound", 65500, "Inbound", "Deny", "*", "*"),
    ("AllowVnetOutBound", 65000, "Outbound", "Allow", "VirtualNetwork", "VirtualNetwork"),
    ("AllowInternetOutBound", 65001, "Outbound", "Allow", "*", "Internet"),
    ("DenyAllOutBound", 65500, "Outbound", "Deny", "*", "*"),
)


def canon(value: Any, allowed: Iterable[str], where: str) -> str:
    """``value`` spelled as Azure spells it (ARM compares these names case-insensitively)."""
    if isinstance(value, str):
        for a in allowed:
            if value.lower() == a.lower():
                return a
    raise ResourceFormatError(f"{where}: expected one of {', '.join(allowed)}, got {value!r}")


def _parse_rule(doc: Any, nsg_name: str, nsg_id: str, default: bool, where: str) -> SecurityRule:
    p = props(doc, where)
    name = name_of(doc) if isinstance(doc, dict) else "<unnamed>"
    where = f"{where} '{name}'"
    priority = p.get("priority")
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise ResourceFormatError(f"{where}: priority: expected an integer, got {priority!r:.100}")
    # A rule's priority is 100-4096; outside that it would sort among (or past) the default rules:
    # https://learn.microsoft.com/en-us/azure/virtual-network/network-security-groups-overview#security-rules
    if not default and not 100 <= priority <= 4096:
        raise ResourceFormatError(f"{where}: priority: {str(priority)[:40]} is outside 100-4096")
    direction = canon(p.get("direction"), DIRECTIONS, f"{where}: direction")
    access = canon(p.get("access"), ("Allow", "Deny"), f"{where}: access")
    protocol = canon(p.get("protocol"), ("*", *PROTOCOLS), f"{where}: protocol")
    src = str_list(p.get("sourceAddressPrefixes"), p.get("sourceAddressPrefix"), f"{where}: sourceAddressPrefixes")
    dst = str_list(
        p.get("destinationAddressPrefixes"),
        p.get("destinationAddressPrefix"),
        f"{where}: destinationAddressPrefixes",
    )
    src_asg = id_list(p.get("sourceApplicationSecurityGroups"), f"{where}: sourceApplicationSecurityGroups")
    dst_asg = id_list(p.get("destinationApplicationSecurityGroups"), f"{where}: destinationApplicationSecurityGroups")
    if not src and not src_asg:
        raise ResourceFormatError(
            f"{where}: has neither a source address prefix nor a source application security group"
        )
    if not dst and not dst_asg:
        raise ResourceFormatError(
            f"{where}: has neither a destination address prefix nor a destination application security group"
        )
    sports = str_list(p.get("sourcePortRanges"), p.get("sourcePortRange"), f"{where}: sourcePortRanges") or ("*",)
    dports = str_list(
        p.get("destinationPortRanges"), p.get("destinationPortRange"), f"{where}: destinationPortRanges"
    ) or ("*",)
    for ports, key in ((sports, "sourcePortRanges"), (dports, "destinationPortRanges")):
        try:
            parse_ports(ports)
        except ValueError as e:
            raise ResourceFormatError(f"{where}: {key}: {e}") from None
    ref = NsgRuleRef(name, priority, direction, access, nsg_name, nsg_id, default)
    return SecurityRule(ref, protocol, src, sports, dst, dports, src_asg, dst_asg)


def default_rules(nsg_name: str, nsg_id: str = "") -> tuple[SecurityRule, ...]:
    return tuple(
        SecurityRule(NsgRuleRef(n, pr, d, a, nsg_name, nsg_id, True), "*", (s,), ("*",), (t,), ("*",))
        for n, pr, d, a, s, t in DEFAULT_RULES
    )


def parse_nsg(doc: Mapping[str, Any]) -> Nsg:
    """An NSG from its ARM JSON (REST shape or `az network nsg show`'s flattened shape)."""
    p = props(doc, "network security group")
    name, rid = name_of(dict(doc)), id_of(dict(doc))
    where = f"network security group {name}"
    rules: list[SecurityRule] = []
    user = p.get("securityRules") or []
    if not isinstance(user, list):
        raise ResourceFormatError(f"{where}: securityRules: expected a list")
    for i, r in enumerate(user):
        rules.append(_parse_rule(r, name, rid, False, f"{where}: securityRules[{i}]"))
    defaults = p.get("defaultSecurityRules")
    if isinstance(defaults, list) and defaults:
        rules.extend(
            _parse_rule(r, name, rid, True, f"{where}: defaultSecurityRules[{i}]") for i, r in enumerate(defaults)
        )
        from_doc = True
    else:
        rules.extend(default_rules(name, rid))
        from_doc = False
    return Nsg(rid, name, tuple(rules), from_doc)
