"""Next-hop selection for a subnet, to tell whether egress passes through a firewall.

Azure picks the route with the longest matching prefix; at equal length a user-defined route (UDR)
beats a system route. System routes: the VNet's own address space (VnetLocal), peered spaces
(VNetPeering), ``0.0.0.0/0`` to Internet, and private / shared ranges outside the VNet to None
(dropped). Routes may name a service tag as their prefix; with a tag table those expand to prefixes,
without one they are reported as possibly applying to public destinations.

A destination is an IP, a prefix, or ``"Internet"`` (some public address, e.g. what an FQDN resolves
to). For a set of addresses the answer lists each route that wins part of it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aks_jumpbox.preflight import addresses as addr
from aks_jumpbox.preflight._arm import ResourceFormatError, name_of, props
from aks_jumpbox.preflight._intervals import Intervals

__all__ = ["FirewallPath", "NextHop", "Route", "firewall_in_path", "next_hop", "parse_route_table"]

HOP_TYPES = ("VirtualAppliance", "Internet", "VnetLocal", "VirtualNetworkGateway", "VNetPeering", "None")
_PRIVATE_DROPPED = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")


@dataclass(frozen=True)
class Route:
    name: str
    prefix: str  # a CIDR or a service tag
    next_hop_type: str
    next_hop_ip: str | None
    user: bool  # False: an Azure system route
    table: str = ""

    def __str__(self) -> str:
        hop = f"{self.next_hop_type} {self.next_hop_ip}" if self.next_hop_ip else self.next_hop_type
        if self.user:
            return f"route '{self.name}' ({self.prefix} -> {hop}) of route table {self.table}"
        return f"system route {self.prefix} -> {hop}"


def parse_route_table(doc: Mapping[str, Any]) -> tuple[Route, ...]:
    p = props(doc, "route table")
    table = name_of(dict(doc))
    out: list[Route] = []
    for i, r in enumerate(p.get("routes") or []):
        rp = props(r, f"route table {table}: routes[{i}]")
        where = f"route table {table}: routes[{i}] '{name_of(r)}'"
        prefix = rp.get("addressPrefix")
        if not isinstance(prefix, str) or not prefix.strip():
            raise ResourceFormatError(f"{where}: addressPrefix: expected a CIDR prefix or service tag")
        if "/" in prefix or prefix.strip()[:1].isdigit():  # a CIDR, not a service tag: it must parse
            try:
                ipaddress.ip_network(prefix.strip(), strict=False)
            except ValueError:
                raise ResourceFormatError(f"{where}: addressPrefix: {prefix!r:.100} is not a CIDR prefix") from None
        hop = next((h for h in HOP_TYPES if str(rp.get("nextHopType", "")).lower() == h.lower()), None)
        if hop is None:
            raise ResourceFormatError(
                f"{where}: nextHopType: expected one of {', '.join(HOP_TYPES)}, got {rp.get('nextHopType')!r}"
            )
        ip = rp.get("nextHopIpAddress") or None
        if hop == "VirtualAppliance" and not ip:
            raise ResourceFormatError(f"{where}: nextHopType VirtualAppliance needs nextHopIpAddress")
        out.append(Route(name_of(r), prefix.strip(), hop, ip, True, table))
    return tuple(out)


@dataclass(frozen=True)
class NextHop:
    destination: str
    # Each route that wins part of the destination, with that part; the largest part first.
    winners: tuple[tuple[Route, str], ...]
    # Routes on unresolved service tags that might win instead (their next hop differs).
    possible: tuple[Route, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def route(self) -> Route:
        return self.winners[0][0]

    @property
    def evidence(self) -> str:
        if len(self.winners) == 1:
            text = f"{self.destination} goes via {self.route}"
        else:
            text = f"{self.destination} is split: " + "; ".join(f"{part} via {r}" for r, part in self.winners)
        if self.possible:
            text += "; possibly instead " + "; ".join(str(r) for r in self.possible)
        return text


def _system_routes(vnet: Sequence[str], peered: Sequence[str]) -> list[Route]:
    routes = [Route("vnet", p, "VnetLocal", None, False) for p in vnet]
    routes += [Route("peering", p, "VNetPeering", None, False) for p in peered]
    routes.append(Route("default", "0.0.0.0/0", "Internet", None, False))
    vnet_set = addr.prefixes(vnet, "VNet address space")
    for p in _PRIVATE_DROPPED:
        if not vnet_set.covers(addr.prefixes([p])):
            routes.append(Route("private", p, "None", None, False))
    return routes


def next_hop(
    route_table: Mapping[str, Any] | None,
    destination: str,
    *,
    vnet_prefixes: Sequence[str] = (),
    peered_prefixes: Sequence[str] = (),
    service_tags: Mapping[str, Sequence[str]] | None = None,
) -> NextHop:
    """Which route(s) carry traffic from a subnet with ``route_table`` (None: no table) to ``destination``."""
    ctx = addr.NetworkContext(tuple(vnet_prefixes), {k: tuple(v) for k, v in (service_tags or {}).items()})
    if destination.strip().lower() == "internet":
        dest = ctx.internet & addr.ALL_V4
    else:
        literal = addr.parse_literal(destination)
        if literal is None:
            raise ValueError(f"route destination {destination!r}: expected an IP, a CIDR prefix or 'Internet'")
        dest = literal
    user = parse_route_table(route_table) if route_table is not None else ()
    # (prefix length, 0 for user / 1 for system, interval, route)
    candidates: list[tuple[int, int, Intervals, Route]] = []
    unresolved: list[Route] = []
    for r in (*user, *_system_routes(vnet_prefixes, peered_prefixes)):
        nets: list[str]
        literal = addr.parse_literal(r.prefix)
        if literal is not None:
            nets = [r.prefix]
        else:
            tag = ctx.service_tag(r.prefix)
            if tag is None:
                unresolved.append(r)
                continue
            nets = addr.to_cidrs(tag)
        for n in nets:
            net = ipaddress.ip_network(n, strict=False)
            candidates.append((net.prefixlen, 0 if r.user else 1, addr.prefixes([n]), r))
    candidates.sort(key=lambda c: (-c[0], c[1]))
    remaining = dest
    won: dict[Route, Intervals] = {}
    for _, _, iv, r in candidates:
        if not remaining:
            break
        part = remaining & iv
        if part:
            won[r] = won.get(r, Intervals()) | part
            remaining = remaining - part
    if remaining:
        raise ValueError(f"route destination {destination!r}: not covered by any route (not an IPv4 address?)")
    ordered = sorted(won.items(), key=lambda kv: -len(kv[1]))
    winners = tuple(
        (
            r,
            "other public addresses"
            if i == 0 and len(ordered) > 1 and destination.lower() == "internet"
            else addr.describe(iv),
        )
        for i, (r, iv) in enumerate(ordered)
    )
    hops = {(r.next_hop_type, r.next_hop_ip) for r, _ in ordered}
    possible = tuple(
        r for r in unresolved if dest.overlaps(ctx.opaque_bound) and hops != {(r.next_hop_type, r.next_hop_ip)}
    )
    notes: list[str] = []
    propagates = route_table is not None and not props(route_table).get("disableBgpRoutePropagation", False)
    if propagates and not any(r.user and r.prefix == "0.0.0.0/0" for r, _ in ordered):
        notes.append(
            "gateway route propagation is on: routes learned over BGP (VPN / ExpressRoute) may override system routes"
        )
    return NextHop(destination, winners, possible, tuple(notes))


@dataclass(frozen=True)
class FirewallPath:
    in_path: bool | None  # None: some of the traffic, or it depends on unresolved routes
    hop: NextHop
    evidence: str


def firewall_in_path(
    route_table: Mapping[str, Any] | None,
    firewall_ip: str | None,
    *,
    destination: str = "Internet",
    vnet_prefixes: Sequence[str] = (),
    peered_prefixes: Sequence[str] = (),
    service_tags: Mapping[str, Sequence[str]] | None = None,
) -> FirewallPath:
    """Does traffic to ``destination`` go to the firewall at ``firewall_ip`` (None: any virtual appliance)?"""
    hop = next_hop(
        route_table,
        destination,
        vnet_prefixes=vnet_prefixes,
        peered_prefixes=peered_prefixes,
        service_tags=service_tags,
    )

    def to_fw(r: Route) -> bool:
        return r.next_hop_type == "VirtualAppliance" and (firewall_ip is None or r.next_hop_ip == firewall_ip)

    flags = [to_fw(r) for r, _ in hop.winners]
    target = f"the firewall {firewall_ip}" if firewall_ip else "a virtual appliance"
    if all(flags) and all(to_fw(r) for r in hop.possible):
        return FirewallPath(True, hop, f"{hop.evidence}: traffic passes {target}")
    if not any(flags) and not any(to_fw(r) for r in hop.possible):
        return FirewallPath(False, hop, f"{hop.evidence}: traffic bypasses {target}")
    return FirewallPath(None, hop, f"{hop.evidence}: only part of the traffic, or not certainly, passes {target}")
