"""Network security group evaluation with Azure's semantics.

Rules of the flow's direction are processed by priority (lower number first) and the first rule that
matches decides. Azure's six default rules close every NSG; when an ARM document leaves them out
(``defaultSecurityRules`` missing), they are added as Azure applies them. Matching:

* protocol: ``*`` matches every protocol, otherwise names must be equal (a Tcp rule never matches Udp);
* addresses: ``*``, IP / CIDR / ``first-last`` ranges, service tags (VirtualNetwork, AzureLoadBalancer,
  Internet exactly; others through an optional table), application security groups through an optional
  member table. A rule covering only part of a flow's prefix decides only that part, and the result
  says so (``partial``);
* ports: ``*``, single ports, ``a-b`` ranges and lists of them.

Whatever cannot be resolved (an ASG without members, an unknown service tag) makes the verdict
``unknown`` only when it could change the outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aks_jumpbox.preflight import addresses as addr
from aks_jumpbox.preflight._arm import ResourceFormatError, id_list, id_of, name_of, props, str_list
from aks_jumpbox.preflight._firstmatch import (
    Box,
    BoxSplit,
    Outcome,
    Verdict,
    conclude,
    first_match,
    split_box,
)
from aks_jumpbox.preflight._intervals import Intervals
from aks_jumpbox.preflight.addresses import Endpoint, NetworkContext, RuleAddresses

__all__ = [
    "DEFAULT_RULES",
    "CompiledNsg",
    "NetworkContext",
    "Nsg",
    "NsgFlow",
    "NsgResult",
    "NsgRuleRef",
    "SecurityRule",
    "Verdict",
    "combine",
    "compile_nsg",
    "evaluate",
    "evaluate_nsg",
    "nic_nsg_note",
    "parse_nsg",
]

PROTOCOLS = ("Tcp", "Udp", "Icmp", "Esp", "Ah")
POOLED_NOTE = "the flow was cut into very many parts; doubts were pooled, so 'unknown' may be pessimistic"
_PROTO_INDEX = {p.lower(): i for i, p in enumerate(PROTOCOLS)}
ALL_PROTOCOLS = Intervals.span(0, len(PROTOCOLS) - 1)
ALL_PORTS = Intervals.span(0, 65535)
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


def _canon(value: Any, allowed: Iterable[str], where: str) -> str:
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
        raise ResourceFormatError(f"{where}: priority: expected an integer, got {priority!r}")
    direction = _canon(p.get("direction"), DIRECTIONS, f"{where}: direction")
    access = _canon(p.get("access"), ("Allow", "Deny"), f"{where}: access")
    protocol = _canon(p.get("protocol"), ("*", *PROTOCOLS), f"{where}: protocol")
    src = str_list(
        p.get("sourceAddressPrefixes"), p.get("sourceAddressPrefix"), f"{where}: sourceAddressPrefixes"
    )
    dst = str_list(
        p.get("destinationAddressPrefixes"),
        p.get("destinationAddressPrefix"),
        f"{where}: destinationAddressPrefixes",
    )
    src_asg = id_list(p.get("sourceApplicationSecurityGroups"), f"{where}: sourceApplicationSecurityGroups")
    dst_asg = id_list(
        p.get("destinationApplicationSecurityGroups"), f"{where}: destinationApplicationSecurityGroups"
    )
    if not src and not src_asg:
        raise ResourceFormatError(
            f"{where}: has neither a source address prefix nor a source application security group"
        )
    if not dst and not dst_asg:
        raise ResourceFormatError(
            f"{where}: has neither a destination address prefix nor a destination application security group"
        )
    sports = str_list(p.get("sourcePortRanges"), p.get("sourcePortRange"), f"{where}: sourcePortRanges") or (
        "*",
    )
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
            _parse_rule(r, name, rid, True, f"{where}: defaultSecurityRules[{i}]")
            for i, r in enumerate(defaults)
        )
        from_doc = True
    else:
        rules.extend(default_rules(name, rid))
        from_doc = False
    return Nsg(rid, name, tuple(rules), from_doc)


def parse_ports(items: Iterable[str]) -> Intervals:
    """``*``, ``443``, ``60000-60001`` and lists of them as a port set."""
    spans: list[tuple[int, int]] = []
    for item in items:
        s = str(item).strip()
        if s in ("*", "Any", "any"):
            return ALL_PORTS
        lo_s, sep, hi_s = s.partition("-")
        try:
            lo = int(lo_s)
            hi = int(hi_s) if sep else lo
        except ValueError:
            raise ValueError(f"{item!r} is not a port, a port range a-b, or *") from None
        if not (0 <= lo <= hi <= 65535):
            raise ValueError(f"{item!r} is not a port range within 0-65535")
        spans.append((lo, hi))
    return Intervals.of(spans)


def _port_arg(value: int | str | None) -> Intervals:
    if value is None:
        return ALL_PORTS
    if isinstance(value, int):
        return parse_ports([str(value)])
    return parse_ports(value.split(","))


def _describe_ports(iv: Intervals) -> str:
    if iv == ALL_PORTS:
        return "any port"
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in iv.spans)


def _proto_set(protocol: str) -> Intervals:
    if protocol in ("*", "Any", "any"):
        return ALL_PROTOCOLS
    i = _PROTO_INDEX.get(protocol.lower())
    if i is None:
        raise ValueError(f"protocol {protocol!r}: expected one of *, {', '.join(PROTOCOLS)}")
    return Intervals.span(i, i)


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
class _Compiled:
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
            if (
                isinstance(value, addr.Opaque)
                and not rule_addrs.unknowns
                and rule_addrs.concrete.overlaps(bound)
            ):
                out.append(f"whether {value.tag} lies within the rule's prefixes")
            out.extend(u.reason for u in rule_addrs.unknowns if u.bound.overlaps(bound))
        return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class CompiledNsg:
    """An NSG with its rules sorted by priority and their addresses resolved against a context."""

    nsg: Nsg
    context: NetworkContext
    inbound: tuple[_Compiled, ...]
    outbound: tuple[_Compiled, ...]
    # Rules of one direction that can match a protocol / port combination, filled on first use.
    _by_ports: dict[tuple[Any, ...], tuple[_Compiled, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def candidates(self, direction: str, box: Box) -> tuple[_Compiled, ...]:
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
                if r.protocol.overlaps(proto)
                and r.destination_ports.overlaps(dport)
                and r.source_ports.overlaps(sport)
            )
            self._by_ports[key] = found
        return found


def compile_nsg(nsg: Nsg | Mapping[str, Any], context: NetworkContext) -> CompiledNsg:
    parsed = nsg if isinstance(nsg, Nsg) else parse_nsg(nsg)
    compiled: list[_Compiled] = []
    for r in parsed.rules:
        where = f"{r.ref}"
        try:
            compiled.append(
                _Compiled(
                    r.ref,
                    _proto_set(r.protocol),
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


def _ports_split(rule: Intervals, value: Intervals) -> tuple[Any, Any, Any]:
    inside, out = rule.split(value)
    return inside, None, out


def _match(rule: _Compiled, box: Box) -> BoxSplit | None:
    proto, src, sport, dst, dport = box
    p = _ports_split(rule.protocol, proto)
    if p[0] is None:
        return None
    dp = _ports_split(rule.destination_ports, dport)
    if dp[0] is None:
        return None
    sp = _ports_split(rule.source_ports, sport)
    if sp[0] is None:
        return None
    s = rule.source.split(src)
    if s[0] is None and s[1] is None:
        return None
    d = rule.destination.split(dst)
    if d[0] is None and d[1] is None:
        return None
    return split_box(box, (p, s, sp, d, dp))


@dataclass(frozen=True)
class NsgDecision:
    """One part of the flow and who decided it."""

    part: str  # "" when it is the whole flow
    rule: NsgRuleRef
    certain: bool
    # Rules before the decider whose match could not be resolved for this part, with the reason.
    unresolved: tuple[tuple[NsgRuleRef, tuple[str, ...]], ...]


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


def _access(rule: _Compiled | None) -> Verdict | None:
    if rule is None:
        return None
    return Verdict.ALLOW if rule.ref.access == "Allow" else Verdict.DENY


def _describe_part(box: Box, whole: Box) -> str:
    names = ("protocol", "source", "source port", "destination", "destination port")
    out = []
    for name, v, w in zip(names, box, whole):
        if v == w:
            continue
        if name == "protocol":
            out.append("protocol " + ",".join(PROTOCOLS[i] for lo, hi in v.spans for i in range(lo, hi + 1)))
        elif name.endswith("port"):
            out.append(f"{name} {_describe_ports(v)}")
        else:
            out.append(f"{name} {addr.describe(v) if isinstance(v, Intervals) else v}")
    return ", ".join(out)


def _flow_box(flow: NsgFlow, ctx: NetworkContext) -> Box:
    src: Endpoint = addr.resolve_endpoint(flow.source, ctx, "flow source")
    dst: Endpoint = addr.resolve_endpoint(flow.destination, ctx, "flow destination")
    return (
        _proto_set(flow.protocol),
        src,
        _port_arg(flow.source_port),
        dst,
        _port_arg(flow.destination_port),
    )


def evaluate(nsg: CompiledNsg, flow: NsgFlow) -> NsgResult:
    """Decide ``flow`` against one NSG. Raises ValueError for a malformed flow."""
    try:
        direction = _canon(flow.direction, DIRECTIONS, "flow direction")
    except ResourceFormatError as e:
        raise ValueError(str(e)) from None
    box = _flow_box(flow, nsg.context)
    outcomes, pooled = first_match(nsg.candidates(direction, box), box, _match)
    if any(o.rule is None for o in outcomes):
        # Only possible when a document's own defaultSecurityRules lack the deny-all rule.
        raise ResourceFormatError(
            f"network security group {nsg.nsg.name}: no rule matches {flow}; its defaultSecurityRules are incomplete"
        )
    c = conclude(outcomes, _access)
    decisions = tuple(_decision(o, box) for o in outcomes)
    lead = c.lead.rule
    assert lead is not None
    evidence = _evidence(c.verdict, decisions, c.partial, nsg)
    if pooled:
        evidence += f" ({POOLED_NOTE})"
    return NsgResult(flow, c.verdict, lead.ref, evidence, c.partial, decisions, nsg.nsg.name)


def _decision(o: Outcome[_Compiled], whole: Box) -> NsgDecision:
    assert o.rule is not None
    certain = all(_access(m) == _access(o.rule) for m in o.maybe)
    unresolved = tuple((m.ref, m.reasons_for(o.box)) for m in o.maybe)
    return NsgDecision(_describe_part(o.box, whole), o.rule.ref, certain, unresolved)


def _evidence(verdict: Verdict, decisions: Sequence[NsgDecision], partial: bool, nsg: CompiledNsg) -> str:
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
        out.append(
            NsgDecision(part, ref, all(d.certain for d in ds), tuple(u for d in ds for u in d.unresolved))
        )
    return out


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
