"""An NSG's rules as sets: protocols, addresses and ports resolved against a network context, sorted
by priority per direction, with a prefilter by protocol and port."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aks_jumpbox.preflight import addresses as addr
from aks_jumpbox.preflight._arm import ResourceFormatError
from aks_jumpbox.preflight._firstmatch import Box, Verdict
from aks_jumpbox.preflight._intervals import Intervals, parse_ports
from aks_jumpbox.preflight.addresses import NetworkContext, RuleAddresses
from aks_jumpbox.preflight.nsg.parse import PROTOCOLS, Nsg, NsgRuleRef, parse_nsg

_PROTO_INDEX = {p.lower(): i for i, p in enumerate(PROTOCOLS)}
ALL_PROTOCOLS = Intervals.span(0, len(PROTOCOLS) - 1)


def proto_set(protocol: str) -> Intervals:
    if protocol in ("*", "Any", "any"):
        return ALL_PROTOCOLS
    i = _PROTO_INDEX.get(protocol.lower())
    if i is None:
        raise ValueError(f"protocol {protocol!r}: expected one of *, {', '.join(PROTOCOLS)}")
    return Intervals.span(i, i)


@dataclass(frozen=True)
class CompiledRule:
    ref: NsgRuleRef
    protocol: Intervals
    source: RuleAddresses
    source_ports: Intervals
    destination: RuleAddresses
    destination_ports: Intervals

    def reasons_for(self, box: Box) -> tuple[str, ...]:
        """Why this rule's match on ``box`` is uncertain: its unknowns that can touch the box."""
        out: list[str] = []
        for rule_addrs, value in ((self.source, box[1]), (self.destination, box[3])):
            bound = value.bound if isinstance(value, addr.Opaque) else value
            if isinstance(value, addr.Opaque) and not rule_addrs.unknowns and rule_addrs.concrete.overlaps(bound):
                out.append(f"whether {value.tag} lies within the rule's prefixes")
            out.extend(u.reason for u in rule_addrs.unknowns if u.bound.overlaps(bound))
        return tuple(dict.fromkeys(out))


def access(rule: CompiledRule | None) -> Verdict | None:
    if rule is None:
        return None
    return Verdict.ALLOW if rule.ref.access == "Allow" else Verdict.DENY


@dataclass(frozen=True)
class CompiledNsg:
    """An NSG with its rules sorted by priority and their addresses resolved against a context."""

    nsg: Nsg
    context: NetworkContext
    inbound: tuple[CompiledRule, ...]
    outbound: tuple[CompiledRule, ...]
    # Rules of one direction that can match a protocol / port combination, filled on first use.
    _by_ports: dict[tuple[Any, ...], tuple[CompiledRule, ...]] = field(default_factory=dict, repr=False, compare=False)

    def candidates(self, direction: str, box: Box) -> tuple[CompiledRule, ...]:
        """Rules of ``direction`` whose protocol and ports overlap the flow's, in priority order:
        the others can never match, so evaluation skips them."""
        proto, _, sport, _, dport = box
        key = (direction, proto.spans, sport.spans, dport.spans)
        found = self._by_ports.get(key)
        if found is None:
            rules = self.inbound if direction == "Inbound" else self.outbound
            found = tuple(
                r
                for r in rules
                if r.protocol.overlaps(proto) and r.destination_ports.overlaps(dport) and r.source_ports.overlaps(sport)
            )
            self._by_ports[key] = found
        return found


def compile_nsg(nsg: Nsg | Mapping[str, Any], context: NetworkContext) -> CompiledNsg:
    parsed = nsg if isinstance(nsg, Nsg) else parse_nsg(nsg)
    compiled: list[CompiledRule] = []
    for r in parsed.rules:
        where = f"{r.ref}"
        try:
            compiled.append(
                CompiledRule(
                    r.ref,
                    proto_set(r.protocol),
                    addr.compile_addresses(r.source_prefixes, r.source_asgs, context, f"{where}: source"),
                    parse_ports(r.source_ports),
                    addr.compile_addresses(
                        r.destination_prefixes, r.destination_asgs, context, f"{where}: destination"
                    ),
                    parse_ports(r.destination_ports),
                )
            )
        except ValueError as e:
            raise ResourceFormatError(str(e)) from None
    # Azure rejects two rules with one priority in one direction; the name breaks ties deterministically.
    compiled.sort(key=lambda c: (c.ref.priority, c.ref.name))
    return CompiledNsg(
        parsed,
        context,
        tuple(c for c in compiled if c.ref.direction == "Inbound"),
        tuple(c for c in compiled if c.ref.direction == "Outbound"),
    )
