"""Address prefixes, ranges and service tags as exact sets, for NSG and firewall evaluation.

Every address is an integer: IPv4 as itself, IPv6 shifted above the IPv4 space, so one interval set
holds both families. A rule's address list compiles to

* a *concrete* part (prefixes, ranges, tags whose content is known), and
* *unknown* parts, each with a known upper bound: an application security group's members are NICs
  of the VNet, so they lie inside the VNet address space; a service tag whose prefixes the caller
  did not supply lies in public address space.

Splitting a flow's addresses against such a rule yields the part the rule certainly covers, the part
it may cover, and the part it certainly does not. The bounds keep unknowns narrow: an ASG rule never
muddies a flow from the Internet.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from aks_jumpbox.preflight._intervals import Intervals

V6_BASE = 1 << 32
ALL_V4 = Intervals.span(0, (1 << 32) - 1)
ALL_V6 = Intervals.span(V6_BASE, V6_BASE + (1 << 128) - 1)
ALL = ALL_V4 | ALL_V6

# Azure's platform address: load balancer health probes, DNS, DHCP, the VM agent. It is what the
# AzureLoadBalancer tag stands for.
HOST_VIP = "168.63.129.16"

# Address space that is never "Internet": private (RFC 1918), shared (RFC 6598), loopback,
# link-local, "this network", multicast and reserved. IPv6 Internet is global unicast (2000::/3).
_NOT_PUBLIC_V4 = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "224.0.0.0/3",
)
_PUBLIC_V6 = "2000::/3"


def _net_span(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> tuple[int, int]:
    base = 0 if net.version == 4 else V6_BASE
    return base + int(net.network_address), base + int(net.broadcast_address)


def _addr_int(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    return int(addr) if addr.version == 4 else V6_BASE + int(addr)


def parse_literal(text: str) -> Intervals | None:
    """An IP, CIDR prefix or ``first-last`` range as a set; None when ``text`` is not one (a tag)."""
    s = text.strip()
    if "-" in s and "/" not in s:
        first, _, last = s.partition("-")
        try:
            a = ipaddress.ip_address(first.strip())
            b = ipaddress.ip_address(last.strip())
        except ValueError:
            return None
        if a.version != b.version or int(b) < int(a):
            raise ValueError(f"{text!r} is not a valid address range (first must not exceed last)")
        return Intervals.span(_addr_int(a), _addr_int(b))
    try:
        net = ipaddress.ip_network(s, strict=False)
    except ValueError:
        return None
    return Intervals.span(*_net_span(net))


def prefixes(items: Iterable[str], where: str = "address") -> Intervals:
    """Union of IP / CIDR / range literals; raises ValueError naming the bad entry."""
    spans: list[tuple[int, int]] = []
    for item in items:
        iv = parse_literal(item)
        if iv is None:
            raise ValueError(f"{where}: {item!r} is not an IP address, CIDR prefix or range")
        spans.extend(iv.spans)
    return Intervals.of(spans)


HOST_VIP_SET = prefixes([HOST_VIP])
_PUBLIC = (ALL_V4 - prefixes(_NOT_PUBLIC_V4)) | prefixes([_PUBLIC_V6])


def to_cidrs(iv: Intervals) -> list[str]:
    """The set as the shortest list of CIDR prefixes (for evidence text)."""
    out: list[str] = []
    for lo, hi in iv.spans:
        if hi < V6_BASE:
            a, b = ipaddress.IPv4Address(lo), ipaddress.IPv4Address(hi)
            out.extend(str(n) for n in ipaddress.summarize_address_range(a, b))
        else:
            if lo < V6_BASE:
                out.extend(to_cidrs(Intervals.span(lo, V6_BASE - 1)))
                lo = V6_BASE
            a6, b6 = ipaddress.IPv6Address(lo - V6_BASE), ipaddress.IPv6Address(hi - V6_BASE)
            out.extend(str(n) for n in ipaddress.summarize_address_range(a6, b6))
    return out


def describe(iv: Intervals, limit: int = 4) -> str:
    if iv == ALL:
        return "any address"
    cidrs = to_cidrs(iv)
    if len(cidrs) > limit:
        return ", ".join(cidrs[:limit]) + f" and {len(cidrs) - limit} more prefixes"
    return ", ".join(cidrs)


@dataclass(frozen=True)
class NetworkContext:
    """What an NSG or firewall rule's names mean in this network.

    ``vnet_prefixes``: the VirtualNetwork tag's content for this VNet: its own address space(s),
    peered VNets' spaces, and any connected on-premises or UDR prefixes the caller knows of.
    ``service_tags``: optional service tag -> prefixes table (e.g. from the published Service Tags
    JSON, see :func:`service_tags_from_json`); tags not in it are reported as unknown.
    ``asg_members``: optional application security group ID -> member IP addresses.
    ``host_vip_in_virtual_network``: Azure's documentation lists "the virtual IP address of the
    host" among the VirtualNetwork tag's addresses, yet the default rules and the upstream guide
    allow AzureLoadBalancer separately. ``None`` (default) treats a VirtualNetwork rule as
    *possibly* matching traffic from 168.63.129.16, so relying on it yields "unknown", not "allow".
    """

    vnet_prefixes: tuple[str, ...] = ()
    service_tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    asg_members: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    host_vip_in_virtual_network: bool | None = None

    _vnet: Intervals = field(init=False, repr=False, compare=False)
    _tags: dict[str, Intervals] = field(init=False, repr=False, compare=False)
    _asgs: dict[str, Intervals] = field(init=False, repr=False, compare=False)
    _internet: Intervals = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Frozen: the compiled tables are computed once here, hence object.__setattr__.
        object.__setattr__(self, "vnet_prefixes", tuple(self.vnet_prefixes))
        object.__setattr__(self, "_vnet", prefixes(self.vnet_prefixes, "VNet address space"))
        tags = {k.lower(): prefixes(v, f"service tag {k}") for k, v in self.service_tags.items()}
        asgs = {k.lower(): prefixes(v, f"application security group {k}") for k, v in self.asg_members.items()}
        object.__setattr__(self, "_tags", tags)
        object.__setattr__(self, "_asgs", asgs)
        object.__setattr__(self, "_internet", _PUBLIC - self._vnet - HOST_VIP_SET)

    @property
    def virtual_network(self) -> Intervals:
        return self._vnet

    @property
    def internet(self) -> Intervals:
        """The Internet tag: public address space outside the VirtualNetwork tag and the host address."""
        return self._internet

    def service_tag(self, tag: str) -> Intervals | None:
        return self._tags.get(tag.lower())

    def asg(self, asg_id: str) -> Intervals | None:
        return self._asgs.get(asg_id.lower())

    @property
    def opaque_bound(self) -> Intervals:
        """Where an unresolved service tag's addresses can lie: public IPv4 space outside the VNet.

        Service tags also carry IPv6 prefixes, but image builds run over IPv4; bounding opaque tags to
        IPv4 lets a ``0.0.0.0/0`` rule cover them.
        """
        return self.internet & ALL_V4


def service_tags_from_json(doc: Mapping[str, object]) -> dict[str, tuple[str, ...]]:
    """Service tag table from the published ``ServiceTags_*.json`` / `az network list-service-tags`."""
    values = doc.get("values")
    if not isinstance(values, list):
        raise ValueError("service tags document: expected a top-level 'values' list")  # noqa: TRY004 (bad data)
    out: dict[str, tuple[str, ...]] = {}
    for v in values:
        if not isinstance(v, dict):
            continue
        name = v.get("name")
        p = v.get("properties")
        pfx = p.get("addressPrefixes") if isinstance(p, dict) else v.get("addressPrefixes")
        if isinstance(name, str) and isinstance(pfx, list):
            out[name] = tuple(str(x) for x in pfx)
    return out


_ANY = frozenset({"*", "any"})


def _tag_like(s: str) -> bool:
    """Service tag names start with a letter and carry no address syntax; '10.0.0.300/24' is a typo."""
    return bool(s) and s[0].isalpha() and not any(c.isspace() or c in "/:" for c in s)


_SPECIAL = frozenset({"virtualnetwork", "azureloadbalancer", "internet"})


@dataclass(frozen=True)
class Opaque:
    """A flow endpoint named by a service tag whose prefixes are not known (e.g. ``Storage``)."""

    tag: str
    bound: Intervals

    @property
    def key(self) -> str:
        return self.tag.lower()

    @property
    def base_key(self) -> str:
        """``storage.westeurope`` -> ``storage``: a regional tag is a subset of its global tag."""
        return self.key.split(".", 1)[0]

    def __str__(self) -> str:
        return self.tag


Endpoint = Intervals | Opaque


def resolve_endpoint(text: str, ctx: NetworkContext, where: str) -> Endpoint:
    """A flow's source or destination: an address literal, ``*``, or a service tag."""
    s = text.strip()
    key = s.lower()
    if key in _ANY:
        return ALL
    literal = parse_literal(s)
    if literal is not None:
        return literal
    if key == "virtualnetwork":
        if not ctx.virtual_network:
            raise ValueError(f"{where}: 'VirtualNetwork' needs the VNet address space (NetworkContext.vnet_prefixes)")
        return ctx.virtual_network
    if key == "azureloadbalancer":
        return HOST_VIP_SET
    if key == "internet":
        return ctx.internet
    table = ctx.service_tag(s)
    if table is not None:
        return table
    if not _tag_like(s):
        raise ValueError(f"{where}: {text!r} is neither an address, a range nor a service tag")
    return Opaque(s, ctx.opaque_bound)


@dataclass(frozen=True)
class Unknown:
    """Part of a rule's address list whose content is unknown, with where it must lie."""

    reason: str
    bound: Intervals


@dataclass(frozen=True)
class RuleAddresses:
    """A rule's source or destination list, compiled against a :class:`NetworkContext`."""

    concrete: Intervals
    unknowns: tuple[Unknown, ...] = ()
    tags: frozenset[str] = frozenset()
    any: bool = False

    @cached_property
    def unknown_bound(self) -> Intervals:
        out = Intervals()
        for u in self.unknowns:
            out = out | u.bound
        return out

    def split(self, value: Endpoint) -> tuple[Endpoint | None, Endpoint | None, Endpoint | None]:
        """(certainly covered, possibly covered, not covered) parts of ``value``."""
        if isinstance(value, Intervals):
            if self.any:
                return value, None, None
            inside, rest = self.concrete.split(value)
            if rest is None or not self.unknowns:
                return inside, None, rest
            unk, out = self.unknown_bound.split(rest)
            return inside, unk, out
        if self.any or value.key in self.tags or value.base_key in self.tags:
            return value, None, None
        if self.concrete.covers(value.bound):
            return value, None, None
        if self.concrete.overlaps(value.bound) or self.unknown_bound.overlaps(value.bound):
            return None, value, None
        return None, None, value


def compile_addresses(items: Iterable[str], asg_ids: Iterable[str], ctx: NetworkContext, where: str) -> RuleAddresses:
    """Compile a rule's address prefixes / tags and application security groups."""
    spans: list[tuple[int, int]] = []
    unknowns: list[Unknown] = []
    tags: set[str] = set()
    is_any = False
    for item in items:
        s = item.strip()
        key = s.lower()
        if key in _ANY:
            is_any = True
            continue
        literal = parse_literal(s)
        if literal is not None:
            spans.extend(literal.spans)
            continue
        if not _tag_like(s):
            raise ValueError(f"{where}: {item!r} is neither an address, a range nor a service tag")
        tags.add(key)
        if key == "virtualnetwork":
            spans.extend(ctx.virtual_network.spans)
            if ctx.host_vip_in_virtual_network:
                spans.extend(HOST_VIP_SET.spans)
            elif ctx.host_vip_in_virtual_network is None:
                unknowns.append(
                    Unknown(f"whether the VirtualNetwork tag includes the host address {HOST_VIP}", HOST_VIP_SET)
                )
        elif key == "azureloadbalancer":
            spans.extend(HOST_VIP_SET.spans)
        elif key == "internet":
            spans.extend(ctx.internet.spans)
        else:
            table = ctx.service_tag(s)
            if table is not None:
                spans.extend(table.spans)
            else:
                unknowns.append(Unknown(f"the prefixes of service tag {s} are not known", ctx.opaque_bound))
    for asg_id in asg_ids:
        members = ctx.asg(asg_id)
        if members is not None:
            spans.extend(members.spans)
        else:
            short = asg_id.rstrip("/").rsplit("/", 1)[-1]
            bound = ctx.virtual_network or ALL
            unknowns.append(Unknown(f"the members of application security group {short} are not known", bound))
    return RuleAddresses(Intervals.of(spans), tuple(unknowns), frozenset(tags), is_any)
