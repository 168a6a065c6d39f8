"""What the firewall stages share: protocols, the name tables, flows, and a compiled rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aks_jumpbox.preflight import addresses as addr
from aks_jumpbox.preflight._firstmatch import Verdict
from aks_jumpbox.preflight._intervals import Intervals
from aks_jumpbox.preflight.addresses import Endpoint, NetworkContext, RuleAddresses
from aks_jumpbox.preflight.fqdn import FqdnSet, Pattern

IP_PROTOCOLS = ("TCP", "UDP", "ICMP")
TCP = Intervals.span(0, 0)
ALL_IP = Intervals.span(0, len(IP_PROTOCOLS) - 1)
APP_PROTOCOLS = ("Http", "Https", "Mssql")


@dataclass(frozen=True)
class FirewallContext:
    """Tables that resolve names in rules. ``network`` supplies service tags (network rules may name
    them as destinations); ``ip_groups``: IP group ID -> addresses; ``fqdn_tags``: tag -> FQDN patterns."""

    network: NetworkContext = field(default_factory=NetworkContext)
    ip_groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fqdn_tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def ip_group(self, gid: str) -> Intervals | None:
        for k, v in self.ip_groups.items():
            if k.lower() == gid.lower():
                return addr.prefixes(v, f"IP group {k}")
        return None

    def fqdn_tag(self, tag: str) -> tuple[Pattern, ...] | None:
        for k, v in self.fqdn_tags.items():
            if k.lower() == tag.lower():
                return tuple(Pattern.parse(x) for x in v)
        return None


@dataclass(frozen=True)
class FirewallRuleRef:
    policy: str
    group: str
    group_priority: int
    collection: str
    collection_priority: int
    rule: str
    rule_type: str  # NetworkRule | ApplicationRule
    action: str  # Allow | Deny
    inherited: bool

    def __str__(self) -> str:
        kind = "network" if self.rule_type == "NetworkRule" else "application"
        inh = ", inherited" if self.inherited else ""
        return (
            f"{kind} rule '{self.rule}' in collection '{self.collection}' "
            f"(priority {self.collection_priority}) "
            f"of group '{self.group}' (priority {self.group_priority}) in policy {self.policy}{inh}"
        )


@dataclass(frozen=True)
class NamedDest:
    """A destination named by FQDN(s); ``address`` is what the names resolve to (or where they may)."""

    names: FqdnSet
    address: Endpoint

    def __or__(self, other: NamedDest) -> NamedDest:
        return NamedDest(self.names | other.names, self.address)

    def __str__(self) -> str:
        return str(self.names)


@dataclass(frozen=True)
class FirewallFlow:
    """Egress through the firewall. ``source``: the build subnet's prefix (or an IP); either ``fqdn``
    (a name or ``*.suffix`` for "any name under it") or ``destination`` (IP / CIDR / service tag);
    ``app_protocol`` Http/Https/Mssql lets application rules see it (they need the name)."""

    source: str
    port: int | str
    fqdn: str | None = None
    destination: str | None = None
    protocol: str = "TCP"
    app_protocol: str | None = None
    resolved: tuple[str, ...] = ()

    @classmethod
    def https(cls, source: str, fqdn: str, port: int = 443) -> FirewallFlow:
        return cls(source, port, fqdn=fqdn, app_protocol="Https")

    @classmethod
    def http(cls, source: str, fqdn: str, port: int = 80) -> FirewallFlow:
        return cls(source, port, fqdn=fqdn, app_protocol="Http")

    def __str__(self) -> str:
        proto = self.app_protocol.upper() if self.app_protocol else self.protocol
        return f"{self.source} -> {proto} {self.fqdn or self.destination}:{self.port}"


@dataclass(frozen=True)
class Rule:
    """A compiled network or application rule, or the stand-in for a parent nobody supplied."""

    ref: FirewallRuleRef | None  # None: the stand-in for a parent policy that was not supplied
    protocols: Intervals
    source: RuleAddresses
    ports: Intervals
    dest_addresses: RuleAddresses | None
    patterns: tuple[Pattern, ...]
    app_ports: Mapping[str, Intervals] | None = None  # application rules: protocol -> ports
    unknown_names: tuple[str, ...] = ()  # reasons some names may match (FQDN tags, web categories)
    missing_parent: str = ""
    # Network rules only: wildcard destinationFqdns, which Azure Firewall does not match
    # (https://learn.microsoft.com/azure/firewall/fqdn-filtering-network-rules). Kept for the evidence.
    unmatched_wildcards: tuple[Pattern, ...] = ()

    @property
    def is_app(self) -> bool:
        return self.app_ports is not None


def access(rule: Rule | None) -> Verdict | None:
    if rule is None:
        return Verdict.DENY  # Azure Firewall's default
    if rule.ref is None:
        return None  # a parent policy nobody supplied could do anything
    return Verdict.ALLOW if rule.ref.action == "Allow" else Verdict.DENY
