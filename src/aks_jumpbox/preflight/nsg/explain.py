"""An NSG verdict in words: which rule decided which part of the flow, and what left it undecided."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aks_jumpbox.preflight import addresses as addr
from aks_jumpbox.preflight._firstmatch import Box, Outcome, Verdict
from aks_jumpbox.preflight._intervals import ALL_PORTS, Intervals, spans_text
from aks_jumpbox.preflight.nsg.compiler import CompiledNsg, CompiledRule, access
from aks_jumpbox.preflight.nsg.parse import PROTOCOLS, NsgRuleRef


@dataclass(frozen=True)
class NsgDecision:
    """One part of the flow and who decided it."""

    part: str  # "" when it is the whole flow
    rule: NsgRuleRef
    certain: bool
    # Rules before the decider whose match could not be resolved for this part, with the reason.
    unresolved: tuple[tuple[NsgRuleRef, tuple[str, ...]], ...]


def _describe_ports(iv: Intervals) -> str:
    if iv == ALL_PORTS:
        return "any port"
    return spans_text(iv)


def _describe_part(box: Box, whole: Box) -> str:
    names = ("protocol", "source", "source port", "destination", "destination port")
    out = []
    for name, v, w in zip(names, box, whole, strict=True):
        if v == w:
            continue
        if name == "protocol":
            out.append("protocol " + ",".join(PROTOCOLS[i] for lo, hi in v.spans for i in range(lo, hi + 1)))
        elif name.endswith("port"):
            out.append(f"{name} {_describe_ports(v)}")
        else:
            out.append(f"{name} {addr.describe(v) if isinstance(v, Intervals) else v}")
    return ", ".join(out)


def decision(o: Outcome[CompiledRule], whole: Box) -> NsgDecision:
    assert o.rule is not None
    certain = all(access(m) == access(o.rule) for m in o.maybe)
    unresolved = tuple((m.ref, m.reasons_for(o.box)) for m in o.maybe)
    return NsgDecision(_describe_part(o.box, whole), o.rule.ref, certain, unresolved)


def evidence(verdict: Verdict, decisions: Sequence[NsgDecision], partial: bool, nsg: CompiledNsg) -> str:
    def one(d: NsgDecision) -> str:
        verb = "allowed" if d.rule.access == "Allow" else "denied"
        where = f"{d.part} " if d.part else ""
        return f"{where}{verb} by {d.rule}"

    note = ""
    if not nsg.nsg.defaults_from_document and any(d.rule.default for d in decisions):
        note = " (the document lists no defaultSecurityRules; Azure's defaults were applied)"
    if verdict is Verdict.DENY and not partial:
        first = decisions[0]
        return f"denied by {first.rule}{note}"
    if verdict is Verdict.ALLOW:
        allowed = _dedupe(decisions)
        if len(allowed) == 1:
            return f"allowed by {allowed[0].rule}{note}"
        return "allowed: " + "; ".join(one(d) for d in allowed) + note
    if verdict is Verdict.DENY:
        denied = [d for d in decisions if d.certain and d.rule.access == "Deny"]
        others = [d for d in decisions if d not in denied]
        text = "partly denied: " + "; ".join(one(d) for d in _dedupe(denied))
        if others:
            text += "; " + "; ".join(one(d) for d in _dedupe(others))
        return text + note
    # UNKNOWN
    parts = []
    for d in _dedupe([d for d in decisions if not d.certain]):
        for ref, reasons in d.unresolved:
            if ref.access == d.rule.access:
                continue
            verb = "allow" if ref.access == "Allow" else "deny"
            why = "; ".join(reasons) or "its match could not be resolved"
            parts.append(
                f"{ref} would {verb} {d.part or 'it'} if it applies ({why}); otherwise "
                f"{'allowed' if d.rule.access == 'Allow' else 'denied'} by {d.rule}"
            )
    return "cannot decide: " + "; ".join(dict.fromkeys(parts)) + note


def _dedupe(decisions: Sequence[NsgDecision]) -> list[NsgDecision]:
    """One entry per deciding rule, in processing order (merge the parts it decided)."""
    seen: dict[NsgRuleRef, list[NsgDecision]] = {}
    for d in decisions:
        seen.setdefault(d.rule, []).append(d)
    out = []
    for ref, ds in seen.items():
        part = "" if any(not d.part for d in ds) else "; ".join(dict.fromkeys(d.part for d in ds))
        out.append(NsgDecision(part, ref, all(d.certain for d in ds), tuple(u for d in ds for u in d.unresolved)))
    return out


def nic_nsg_note(direction: str, nsg_names: Sequence[str] = ()) -> str:
    """Why a subnet-level verdict may not be the whole story."""
    order = (
        "the subnet's NSG first, then the NIC's"
        if direction.lower() == "inbound"
        else "the NIC's NSG first, then the subnet's"
    )
    evaluated = f" ({', '.join(nsg_names)})" if nsg_names else ""
    return (
        f"Only subnet-level NSGs were evaluated{evaluated}. The build VMs' NICs are created by Azure Image "
        f"Builder without an NSG, but an Azure Policy (or another automation) that attaches one to every NIC "
        f"would filter this traffic too: {direction.lower()} traffic must be allowed by {order}."
    )
