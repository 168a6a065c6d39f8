"""Azure Firewall Policy evaluation for the build's egress.

Processing order, as Azure Firewall applies it to outbound traffic:

1. network rules, then application rules: *every* network rule of every group is tried before the
   first application rule;
2. within each kind, a parent policy's (``basePolicy``) rules come before the policy's own;
3. within a policy, rule collection groups by priority, and collections by priority within a group;
4. the first matching rule decides (a collection's rules share its action); nothing matching means deny.

DNAT collections only translate inbound traffic to the firewall's public addresses, so they play no
part in egress and are skipped.

Application rules match HTTP/HTTPS/MSSQL traffic by name (TLS SNI / Host header) and
protocol:port; ``targetFqdns`` follow :mod:`aks_jumpbox.preflight.fqdn`. FQDN tags and web categories
are lists Microsoft maintains and does not publish in a machine-readable form: they count as
*unknown* unless the caller supplies a table (``FirewallContext.fqdn_tags``). IP groups resolve through
``FirewallContext.ip_groups``. A name is assumed to resolve to public addresses unless the flow lists
the addresses it resolves to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from aks_jumpbox.preflight import addresses as addr
from aks_jumpbox.preflight._arm import ResourceFormatError, id_list, id_of, name_of, props
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
from aks_jumpbox.preflight.addresses import Endpoint, NetworkContext, RuleAddresses, Unknown
from aks_jumpbox.preflight.fqdn import FqdnSet, Pattern
from aks_jumpbox.preflight.nsg import ALL_PORTS, POOLED_NOTE, parse_ports

__all__ = [
    "KNOWN_FQDN_TAGS",
    "CompiledPolicy",
    "FirewallContext",
    "FirewallFlow",
    "FirewallPolicyDocs",
    "FirewallResult",
    "FirewallRuleRef",
    "Verdict",
    "compile_policy",
    "evaluate",
    "evaluate_policy",
    "ip_groups_from_resources",
    "policy_docs_from_resources",
]

IP_PROTOCOLS = ("TCP", "UDP", "ICMP")
_TCP = Intervals.span(0, 0)
_ALL_IP = Intervals.span(0, len(IP_PROTOCOLS) - 1)
APP_PROTOCOLS = ("Http", "Https", "Mssql")

# FQDN tags Azure Firewall offers (names only: their content is Microsoft's and changes without notice).
KNOWN_FQDN_TAGS = frozenset(
    t.lower()
    for t in (
        "WindowsUpdate",
        "WindowsDiagnostics",
        "MicrosoftActiveProtectionService",
        "AppServiceEnvironment",
        "AzureBackup",
        "AzureHDInsight",
        "WindowsVirtualDesktop",
        "Windows365",
        "MicrosoftIntune",
        "AzureKubernetesService",
        "Office365.Exchange.Optimize",
        "Office365.Exchange.Allow.Required",
        "Office365.SharePoint.Optimize",
        "Office365.Skype.Optimize",
        "Office365.Common.Allow.Required",
    )
)


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
            f"{kind} rule '{self.rule}' in collection '{self.collection}' (priority {self.collection_priority}) "
            f"of group '{self.group}' (priority {self.group_priority}) in policy {self.policy}{inh}"
        )


@dataclass(frozen=True)
class FirewallPolicyDocs:
    """A firewall policy's ARM document, its rule collection groups, and its parent's, if known."""

    policy: Mapping[str, Any]
    groups: tuple[Mapping[str, Any], ...] = ()
    parent: FirewallPolicyDocs | None = None

    @property
    def base_policy_id(self) -> str | None:
        base = props(self.policy, "firewall policy").get("basePolicy")
        return base.get("id") if isinstance(base, dict) and isinstance(base.get("id"), str) else None


def policy_docs_from_resources(resources: Iterable[Mapping[str, Any]], policy_id: str) -> FirewallPolicyDocs:
    """Pick a policy, its groups and its parent chain out of a folder's worth of ARM documents."""
    docs = [r for r in resources if isinstance(r, Mapping)]
    by_id = {id_of(dict(r)).lower(): r for r in docs}
    seen: set[str] = set()

    def build(pid: str) -> FirewallPolicyDocs | None:
        key = pid.lower()
        if key not in by_id or key in seen:
            return None
        seen.add(key)
        prefix = key + "/rulecollectiongroups/"
        groups = tuple(r for r in docs if id_of(dict(r)).lower().startswith(prefix))
        d = FirewallPolicyDocs(by_id[key], groups)
        base = d.base_policy_id
        parent = build(base) if base else None
        return FirewallPolicyDocs(d.policy, groups, parent)

    out = build(policy_id)
    if out is None:
        raise ResourceFormatError(f"firewall policy {policy_id} is not among the resources given")
    return out


def ip_groups_from_resources(resources: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """IP group ID -> addresses, from ``Microsoft.Network/ipGroups`` documents."""
    out: dict[str, tuple[str, ...]] = {}
    for r in resources:
        if str(r.get("type", "")).lower() == "microsoft.network/ipgroups":
            ips = props(r, "IP group").get("ipAddresses") or []
            out[id_of(dict(r))] = tuple(str(x) for x in ips)
    return out


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
class _Rule:
    ref: FirewallRuleRef | None  # None: the stand-in for a parent policy that was not supplied
    protocols: Intervals
    source: RuleAddresses
    ports: Intervals
    dest_addresses: RuleAddresses | None
    patterns: tuple[Pattern, ...]
    app_ports: Mapping[str, Intervals] | None = None  # application rules: protocol -> ports
    unknown_names: tuple[str, ...] = ()  # reasons some names may match (FQDN tags, web categories)
    missing_parent: str = ""

    @property
    def is_app(self) -> bool:
        return self.app_ports is not None


@dataclass(frozen=True)
class CompiledPolicy:
    name: str
    network_rules: tuple[_Rule, ...]
    application_rules: tuple[_Rule, ...]
    notes: tuple[str, ...]
    context: FirewallContext
    # Candidate lists per (protocol, port, app protocol): filled on first use.
    _by_ports: dict[tuple[Any, ...], tuple[int, ...]] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def rules(self) -> tuple[_Rule, ...]:
        """Every rule in processing order: all network rules, then all application rules."""
        return (*self.network_rules, *self.application_rules)

    @cached_property
    def _names(self) -> _NameIndex:
        return _NameIndex.build(self.rules)

    def candidates(self, box: Box, app_protocol: str | None) -> tuple[_Rule, ...]:
        """The rules that can match ``box`` at all, in processing order.

        A policy of thousands of rules mostly holds rules for other ports and other names; skipping
        them up front (by protocol and port, then by name) leaves the evaluation exact and fast.
        """
        _, proto, port, dest = box
        key = (proto.spans, port.spans, app_protocol)
        ids = self._by_ports.get(key)
        if ids is None:
            ids = tuple(i for i, r in enumerate(self.rules) if _may_match_ports(r, proto, port, app_protocol))
            self._by_ports[key] = ids
        if isinstance(dest, NamedDest):
            by_name = self._names.candidates(dest.names)
            ids = tuple(i for i in ids if not self.rules[i].is_app or i in by_name)
        return tuple(self.rules[i] for i in ids)


def _may_match_ports(rule: _Rule, proto: Intervals, port: Intervals, app_protocol: str | None) -> bool:
    if rule.missing_parent:
        return True
    if rule.is_app:
        assert rule.app_ports is not None
        ports = rule.app_ports.get(app_protocol) if app_protocol else None
        return ports is not None and ports.overlaps(port) and rule.protocols.overlaps(proto)
    return rule.ports.overlaps(port) and rule.protocols.overlaps(proto)


@dataclass(frozen=True)
class _NameIndex:
    """Application rules by the names they target; ``always``: rules that may match any name."""

    exact: dict[str, list[int]]
    wild: dict[str, list[int]]  # "*.contoso.com" is filed under ".contoso.com"
    always: frozenset[int]

    @staticmethod
    def build(rules: Sequence[_Rule]) -> _NameIndex:
        exact: dict[str, list[int]] = {}
        wild: dict[str, list[int]] = {}
        always: set[int] = set()
        for i, r in enumerate(rules):
            if not r.is_app:
                continue
            if r.unknown_names or r.dest_addresses is not None:
                always.add(i)
            for p in r.patterns:
                if p.wildcard and not p.suffix:
                    always.add(i)
                else:
                    (wild if p.wildcard else exact).setdefault(p.suffix, []).append(i)
        return _NameIndex(exact, wild, frozenset(always))

    def candidates(self, names: FqdnSet) -> set[int]:
        out = set(self.always)
        for piece in names.pieces:
            s = piece.pattern.suffix
            if not piece.pattern.wildcard:
                out.update(self.exact.get(s, ()))
                for k in range(len(s) + 1):  # wildcard rules whose suffix ends the name
                    out.update(self.wild.get(s[k:], ()))
            else:  # nested patterns either way round
                for name, ids in self.exact.items():
                    if name.endswith(s):
                        out.update(ids)
                for t, ids in self.wild.items():
                    if t.endswith(s) or s.endswith(t):
                        out.update(ids)
        return out


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ResourceFormatError(f"{where}: expected an integer, got {value!r}")
    return value


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ResourceFormatError(f"{where}: expected a list of strings, got {value!r}")
    return tuple(value)


def _rule_addresses(
    items: Sequence[str], groups: Sequence[str], ctx: FirewallContext, where: str
) -> RuleAddresses:
    try:
        base = addr.compile_addresses(items, (), ctx.network, where)
    except ValueError as e:
        raise ResourceFormatError(str(e)) from None
    if not groups:
        return base
    concrete = base.concrete
    unknowns = list(base.unknowns)
    for g in groups:
        members = ctx.ip_group(g)
        if members is not None:
            concrete = concrete | members
        else:
            short = g.rstrip("/").rsplit("/", 1)[-1]
            unknowns.append(Unknown(f"the addresses of IP group {short} are not known", addr.ALL))
    return RuleAddresses(concrete, tuple(unknowns), base.tags, base.any)


def _patterns(items: Iterable[str], where: str) -> tuple[Pattern, ...]:
    try:
        return tuple(Pattern.parse(x) for x in items)
    except ValueError as e:
        raise ResourceFormatError(f"{where}: {e}") from None


def _compile_rule(doc: Any, ref: FirewallRuleRef, ctx: FirewallContext, where: str) -> _Rule:
    p = props(doc, where)
    src = _rule_addresses(
        _strs(p.get("sourceAddresses"), f"{where}: sourceAddresses"),
        id_list(p.get("sourceIpGroups"), f"{where}: sourceIpGroups"),
        ctx,
        f"{where}: source",
    )
    if not src.any and not src.concrete and not src.unknowns:
        raise ResourceFormatError(f"{where}: has neither sourceAddresses nor sourceIpGroups")
    dst_items = _strs(p.get("destinationAddresses"), f"{where}: destinationAddresses")
    dst_groups = id_list(p.get("destinationIpGroups"), f"{where}: destinationIpGroups")
    dst = (
        _rule_addresses(dst_items, dst_groups, ctx, f"{where}: destination")
        if dst_items or dst_groups
        else None
    )
    if ref.rule_type == "NetworkRule":
        protos = Intervals()
        for proto in _strs(p.get("ipProtocols"), f"{where}: ipProtocols"):
            if proto.lower() == "any":
                protos = _ALL_IP
            elif proto.upper() in IP_PROTOCOLS:
                i = IP_PROTOCOLS.index(proto.upper())
                protos = protos | Intervals.span(i, i)
            else:
                raise ResourceFormatError(f"{where}: ipProtocols: {proto!r} is not TCP, UDP, ICMP or Any")
        try:
            ports = parse_ports(_strs(p.get("destinationPorts"), f"{where}: destinationPorts") or ("*",))
        except ValueError as e:
            raise ResourceFormatError(f"{where}: destinationPorts: {e}") from None
        fqdns = _patterns(
            _strs(p.get("destinationFqdns"), f"{where}: destinationFqdns"), f"{where}: destinationFqdns"
        )
        return _Rule(ref, protos, src, ports, dst, fqdns)
    app_ports: dict[str, Intervals] = {}
    for i, entry in enumerate(p.get("protocols") or []):
        w = f"{where}: protocols[{i}]"
        if not isinstance(entry, dict):
            raise ResourceFormatError(f"{w}: expected {{protocolType, port}}")
        ptype = entry.get("protocolType")
        canon = next(
            (a for a in APP_PROTOCOLS if isinstance(ptype, str) and a.lower() == ptype.lower()), None
        )
        if canon is None:
            raise ResourceFormatError(f"{w}: protocolType: expected Http, Https or Mssql, got {ptype!r}")
        port = entry.get("port", {"Http": 80, "Https": 443, "Mssql": 1433}[canon])
        port = _int(port, f"{w}: port")
        if not 0 < port <= 65535:
            raise ResourceFormatError(f"{w}: port: {port} is not within 1-65535")
        app_ports[canon] = app_ports.get(canon, Intervals()) | Intervals.span(port, port)
    patterns = list(_patterns(_strs(p.get("targetFqdns"), f"{where}: targetFqdns"), f"{where}: targetFqdns"))
    unknown: list[str] = []
    for tag in _strs(p.get("fqdnTags"), f"{where}: fqdnTags"):
        table = ctx.fqdn_tag(tag)
        if table is not None:
            patterns.extend(table)
        elif tag.lower() in KNOWN_FQDN_TAGS:
            unknown.append(f"FQDN tag {tag} is maintained by Microsoft and its content was not supplied")
        else:
            unknown.append(f"{tag} is not an FQDN tag aks-jumpbox knows, and its content was not supplied")
    cats = _strs(p.get("webCategories"), f"{where}: webCategories")
    if cats:
        unknown.append(f"web categories {', '.join(cats)} are classified by Azure at connection time")
    urls = _strs(p.get("targetUrls"), f"{where}: targetUrls")
    if urls:
        unknown.append(
            f"target URLs {', '.join(urls)} match on URL paths, which a name-level check cannot see"
        )
    return _Rule(ref, _TCP, src, ALL_PORTS, dst, tuple(patterns), app_ports, tuple(unknown))


def _levels(docs: FirewallPolicyDocs) -> list[tuple[FirewallPolicyDocs, str]]:
    """Root-most policy first; a referenced parent that was not supplied appears as (docs, its id)."""
    chain: list[tuple[FirewallPolicyDocs, str]] = []
    cur: FirewallPolicyDocs | None = docs
    seen: set[int] = set()
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        base = cur.base_policy_id
        missing = base if base and cur.parent is None else ""
        chain.append((cur, missing))
        cur = cur.parent
    return list(reversed(chain))


def compile_policy(docs: FirewallPolicyDocs, context: FirewallContext | None = None) -> CompiledPolicy:
    ctx = context or FirewallContext()
    levels = _levels(docs)
    network: list[_Rule] = []
    application: list[_Rule] = []
    notes: list[str] = []
    top_name = name_of(dict(docs.policy))
    for level_docs, missing_parent in levels:
        pol_name = name_of(dict(level_docs.policy))
        inherited = level_docs is not docs
        if missing_parent:
            gap = _Rule(
                None,
                _ALL_IP,
                RuleAddresses(Intervals(), (), frozenset(), True),
                ALL_PORTS,
                None,
                (),
                missing_parent=missing_parent,
            )
            network.append(gap)
            application.append(gap)
            notes.append(
                f"policy {pol_name} inherits from {missing_parent}, which was not supplied: its rules come first"
            )
        pprops = props(level_docs.policy, f"firewall policy {pol_name}")
        if str(pprops.get("threatIntelMode", "")).lower() == "deny":
            notes.append(
                f"policy {pol_name}: threat intelligence in Deny mode may block addresses flagged as malicious"
            )
        groups = []
        for g in level_docs.groups:
            gname = name_of(dict(g))
            gp = props(g, f"rule collection group {gname}")
            groups.append((_int(gp.get("priority"), f"rule collection group {gname}: priority"), gname, gp))
        for gprio, gname, gp in sorted(groups, key=lambda t: (t[0], t[1])):
            colls = []
            for i, c in enumerate(gp.get("ruleCollections") or []):
                w = f"rule collection group {gname}: ruleCollections[{i}]"
                if not isinstance(c, dict):
                    raise ResourceFormatError(f"{w}: expected an object")
                colls.append((_int(c.get("priority"), f"{w}: priority"), str(c.get("name", f"#{i}")), c, w))
            for cprio, cname, c, w in sorted(colls, key=lambda t: (t[0], t[1])):
                ctype = str(c.get("ruleCollectionType", ""))
                if ctype == "FirewallPolicyNatRuleCollection":
                    continue  # DNAT: inbound only
                if ctype != "FirewallPolicyFilterRuleCollection":
                    raise ResourceFormatError(
                        f"{w}: ruleCollectionType {ctype!r} is not a filter or NAT collection"
                    )
                action = c.get("action")
                atype = action.get("type") if isinstance(action, dict) else action
                canon = next(
                    (a for a in ("Allow", "Deny") if isinstance(atype, str) and a.lower() == atype.lower()),
                    None,
                )
                if canon is None:
                    raise ResourceFormatError(f"{w}: action.type: expected Allow or Deny, got {atype!r}")
                for j, r in enumerate(c.get("rules") or []):
                    rw = f"{w} '{cname}': rules[{j}]"
                    if not isinstance(r, dict):
                        raise ResourceFormatError(f"{rw}: expected an object")
                    rtype = r.get("ruleType")
                    if rtype not in ("NetworkRule", "ApplicationRule"):
                        raise ResourceFormatError(
                            f"{rw}: ruleType: expected NetworkRule or ApplicationRule, got {rtype!r}"
                        )
                    ref = FirewallRuleRef(
                        pol_name, gname, gprio, cname, cprio, name_of(r), rtype, canon, inherited
                    )
                    compiled = _compile_rule(r, ref, ctx, f"{rw} '{name_of(r)}'")
                    (network if rtype == "NetworkRule" else application).append(compiled)
    return CompiledPolicy(top_name, tuple(network), tuple(application), tuple(dict.fromkeys(notes)), ctx)


def _split_intervals(rule: Intervals, value: Intervals) -> tuple[Any, Any, Any]:
    inside, out = rule.split(value)
    return inside, None, out


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


def _dest_split(rule: _Rule, dest: Any) -> tuple[Any, Any, Any]:
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


def _match(app_protocol: str | None) -> Callable[[_Rule, Box], BoxSplit | None]:
    """The matcher for flows of ``app_protocol`` (None: plain network traffic)."""

    def match(rule: _Rule, box: Box) -> BoxSplit | None:
        src, proto, port, dest = box
        if rule.missing_parent:
            return split_box(
                box, ((None, src, None), (None, proto, None), (None, port, None), (None, dest, None))
            )
        if rule.is_app:
            assert rule.app_ports is not None
            if app_protocol is None or app_protocol not in rule.app_ports:
                return None
            ports = _split_intervals(rule.app_ports[app_protocol], port)
        else:
            ports = _split_intervals(rule.ports, port)
        if ports[0] is None:
            return None
        pr = _split_intervals(rule.protocols, proto)
        if pr[0] is None:
            return None
        s = rule.source.split(src)
        if s[0] is None and s[1] is None:
            return None
        d = _dest_split(rule, dest)
        if d[0] is None and d[1] is None:
            return None
        return split_box(box, (s, pr, ports, d))

    return match


@dataclass(frozen=True)
class FirewallDecision:
    part: str
    rule: FirewallRuleRef | None  # None: default deny
    certain: bool
    unresolved: tuple[str, ...]  # why earlier rules might have decided this part instead


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


def _access(rule: _Rule | None) -> Verdict | None:
    if rule is None:
        return Verdict.DENY  # Azure Firewall's default
    if rule.ref is None:
        return None  # a parent policy nobody supplied could do anything
    return Verdict.ALLOW if rule.ref.action == "Allow" else Verdict.DENY


def _flow_box(flow: FirewallFlow, ctx: FirewallContext) -> Box:
    if (flow.fqdn is None) == (flow.destination is None):
        raise ValueError(f"firewall flow {flow}: give exactly one of fqdn and destination")
    if flow.protocol.upper() not in IP_PROTOCOLS:
        raise ValueError(f"firewall flow {flow}: protocol must be TCP, UDP or ICMP")
    if flow.app_protocol is not None and flow.app_protocol not in APP_PROTOCOLS:
        raise ValueError(
            f"firewall flow {flow}: app_protocol must be one of {', '.join(APP_PROTOCOLS)} or None"
        )
    src = addr.resolve_endpoint(flow.source, ctx.network, "firewall flow source")
    if not isinstance(src, Intervals):
        raise ValueError(f"firewall flow {flow}: the source must be an address or prefix")  # noqa: TRY004
    i = IP_PROTOCOLS.index(flow.protocol.upper())
    port = parse_ports(str(flow.port).split(","))
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


def _describe(box: Box, whole: Box) -> str:
    out = []
    if box[0] != whole[0]:
        out.append(f"source {addr.describe(box[0])}")
    if box[2] != whole[2]:
        out.append("port " + ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in box[2].spans))
    if box[3] != whole[3]:
        out.append(f"names {box[3]}" if isinstance(box[3], NamedDest) else f"destination {box[3]}")
    return ", ".join(out)


def _reasons(rule: _Rule) -> tuple[str, ...]:
    if rule.missing_parent:
        return (f"the parent policy {rule.missing_parent.rsplit('/', 1)[-1]} was not supplied",)
    out = [
        u.reason
        for u in (*rule.source.unknowns, *(rule.dest_addresses.unknowns if rule.dest_addresses else ()))
    ]
    out.extend(rule.unknown_names)
    if not out:
        out.append("it is not known which addresses the name resolves to")
    return tuple(dict.fromkeys(out))


def _ref_text(rule: _Rule) -> str:
    return (
        str(rule.ref) if rule.ref else f"the rules of parent policy {rule.missing_parent.rsplit('/', 1)[-1]}"
    )


def evaluate(policy: CompiledPolicy, flow: FirewallFlow) -> FirewallResult:
    box = _flow_box(flow, policy.context)
    outcomes, pooled = first_match(policy.candidates(box, flow.app_protocol), box, _match(flow.app_protocol))
    c = conclude(outcomes, _access)
    decisions = tuple(_decision(o, box) for o in outcomes)
    lead = c.lead.rule.ref if c.lead.rule is not None else None
    evidence = _evidence(c.verdict, c.partial, decisions, policy)
    if pooled:
        evidence += f" ({POOLED_NOTE})"
    return FirewallResult(flow, c.verdict, lead, evidence, c.partial, decisions, policy.notes, policy.name)


def _decision(o: Outcome[_Rule], whole: Box) -> FirewallDecision:
    decided = _access(o.rule)
    certain = decided is not None and all(_access(m) == decided for m in o.maybe)
    unresolved = tuple(f"{_ref_text(m)} ({'; '.join(_reasons(m))})" for m in o.maybe if _access(m) != decided)
    return FirewallDecision(_describe(o.box, whole), o.rule.ref if o.rule else None, certain, unresolved)


def _evidence(
    verdict: Verdict,
    partial: bool,
    decisions: Sequence[FirewallDecision],
    policy: CompiledPolicy,
) -> str:
    def one(d: FirewallDecision) -> str:
        where = f"{d.part}: " if d.part else ""
        if d.rule is None:
            return f"{where}no rule of policy {policy.name} matches, so Azure Firewall denies it by default"
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


def evaluate_policy(
    docs: FirewallPolicyDocs, flow: FirewallFlow, context: FirewallContext | None = None
) -> FirewallResult:
    """One-shot: compile and evaluate (compile once with :func:`compile_policy` for many flows)."""
    return evaluate(compile_policy(docs, context), flow)
