"""A flow decided against a compiled policy: first match over parts of the flow, in processing order.

Application rules match HTTP/HTTPS/MSSQL traffic by name (TLS SNI / Host header) and protocol:port;
network rules by address, protocol and port, and by name where they list FQDNs (the firewall resolves
those). A name is assumed to resolve to public addresses unless the flow lists the addresses it
resolves to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aks_jumpbox.preflight import addresses as addr
from aks_jumpbox.preflight._firstmatch import (
    POOLED_NOTE,
    Box,
    BoxSplit,
    Verdict,
    conclude,
    first_match,
    split_box,
)
from aks_jumpbox.preflight._intervals import Intervals, exact_split, parse_port_arg
from aks_jumpbox.preflight.addresses import Endpoint, RuleAddresses
from aks_jumpbox.preflight.firewall.compiler import compile_policy
from aks_jumpbox.preflight.firewall.discovery import FirewallPolicyDocs
from aks_jumpbox.preflight.firewall.explain import FirewallDecision, decision, evidence
from aks_jumpbox.preflight.firewall.index import CompiledPolicy
from aks_jumpbox.preflight.firewall.model import (
    APP_PROTOCOLS,
    IP_PROTOCOLS,
    FirewallContext,
    FirewallFlow,
    FirewallRuleRef,
    NamedDest,
    Rule,
    access,
)
from aks_jumpbox.preflight.fqdn import FqdnSet


@dataclass(frozen=True)
class FirewallResult:
    flow: FirewallFlow
    verdict: Verdict
    rule: FirewallRuleRef | None  # None: nothing matched (default deny) or undecidable
    evidence: str
    partial: bool
    decisions: tuple[FirewallDecision, ...]
    notes: tuple[str, ...]
    policy_name: str

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW


def _address_view(rule: RuleAddresses, dest: NamedDest, rest: FqdnSet) -> tuple[Any, Any, Any]:
    """Names a rule's FQDN list did not match may still match its addresses: decide on what they
    resolve to, as a whole (it is one set for all of them)."""
    a_in, a_unk, a_out = rule.split(dest.address)
    part = NamedDest(rest, dest.address)
    if a_in is not None and a_unk is None and a_out is None:
        return part, None, None
    if a_in is None and a_unk is None:
        return None, None, part
    return None, part, None


def _dest_split(rule: Rule, dest: Any) -> tuple[Any, Any, Any]:
    if rule.missing_parent:
        return None, dest, None
    if isinstance(dest, NamedDest):
        n_in, n_out = dest.names.split(rule.patterns) if rule.patterns else (None, dest.names)
        inside = NamedDest(n_in, dest.address) if n_in else None
        if n_out is None:
            return inside, None, None
        if rule.dest_addresses is not None:
            a_in, a_unk, a_out = _address_view(rule.dest_addresses, dest, n_out)
        else:
            a_in, a_unk, a_out = None, None, NamedDest(n_out, dest.address)
        if a_out is not None and rule.unknown_names:
            a_unk, a_out = a_out, None
        if a_in is not None:
            inside = a_in if inside is None else inside | a_in
        return inside, a_unk, a_out
    # A destination given by address only.
    if rule.is_app and rule.dest_addresses is None:
        return None, None, dest  # application rules match on the name, which this flow lacks
    if rule.dest_addresses is None:
        d_in, d_unk, d_out = None, None, dest
    else:
        d_in, d_unk, d_out = rule.dest_addresses.split(dest)
    if rule.patterns and d_out is not None:
        # The rule's FQDNs resolve to addresses the firewall looks up at run time.
        d_unk = d_out if d_unk is None else d_unk | d_out
        d_out = None
    return d_in, d_unk, d_out


def match(app_protocol: str | None) -> Callable[[Rule, Box], BoxSplit | None]:
    """The matcher for flows of ``app_protocol`` (None: plain network traffic)."""

    def match_rule(rule: Rule, box: Box) -> BoxSplit | None:
        src, proto, port, dest = box
        if rule.missing_parent:
            return split_box(box, ((None, src, None), (None, proto, None), (None, port, None), (None, dest, None)))
        if rule.is_app:
            assert rule.app_ports is not None
            if app_protocol is None or app_protocol not in rule.app_ports:
                return None
            ports = exact_split(rule.app_ports[app_protocol], port)
        else:
            ports = exact_split(rule.ports, port)
        if ports[0] is None:
            return None
        pr = exact_split(rule.protocols, proto)
        if pr[0] is None:
            return None
        s = rule.source.split(src)
        if s[0] is None and s[1] is None:
            return None
        d = _dest_split(rule, dest)
        if d[0] is None and d[1] is None:
            return None
        return split_box(box, (s, pr, ports, d))

    return match_rule


def flow_box(flow: FirewallFlow, ctx: FirewallContext) -> Box:
    if (flow.fqdn is None) == (flow.destination is None):
        raise ValueError(f"firewall flow {flow}: give exactly one of fqdn and destination")
    if flow.protocol.upper() not in IP_PROTOCOLS:
        raise ValueError(f"firewall flow {flow}: protocol must be TCP, UDP or ICMP")
    if flow.app_protocol is not None and flow.app_protocol not in APP_PROTOCOLS:
        raise ValueError(f"firewall flow {flow}: app_protocol must be one of {', '.join(APP_PROTOCOLS)} or None")
    src = addr.resolve_endpoint(flow.source, ctx.network, "firewall flow source")
    if not isinstance(src, Intervals):
        raise ValueError(f"firewall flow {flow}: the source must be an address or prefix")  # noqa: TRY004
    i = IP_PROTOCOLS.index(flow.protocol.upper())
    port = parse_port_arg(flow.port)
    dest: Any
    if flow.fqdn is not None:
        address: Endpoint
        if flow.resolved:
            address = addr.prefixes(flow.resolved, "firewall flow resolved addresses")
        else:
            address = addr.Opaque(f"the addresses of {flow.fqdn}", ctx.network.opaque_bound)
        dest = NamedDest(FqdnSet.of(flow.fqdn), address)
    else:
        dest = addr.resolve_endpoint(flow.destination or "", ctx.network, "firewall flow destination")
    return (src, Intervals.span(i, i), port, dest)


FQDN_NETWORK_RULES = "https://learn.microsoft.com/azure/firewall/fqdn-filtering-network-rules"


def wildcard_notes(policy: CompiledPolicy, flow: FirewallFlow) -> list[str]:
    """Why network rules listing a wildcard FQDN for ``flow``'s name did not allow it (for a flow checked
    by service tag or address, pass the name it stands for)."""
    return _unmatched_wildcards(policy, flow_box(flow, policy.context))


def _unmatched_wildcards(policy: CompiledPolicy, box: Box) -> list[str]:
    """Network rules that would have matched the flow had Azure Firewall honoured their wildcard FQDNs."""
    _, proto, port, dest = box
    if not isinstance(dest, NamedDest):
        return []
    out = []
    for r in policy.network_rules:
        if not r.unmatched_wildcards or r.ref is None:
            continue
        if not (r.ports.overlaps(port) and r.protocols.overlaps(proto)):
            continue
        inside, _ = dest.names.split(r.unmatched_wildcards)
        if inside is None:
            continue
        src = r.source.split(box[0])
        if src[0] is None and src[1] is None:
            continue
        names = ", ".join(str(w) for w in r.unmatched_wildcards)
        out.append(
            f"{r.ref} lists {names} in destinationFqdns, which Azure Firewall does not match: network "
            f"rules take no wildcard FQDNs ({FQDN_NETWORK_RULES}); use an application rule, a service tag "
            "or IP addresses"
        )
    return out


def evaluate(policy: CompiledPolicy, flow: FirewallFlow) -> FirewallResult:
    box = flow_box(flow, policy.context)
    outcomes, pooled = first_match(policy.candidates(box, flow.app_protocol), box, match(flow.app_protocol))
    c = conclude(outcomes, access)
    decisions = tuple(decision(o, box) for o in outcomes)
    lead = c.lead.rule.ref if c.lead.rule is not None else None
    text = evidence(c.verdict, c.partial, decisions, policy.name)
    if pooled:
        text += f" ({POOLED_NOTE})"
    for note in _unmatched_wildcards(policy, box):
        text += f"; {note}"
    return FirewallResult(flow, c.verdict, lead, text, c.partial, decisions, policy.notes, policy.name)


def evaluate_policy(
    docs: FirewallPolicyDocs, flow: FirewallFlow, context: FirewallContext | None = None
) -> FirewallResult:
    """One-shot: compile and evaluate (compile once with :func:`compile_policy` for many flows)."""
    return evaluate(compile_policy(docs, context), flow)
