"""A firewall verdict in words: which rule decided which part of the flow, and what left it undecided."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aks_jumpbox.preflight import addresses as addr
from aks_jumpbox.preflight._firstmatch import Box, Outcome, Verdict
from aks_jumpbox.preflight._intervals import spans_text
from aks_jumpbox.preflight.firewall.model import FirewallRuleRef, NamedDest, Rule, access


@dataclass(frozen=True)
class FirewallDecision:
    part: str
    rule: FirewallRuleRef | None  # None: default deny
    certain: bool
    unresolved: tuple[str, ...]  # why earlier rules might have decided this part instead


def _describe(box: Box, whole: Box) -> str:
    out = []
    if box[0] != whole[0]:
        out.append(f"source {addr.describe(box[0])}")
    if box[2] != whole[2]:
        out.append("port " + spans_text(box[2]))
    if box[3] != whole[3]:
        out.append(f"names {box[3]}" if isinstance(box[3], NamedDest) else f"destination {box[3]}")
    return ", ".join(out)


def _reasons(rule: Rule) -> tuple[str, ...]:
    if rule.missing_parent:
        return (f"the parent policy {rule.missing_parent.rsplit('/', 1)[-1]} was not supplied",)
    out = [u.reason for u in (*rule.source.unknowns, *(rule.dest_addresses.unknowns if rule.dest_addresses else ()))]
    out.extend(rule.unknown_names)
    if not out:
        out.append("it is not known which addresses the name resolves to")
    return tuple(dict.fromkeys(out))


def _ref_text(rule: Rule) -> str:
    return str(rule.ref) if rule.ref else f"the rules of parent policy {rule.missing_parent.rsplit('/', 1)[-1]}"


def decision(o: Outcome[Rule], whole: Box) -> FirewallDecision:
    decided = access(o.rule)
    certain = decided is not None and all(access(m) == decided for m in o.maybe)
    unresolved = tuple(f"{_ref_text(m)} ({'; '.join(_reasons(m))})" for m in o.maybe if access(m) != decided)
    return FirewallDecision(_describe(o.box, whole), o.rule.ref if o.rule else None, certain, unresolved)


def evidence(
    verdict: Verdict,
    partial: bool,
    decisions: Sequence[FirewallDecision],
    policy_name: str,
) -> str:
    def one(d: FirewallDecision) -> str:
        where = f"{d.part}: " if d.part else ""
        if d.rule is None:
            return f"{where}no rule of policy {policy_name} matches, so Azure Firewall denies it by default"
        verb = "allowed" if d.rule.action == "Allow" else "denied"
        return f"{where}{verb} by {d.rule}"

    if verdict is Verdict.UNKNOWN:
        parts = []
        for d in decisions:
            if d.certain:
                continue
            otherwise = one(FirewallDecision("", d.rule, True, ()))
            parts.append(
                f"{d.part + ': ' if d.part else ''}{' / '.join(d.unresolved)} may decide first; otherwise {otherwise}"
            )
        return "cannot decide: " + "; ".join(dict.fromkeys(parts))
    if verdict is Verdict.DENY and partial:
        first = [d for d in decisions if d.certain and (d.rule is None or d.rule.action == "Deny")]
        rest = [d for d in decisions if d not in first]
        return "partly denied: " + "; ".join(dict.fromkeys(one(d) for d in (*first, *rest)))
    return "; ".join(dict.fromkeys(one(d) for d in decisions))
