"""A policy's ARM documents as rules in Azure Firewall's processing order.

Processing order, as Azure Firewall applies it to outbound traffic: every network rule before the first
application rule; within each kind a parent policy's rules before its child's; within a policy, rule
collection groups by priority and collections by priority within a group. DNAT collections only
translate inbound traffic, so they are skipped.
https://learn.microsoft.com/azure/firewall/rule-processing
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from aks_jumpbox.preflight import addresses as addr
from aks_jumpbox.preflight._arm import ResourceFormatError, id_list, name_of, props
from aks_jumpbox.preflight._intervals import ALL_PORTS, Intervals, parse_ports
from aks_jumpbox.preflight.addresses import RuleAddresses, Unknown
from aks_jumpbox.preflight.firewall.discovery import FirewallPolicyDocs
from aks_jumpbox.preflight.firewall.index import CompiledPolicy
from aks_jumpbox.preflight.firewall.model import (
    ALL_IP,
    APP_PROTOCOLS,
    IP_PROTOCOLS,
    TCP,
    FirewallContext,
    FirewallRuleRef,
    Rule,
)
from aks_jumpbox.preflight.fqdn import Pattern

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


def _rule_addresses(items: Sequence[str], groups: Sequence[str], ctx: FirewallContext, where: str) -> RuleAddresses:
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


def _compile_rule(doc: Any, ref: FirewallRuleRef, ctx: FirewallContext, where: str) -> Rule:
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
    dst = _rule_addresses(dst_items, dst_groups, ctx, f"{where}: destination") if dst_items or dst_groups else None
    if ref.rule_type == "NetworkRule":
        protos = Intervals()
        for proto in _strs(p.get("ipProtocols"), f"{where}: ipProtocols"):
            if proto.lower() == "any":
                protos = ALL_IP
            elif proto.upper() in IP_PROTOCOLS:
                i = IP_PROTOCOLS.index(proto.upper())
                protos = protos | Intervals.span(i, i)
            else:
                raise ResourceFormatError(f"{where}: ipProtocols: {proto!r} is not TCP, UDP, ICMP or Any")
        try:
            ports = parse_ports(_strs(p.get("destinationPorts"), f"{where}: destinationPorts") or ("*",))
        except ValueError as e:
            raise ResourceFormatError(f"{where}: destinationPorts: {e}") from None
        fqdns = _patterns(_strs(p.get("destinationFqdns"), f"{where}: destinationFqdns"), f"{where}: destinationFqdns")
        # "By design, FQDN filtering in network rules doesn't support wildcards"
        # (https://learn.microsoft.com/azure/firewall/fqdn-filtering-network-rules): the firewall resolves
        # each listed name in DNS, and "*.x" names no host, so such an entry matches no traffic.
        exact = tuple(f for f in fqdns if not f.wildcard)
        wild = tuple(f for f in fqdns if f.wildcard)
        return Rule(ref, protos, src, ports, dst, exact, unmatched_wildcards=wild)
    app_ports: dict[str, Intervals] = {}
    for i, entry in enumerate(p.get("protocols") or []):
        w = f"{where}: protocols[{i}]"
        if not isinstance(entry, dict):
            raise ResourceFormatError(f"{w}: expected {{protocolType, port}}")
        ptype = entry.get("protocolType")
        canon = next((a for a in APP_PROTOCOLS if isinstance(ptype, str) and a.lower() == ptype.lower()), None)
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
        unknown.append(f"target URLs {', '.join(urls)} match on URL paths, which a name-level check cannot see")
    return Rule(ref, TCP, src, ALL_PORTS, dst, tuple(patterns), app_ports, tuple(unknown))


def compile_policy(docs: FirewallPolicyDocs, context: FirewallContext | None = None) -> CompiledPolicy:
    ctx = context or FirewallContext()
    network: list[Rule] = []
    application: list[Rule] = []
    notes: list[str] = []
    top_name = name_of(dict(docs.policy))
    for level_docs in docs.chain:  # root-most policy first, as discovery put the chain together
        pol_name = name_of(dict(level_docs.policy))
        inherited = level_docs is not docs
        missing_parent = level_docs.missing_parent
        if missing_parent:
            gap = Rule(
                None,
                ALL_IP,
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
                    raise ResourceFormatError(f"{w}: ruleCollectionType {ctype!r} is not a filter or NAT collection")
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
                    ref = FirewallRuleRef(pol_name, gname, gprio, cname, cprio, name_of(r), rtype, canon, inherited)
                    compiled = _compile_rule(r, ref, ctx, f"{rw} '{name_of(r)}'")
                    (network if rtype == "NetworkRule" else application).append(compiled)
    return CompiledPolicy(top_name, tuple(network), tuple(application), tuple(dict.fromkeys(notes)), ctx)
