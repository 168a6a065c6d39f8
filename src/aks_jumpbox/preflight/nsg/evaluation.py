"""A flow decided against a compiled NSG: first match by priority, over parts of the flow."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aks_jumpbox.preflight import addresses as addr
from aks_jumpbox.preflight._arm import ResourceFormatError
from aks_jumpbox.preflight._firstmatch import (
    POOLED_NOTE,
    Box,
    BoxSplit,
    Verdict,
    conclude,
    first_match,
    split_box,
)
from aks_jumpbox.preflight._intervals import ALL_PORTS, Intervals, exact_split, parse_port_arg
from aks_jumpbox.preflight.addresses import Endpoint, NetworkContext
from aks_jumpbox.preflight.nsg.compiler import CompiledNsg, CompiledRule, access, compile_nsg, proto_set
from aks_jumpbox.preflight.nsg.explain import NsgDecision, decision, evidence
from aks_jumpbox.preflight.nsg.parse import DIRECTIONS, Nsg, NsgRuleRef, canon


@dataclass(frozen=True)
class NsgFlow:
    """Traffic to evaluate. ``source``/``destination``: an IP, CIDR, range, ``*`` or service tag;
    ports: an int, ``"a-b"``, a comma list, or ``"*"``; ``source_port=None`` means any source port."""

    direction: str
    protocol: str
    source: str
    destination: str
    destination_port: int | str
    source_port: int | str | None = None

    def __str__(self) -> str:
        return f"{self.direction.lower()} {self.protocol} {self.source} -> {self.destination}:{self.destination_port}"


@dataclass(frozen=True)
class NsgResult:
    flow: NsgFlow
    verdict: Verdict
    rule: NsgRuleRef | None
    evidence: str
    partial: bool
    decisions: tuple[NsgDecision, ...]
    nsg_name: str

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW


def match(rule: CompiledRule, box: Box) -> BoxSplit | None:
    proto, src, sport, dst, dport = box
    p = exact_split(rule.protocol, proto)
    if p[0] is None:
        return None
    dp = exact_split(rule.destination_ports, dport)
    if dp[0] is None:
        return None
    sp = exact_split(rule.source_ports, sport)
    if sp[0] is None:
        return None
    s = rule.source.split(src)
    if s[0] is None and s[1] is None:
        return None
    d = rule.destination.split(dst)
    if d[0] is None and d[1] is None:
        return None
    return split_box(box, (p, s, sp, d, dp))


def _port_arg(value: int | str | None) -> Intervals:
    return ALL_PORTS if value is None else parse_port_arg(value)


def flow_box(flow: NsgFlow, ctx: NetworkContext) -> Box:
    src: Endpoint = addr.resolve_endpoint(flow.source, ctx, "flow source")
    dst: Endpoint = addr.resolve_endpoint(flow.destination, ctx, "flow destination")
    return (
        proto_set(flow.protocol),
        src,
        _port_arg(flow.source_port),
        dst,
        _port_arg(flow.destination_port),
    )


def evaluate(nsg: CompiledNsg, flow: NsgFlow) -> NsgResult:
    """Decide ``flow`` against one NSG. Raises ValueError for a malformed flow."""
    try:
        direction = canon(flow.direction, DIRECTIONS, "flow direction")
    except ResourceFormatError as e:
        raise ValueError(str(e)) from None
    box = flow_box(flow, nsg.context)
    outcomes, pooled = first_match(nsg.candidates(direction, box), box, match)
    if any(o.rule is None for o in outcomes):
        # Only possible when a document's own defaultSecurityRules lack the deny-all rule.
        raise ResourceFormatError(
            f"network security group {nsg.nsg.name}: no rule matches {flow}; its defaultSecurityRules are incomplete"
        )
    c = conclude(outcomes, access)
    decisions = tuple(decision(o, box) for o in outcomes)
    lead = c.lead.rule
    assert lead is not None
    text = evidence(c.verdict, decisions, c.partial, nsg)
    if pooled:
        text += f" ({POOLED_NOTE})"
    return NsgResult(flow, c.verdict, lead.ref, text, c.partial, decisions, nsg.nsg.name)


def evaluate_nsg(doc: Mapping[str, Any] | Nsg, flow: NsgFlow, context: NetworkContext) -> NsgResult:
    """One-shot: parse, compile and evaluate (compile once with :func:`compile_nsg` for many flows)."""
    return evaluate(compile_nsg(doc, context), flow)


def combine(results: Sequence[NsgResult]) -> Verdict:
    """Verdict of a path through several NSGs (e.g. subnet then NIC): all must allow."""
    if any(r.verdict is Verdict.DENY for r in results):
        return Verdict.DENY
    if any(r.verdict is Verdict.UNKNOWN for r in results):
        return Verdict.UNKNOWN
    return Verdict.ALLOW
