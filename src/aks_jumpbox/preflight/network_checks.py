"""The build's network, checked against the plan's network contract.

The flows and the egress allow-list are the plan's own (:func:`aks_jumpbox.core.network.network_contract`),
computed again with the subnets' real address prefixes so that rules naming those prefixes match.
Each flow is evaluated on the NSG of the subnet it names (ACI -> build VM SSH is two flows: the
container subnet's outbound side and the build subnet's inbound side). Every egress FQDN is evaluated
on the Azure Firewall the subnet's default route leads to, when it does.
"""

from __future__ import annotations

import ipaddress
import shlex
from dataclasses import replace
from typing import Any

from aks_jumpbox.core.catalog import url_host
from aks_jumpbox.core.network import Basis, EgressRule, Flow, NetworkContract, network_contract
from aks_jumpbox.core.resource_ids import SubnetId
from aks_jumpbox.preflight import firewall, nsg, route
from aks_jumpbox.preflight import subnet as sn
from aks_jumpbox.preflight._arm import ResourceFormatError, id_list, id_of, name_of, props
from aks_jumpbox.preflight.addresses import NetworkContext
from aks_jumpbox.preflight.context import CheckContext, skipped, split_id
from aks_jumpbox.preflight.findings import Finding, Status
from aks_jumpbox.preflight.firewall import Verdict
from aks_jumpbox.preflight.source import Doc, Unavailable

_VERB = {Verdict.ALLOW: "allowed", Verdict.DENY: "denied", Verdict.UNKNOWN: "not certainly allowed"}
_STATUS = {Verdict.ALLOW: Status.PASS, Verdict.DENY: Status.FAIL, Verdict.UNKNOWN: Status.WARN}


def _status(verdict: Verdict, basis: Basis) -> Status:
    """A blocked row fails only when it is required (documented or derived from the lock); a blocked
    inferred row is a warning."""
    if verdict is Verdict.DENY and not basis.required:
        return Status.WARN
    return _STATUS[verdict]


def _because(verdict: Verdict, basis: Basis) -> str:
    if verdict is Verdict.ALLOW:
        return f" [{basis.level}; {basis.kind}]"
    if basis.required:
        return f" [required: {basis.describe()}]"
    return f" [advisory, so only a warning: {basis.describe()}]"


def _first_v4(info: sn.SubnetInfo) -> str | None:
    for p in info.prefixes:
        net = ipaddress.ip_network(p, strict=False)
        if net.version == 4:
            return str(net)
    return None


class _Net:
    """The subnets and VNet(s) of this build, read once."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.vnets: dict[str, Doc | None] = {}

    def vnet(self, sid: SubnetId) -> Doc | None:
        key = sid.vnet_id.lower()
        if key not in self.vnets:
            self.vnets[key] = self.ctx.src.resource(sid.vnet_id)
        return self.vnets[key]

    def subnet(self, sid: SubnetId) -> Doc | None:
        vnet = self.vnet(sid)
        if vnet is None:
            return None
        for s in props(vnet).get("subnets") or []:
            if isinstance(s, dict) and name_of(s).lower() == sid.subnet.lower():
                return s if s.get("id") else {**s, "id": str(sid)}
        return self.ctx.src.resource(str(sid))


def _subnet_findings(
    ctx: CheckContext, role: str, sid: SubnetId, net: _Net
) -> tuple[list[Finding], sn.SubnetInfo | None]:
    label = "build subnet" if role == "build" else "container instance subnet"
    try:
        vnet = net.vnet(sid)
        doc = net.subnet(sid) if vnet is not None else None
    except Unavailable as exc:
        return [skipped(f"subnet.{role}", f"the {label} {sid.subnet}", exc)], None
    if vnet is None:
        return [
            Finding(
                f"subnet.{role}.exists",
                Status.FAIL,
                f"virtual network {sid.vnet} of the {label} does not exist",
                f"GET {sid.vnet_id}: not found",
                f"Set build.{'subnet_id' if role == 'build' else 'container_instance_subnet_id'} in jumpbox.yaml "
                "to a subnet that exists",
            )
        ], None
    if doc is None:
        return [
            Finding(
                f"subnet.{role}.exists",
                Status.FAIL,
                f"the {label} {sid.subnet} does not exist in VNet {sid.vnet}",
                f"VNet {sid.vnet} has subnets: "
                + (", ".join(name_of(s) for s in props(vnet).get("subnets") or [] if isinstance(s, dict)) or "none"),
                f"az network vnet subnet create --subscription {sid.subscription} -g {shlex.quote(sid.resource_group)} "
                f"--vnet-name {shlex.quote(sid.vnet)} -n {shlex.quote(sid.subnet)} --address-prefixes <prefix>",
            )
        ], None
    info = sn.subnet_info(doc)
    spec_prefix = (
        ctx.spec.build.subnet_address_prefix
        if role == "build"
        else ctx.spec.build.container_instance_subnet_address_prefix
    )
    out: list[Finding] = []
    if spec_prefix:
        field = "subnet_address_prefix" if role == "build" else "container_instance_subnet_address_prefix"
        same = any(
            ipaddress.ip_network(p, strict=False) == ipaddress.ip_network(spec_prefix, strict=False)
            for p in info.prefixes
        )
        out.append(
            Finding(
                f"subnet.{role}.prefix",
                Status.PASS if same else Status.WARN,
                f"build.{field} {spec_prefix} {'matches' if same else 'differs from'} subnet {sid.subnet}"
                + (
                    ""
                    if same
                    else ": the rules `plan` renders name the spec's prefix; the checks here use the subnet's"
                ),
                f"subnet {sid.subnet}: {', '.join(info.prefixes)}",
                None if same else f"Set build.{field}: {_first_v4(info) or info.prefixes[0]} in jumpbox.yaml",
            )
        )
    sub = sn.check_subscription(info, ctx.subscription)
    out.append(replace(sub, id=f"subnet.{role}.subscription"))
    return out, info


def _nsg_fix(compiled: nsg.CompiledNsg, flow: Flow, result: nsg.NsgResult) -> str:
    before = [result.rule.priority] if result.rule else []
    before += [ref.priority for d in result.decisions for ref, _ in d.unresolved]
    before += [d.rule.priority for d in result.decisions if d.rule.access == "Deny"]
    limit = min(before or [4097])
    used = {r.ref.priority for r in compiled.nsg.rules if r.ref.direction == flow.direction and not r.ref.default}
    prio = next((p for p in range(min(limit - 1, 4096), 99, -1) if p not in used), None)
    sub, rg, name = split_id(compiled.nsg.id)
    q = shlex.quote
    sub = q(sub)  # a fix is pasted into a shell; every part of an ID from a document is quoted
    cmd = (
        f"az network nsg rule create --subscription {sub} -g {q(rg)} --nsg-name {q(name)} -n aks-jumpbox-{flow.id} "
        f"--priority {prio if prio is not None else '<free priority>'} --direction {flow.direction} --access Allow "
        f"--protocol {flow.protocol} --source-address-prefixes {q(flow.source)} "
        f"--destination-address-prefixes {q(flow.destination)} --destination-port-ranges {flow.ports}"
    )
    if prio is None:
        return f"No priority below {limit} is free in {name}: renumber its rules, then {cmd}"
    return cmd


def _flow_findings(
    ctx: CheckContext, contract: NetworkContract, infos: dict[str, sn.SubnetInfo | None], net_ctx: NetworkContext
) -> list[Finding]:
    out: list[Finding] = []
    compiled: dict[str, nsg.CompiledNsg | None] = {}
    evaluated: list[str] = []
    for flow in contract.flows:
        fid = f"nsg.{flow.id}"
        info = infos.get(flow.subnet)
        if info is None:
            continue  # the subnet's own finding says why
        nflow = nsg.NsgFlow(flow.direction, flow.protocol, flow.source, flow.destination, flow.ports)
        what = f"{flow.purpose} ({nflow})"
        if info.nsg_id is None:
            out.append(
                Finding(
                    fid,
                    Status.PASS,
                    f"{what}: subnet {info.name} has no NSG, so nothing filters it there",
                    f"subnet {info.name}: networkSecurityGroup: (none)",
                )
            )
            continue
        key = info.nsg_id.lower()
        try:
            if key not in compiled:
                doc = ctx.src.resource(info.nsg_id)
                compiled[key] = nsg.compile_nsg(doc, net_ctx) if doc is not None else None
        except Unavailable as exc:
            out.append(skipped(fid, what, exc))
            continue
        c = compiled[key]
        if c is None:
            out.append(
                Finding(
                    fid,
                    Status.FAIL,
                    f"{what}: subnet {info.name} names an NSG that does not exist",
                    f"networkSecurityGroup: {info.nsg_id}",
                    info.az_update("--network-security-group <nsg>"),
                )
            )
            continue
        r = nsg.evaluate(c, nflow)
        if c.nsg.name not in evaluated:
            evaluated.append(c.nsg.name)
        out.append(
            Finding(
                fid,
                _status(r.verdict, flow.basis),
                f"{what}: {_VERB[r.verdict]} by NSG {c.nsg.name} of subnet {info.name}"
                f"{_because(r.verdict, flow.basis)}",
                r.evidence,
                None if r.verdict is Verdict.ALLOW else _nsg_fix(c, flow, r),
            )
        )
    if evaluated:
        ctx.note(nsg.nic_nsg_note("inbound", evaluated))
    return out


# ---- egress through Azure Firewall


def _firewall_ips(fw: Doc) -> list[str]:
    p = props(fw)
    ips = []
    for ipc in p.get("ipConfigurations") or []:
        ip = props(ipc).get("privateIPAddress") if isinstance(ipc, dict) else None
        if isinstance(ip, str):
            ips.append(ip)
    hub = (p.get("hubIPAddresses") or {}).get("privateIPAddress")
    if isinstance(hub, str):
        ips.append(hub)
    return ips


def _classic_policy(fw: Doc) -> list[Doc]:
    """A firewall's classic (non-policy) rules as a policy of one rule collection group."""
    p = props(fw)
    pid = f"{id_of(fw)}/classicRules"
    collections: list[dict[str, Any]] = []
    for key, rtype in (("networkRuleCollections", "NetworkRule"), ("applicationRuleCollections", "ApplicationRule")):
        for c in p.get(key) or []:
            cp = props(c)
            rules = []
            for r in cp.get("rules") or []:
                rule = {k: v for k, v in r.items() if k not in ("protocols",)} if isinstance(r, dict) else {}
                rule["ruleType"] = rtype
                if rtype == "NetworkRule":
                    rule["ipProtocols"] = r.get("protocols") or []
                else:
                    rule["protocols"] = r.get("protocols") or []
                rules.append(rule)
            collections.append(
                {
                    "ruleCollectionType": "FirewallPolicyFilterRuleCollection",
                    "name": name_of(c),
                    "priority": cp.get("priority"),
                    "action": cp.get("action"),
                    "rules": rules,
                }
            )
    return [
        {
            "id": pid,
            "name": f"{name_of(fw)} (classic rules)",
            "type": "Microsoft.Network/firewallPolicies",
            "properties": {},
        },
        {
            "id": f"{pid}/ruleCollectionGroups/classic",
            "name": "classic rules",
            "type": "Microsoft.Network/firewallPolicies/ruleCollectionGroups",
            "properties": {"priority": 100, "ruleCollections": collections},
        },
    ]


def _policy_docs(ctx: CheckContext, policy_id: str) -> tuple[firewall.FirewallPolicyDocs, list[Doc]]:
    """The policy, its groups and its parents (when readable), read as the chain is walked (once);
    and the IP groups their rules name."""

    def read_policy(pid: str) -> Doc | None:
        try:
            return ctx.src.resource(pid)
        except Unavailable:
            if pid == policy_id:
                raise
            return None  # a parent we cannot read: the evaluator reports its rules as unknown

    def read_groups(_pid: str, pol: Any) -> list[Doc]:
        refs = props(pol).get("ruleCollectionGroups") or []
        gids = [g["id"] for g in refs if isinstance(g, dict) and g.get("id")]
        return [g for g in (ctx.src.resource(gid) for gid in gids) if g is not None]

    pdocs = firewall.read_policy_docs(policy_id, read_policy, read_groups)
    if pdocs is None:
        raise Unavailable(f"firewall policy {policy_id} does not exist")
    groups: list[str] = []
    for level in reversed(pdocs.chain):  # the policy first, then its parents
        for d in (level.policy, *level.groups):
            for c in props(d).get("ruleCollections") or []:
                for r in c.get("rules") or [] if isinstance(c, dict) else []:
                    if not isinstance(r, dict):
                        continue  # the policy compiler names the malformed rule and its file
                    for k in ("sourceIpGroups", "destinationIpGroups"):
                        groups += [g for g in id_list(r.get(k), k) if g not in groups]
    ip_groups: list[Doc] = []
    for gid in groups:
        try:
            g = ctx.src.resource(gid)
        except Unavailable:
            continue  # unresolved IP groups are reported by the evaluator
        if g is not None:
            ip_groups.append(g)
    return pdocs, ip_groups


def _egress_flow(src: str, e: EgressRule) -> firewall.FirewallFlow:
    if e.service_tag:
        return firewall.FirewallFlow(src, e.port, destination=e.service_tag, protocol="TCP")
    if e.protocol == "Https":
        return firewall.FirewallFlow.https(src, e.fqdn, e.port)
    if e.protocol == "Http":
        return firewall.FirewallFlow.http(src, e.fqdn, e.port)
    return firewall.FirewallFlow(src, e.port, fqdn=e.fqdn, protocol="TCP")


def _firewall_fix(
    policy_id: str, classic: bool, fw: Doc, e: EgressRule, src: str, allowing: dict[str, firewall.FirewallRuleRef]
) -> str:
    sub, rg, name = split_id(policy_id if not classic else id_of(fw))
    q = shlex.quote
    sub = q(sub)  # a fix is pasted into a shell; every part of an ID from a document is quoted
    kind = "NetworkRule" if e.protocol == "Tcp" else "ApplicationRule"
    ref = allowing.get(kind)
    rule_name = f"aks-jumpbox-{e.destination.replace('*', 'any')}-{e.port}"
    # A network rule never gets a wildcard FQDN: Azure Firewall does not match them there
    # (https://learn.microsoft.com/azure/firewall/fqdn-filtering-network-rules); a service tag (or, for
    # one exact name, an FQDN with the policy's DNS proxy on) is what it supports.
    if e.service_tag:
        dest_cli, dest_note = f"--destination-addresses {q(e.service_tag)}", ""
    elif e.fqdn.startswith("*"):
        dest_cli, dest_note = "--destination-addresses <service tag or IP addresses>", ""
    else:
        dest_cli = f"--destination-fqdns {q(e.fqdn)}"
        dest_note = " (FQDNs in network rules need the policy's DNS proxy enabled)"
    if classic:
        if kind == "ApplicationRule":
            return (
                f"az network firewall application-rule create --subscription {sub} -g {q(rg)} "
                f"--firewall-name {q(name)} "
                f"--collection-name {q(ref.collection) if ref else '<allow collection>'} -n {rule_name} "
                f"--protocols {e.protocol}={e.port} --source-addresses {src} --target-fqdns {q(e.fqdn)}"
            )
        return (
            f"az network firewall network-rule create --subscription {sub} -g {q(rg)} --firewall-name {q(name)} "
            f"--collection-name {q(ref.collection) if ref else '<allow collection>'} -n {rule_name} --protocols TCP "
            f"--source-addresses {src} {dest_cli} --destination-ports {e.port}{dest_note}"
        )
    base = (
        f"az network firewall policy rule-collection-group collection rule add --subscription {sub} -g {q(rg)} "
        f"--policy-name {q(name)} --rule-collection-group-name {q(ref.group) if ref else '<group>'} "
        f"--collection-name {q(ref.collection) if ref else '<Allow collection>'} -n {rule_name} --rule-type {kind} "
        f"--source-addresses {src} "
    )
    if kind == "ApplicationRule":
        return base + f"--protocols {e.protocol}={e.port} --target-fqdns {q(e.fqdn)}"
    return base + f"--ip-protocols TCP --destination-ports {e.port} {dest_cli}{dest_note}"


class _Route:
    """A subnet's route table, read once, and where its Internet-bound traffic goes."""

    def __init__(self, ctx: CheckContext, info: sn.SubnetInfo, vnet: Doc) -> None:
        self.unavailable: Unavailable | None = None
        self.path: route.FirewallPath | None = None
        try:
            table = ctx.src.resource(info.route_table_id) if info.route_table_id else None
        except Unavailable as exc:
            self.unavailable = exc
            return
        own = sn.virtual_network_prefixes(vnet, include_peerings=False)
        peered = [p for p in sn.virtual_network_prefixes(vnet) if p not in own]
        self.path = route.firewall_in_path(table, None, vnet_prefixes=own, peered_prefixes=peered)

    @property
    def hops(self) -> frozenset[str] | None:
        return frozenset(r.next_hop_type for r, _ in self.path.hop.winners) if self.path else None


def _mirror_hosts(ctx: CheckContext) -> set[str]:
    m = ctx.spec.mirror
    urls = (m.artifacts, m.apt, m.apt_security, m.azure_cli_repo, m.azure_cli_key_url)
    return {url_host(u).lower() for u in urls if u}


def _needs_internet(ctx: CheckContext, contract: NetworkContract, role: str) -> list[str]:
    """What a subnet needs from outside the network: its required rows a mirror does not serve."""
    mirror = _mirror_hosts(ctx)
    out = [
        f"{e.destination}:{e.port}"
        for e in contract.egress
        if role in e.subnets and e.basis.required and e.fqdn.lower() not in mirror
    ]
    out += [
        f"{f.destination} on port {f.ports} ({f.purpose})"
        for f in contract.flows
        if f.subnet == role
        and f.direction == "Outbound"
        and f.destination == "Internet"
        and f.basis.required
        and f.id not in ("build-out-https", "build-out-http")
    ]  # those two stand for the egress rows above
    return out


def _outbound_finding(
    ctx: CheckContext, contract: NetworkContract, role: str, info: sn.SubnetInfo, rt: _Route
) -> Finding:
    return sn.check_outbound_path(
        info,
        role=role,
        internet_hops=rt.hops,
        route_evidence=rt.path.evidence if rt.path else "",
        needs_internet=_needs_internet(ctx, contract, role),
    )


def _egress_findings(
    ctx: CheckContext,
    contract: NetworkContract,
    role: str,
    info: sn.SubnetInfo,
    rt: _Route,
    net_ctx: NetworkContext,
    policies: dict[str, Any],
) -> list[Finding]:
    rules = [e for e in contract.egress if role in e.subnets]
    src = _first_v4(info)
    fid = f"egress.{role}"
    if not rules or src is None:
        return []
    if rt.unavailable is not None:
        return [skipped(f"{fid}.path", f"the route table of subnet {info.name}", rt.unavailable)]
    path = rt.path
    assert path is not None
    hops = [r for r, _ in path.hop.winners]
    if path.in_path is False and info.default_outbound_access is False and not info.nat_gateway_id:
        return []  # no outbound path at all: subnet.<role>.outbound says so, and nothing here can pass
    if path.in_path is False:
        kinds = {r.next_hop_type for r in hops}
        if kinds == {"None"}:
            return [
                Finding(
                    f"{fid}.path",
                    Status.FAIL,
                    f"egress from subnet {info.name} is dropped (next hop None)",
                    path.evidence,
                    "Route 0.0.0.0/0 to your firewall, or remove the route with next hop None",
                )
            ]
        if "VirtualNetworkGateway" in kinds:
            return [
                Finding(
                    f"{fid}.path",
                    Status.WARN,
                    f"egress from subnet {info.name} goes through a VPN/ExpressRoute gateway: allow the plan's "
                    f"{len(rules)} FQDNs (network/contract.md) wherever it leaves",
                    path.evidence,
                )
            ]
        how = "through its NAT gateway" if info.nat_gateway_id else "directly"
        return [
            Finding(
                f"{fid}.path",
                Status.PASS,
                f"egress from subnet {info.name} goes out {how}, no firewall to check",
                path.evidence,
            )
        ]
    ips = [
        r.next_hop_ip for r in (*hops, *path.hop.possible) if r.next_hop_type == "VirtualAppliance" and r.next_hop_ip
    ]
    out: list[Finding] = []
    if path.in_path is None:
        out.append(
            Finding(
                f"{fid}.path",
                Status.WARN,
                f"only part of the egress of subnet {info.name} passes an appliance",
                path.evidence,
            )
        )
        if not ips:  # e.g. a route on a service tag (not expanded here) to an appliance: no firewall to name
            return out
    else:
        out.append(
            Finding(
                f"{fid}.path",
                Status.PASS,
                f"egress from subnet {info.name} passes the appliance at {ips[0]}",
                path.evidence,
            )
        )
    ip = ips[0]
    try:
        fws = ctx.src.firewalls(ctx.subscription)
    except Unavailable as exc:
        return [*out, skipped(f"{fid}.firewall", f"the Azure Firewall at {ip}", exc)]
    fw = next((f for f in fws if ip in _firewall_ips(f)), None)
    if fw is None:
        out.append(
            Finding(
                f"{fid}.firewall",
                Status.WARN,
                f"the next hop {ip} is no Azure Firewall known to {ctx.src.description}: its rules were not checked",
                f"{len(fws)} Azure Firewalls seen, with private IPs "
                + (", ".join(i for f in fws for i in _firewall_ips(f)) or "none"),
                f"Allow the plan's {len(rules)} egress FQDNs (`aks-jumpbox plan` writes network/contract.md) "
                f"on the appliance at {ip}; or include its Azure Firewall in the check",
            )
        )
        return out
    policy_ref = props(fw).get("firewallPolicy")
    policy_id = policy_ref.get("id") if isinstance(policy_ref, dict) else None
    if policy_id is not None and not isinstance(policy_id, str):
        raise ResourceFormatError(
            f"Azure Firewall {name_of(fw)}: firewallPolicy.id: expected a resource ID, got {policy_id!r:.200}"
        )
    classic = policy_id is None
    key = (policy_id or id_of(fw)).lower()
    try:
        if key not in policies:
            if policy_id is None:  # classic
                docs = _classic_policy(fw)
                pdocs = firewall.policy_docs_from_resources(docs, id_of(docs[0]))
            else:
                pdocs, docs = _policy_docs(ctx, policy_id)
            fctx = firewall.FirewallContext(network=net_ctx, ip_groups=firewall.ip_groups_from_resources(docs))
            policies[key] = firewall.compile_policy(pdocs, fctx)
    except Unavailable as exc:
        return [*out, skipped(f"{fid}.firewall", f"the policy of Azure Firewall {name_of(fw)}", exc)]
    compiled = policies[key]
    described = f"policy {compiled.name}" if not classic else "its classic rules"
    out.append(
        Finding(
            f"{fid}.firewall",
            Status.PASS,
            f"egress from subnet {info.name} is filtered by Azure Firewall {name_of(fw)} ({described})",
            "; ".join((f"{name_of(fw)} has private IP {ip}", *compiled.notes)),
        )
    )
    results = [(e, firewall.evaluate(compiled, _egress_flow(src, e))) for e in rules]
    allowing: dict[str, firewall.FirewallRuleRef] = {}
    for _, r in results:
        if r.verdict is Verdict.ALLOW and r.rule is not None and not r.rule.inherited:
            allowing.setdefault(r.rule.rule_type, r.rule)
    for e, r in results:
        evidence = r.evidence
        if e.service_tag and r.verdict is not Verdict.ALLOW:
            # A rule naming the traffic's hosts by wildcard FQDN may be why the user believes it allowed.
            named = firewall.FirewallFlow(src, e.port, fqdn=e.fqdn, protocol="TCP")
            evidence = "; ".join((evidence, *firewall.wildcard_notes(compiled, named)))
        dest = f"{e.fqdn} (service tag {e.service_tag})" if e.service_tag else e.fqdn
        what = f"{e.protocol.upper()} {dest}:{e.port} from subnet {info.name}"
        why = f" ({e.purpose}; needed by {', '.join(e.required_by)})"
        out.append(
            Finding(
                f"{fid}.{e.fqdn}:{e.port}",
                _status(r.verdict, e.basis),
                f"{what} is {_VERB[r.verdict]} by firewall {name_of(fw)}{why}{_because(r.verdict, e.basis)}",
                evidence,
                None if r.verdict is Verdict.ALLOW else _firewall_fix(policy_id or "", classic, fw, e, src, allowing),
            )
        )
    return out


def _contract(ctx: CheckContext, infos: dict[str, sn.SubnetInfo | None]) -> NetworkContract:
    """The plan's contract, with the subnets' real prefixes where the spec left them out or differs."""
    spec, plan = ctx.spec, ctx.plan
    update: dict[str, Any] = {}
    for role, field in (("build", "subnet_address_prefix"), ("container", "container_instance_subnet_address_prefix")):
        info = infos.get(role)
        real = _first_v4(info) if info is not None else None
        if real:
            update[field] = real
    if not update:
        return plan.network
    build = spec.build.model_copy(update=update)
    # Only the flows depend on the prefixes; the egress the downloads need stays the plan's.
    return network_contract(spec.model_copy(update={"build": build}), plan.network.egress)


def network_checks(ctx: CheckContext) -> list[Finding]:
    spec = ctx.spec
    isolated = spec.topology == "isolated"
    net = _Net(ctx)
    out: list[Finding] = []
    build_findings, build = _subnet_findings(ctx, "build", spec.build.subnet, net)
    out += build_findings
    container: sn.SubnetInfo | None = None
    if isolated and spec.build.container_subnet is not None:
        cont_findings, container = _subnet_findings(ctx, "container", spec.build.container_subnet, net)
        out += cont_findings
    if build is None:
        return out
    vnet = net.vnet(spec.build.subnet)
    assert vnet is not None
    out.append(sn.check_region(vnet, spec.build.location))
    if isolated:
        out += [sn.check_free_addresses(build, 1, role="build"), sn.check_build_subnet_not_delegated(build)]
        if container is not None:
            out += [
                sn.check_aci_delegation(container),
                sn.check_free_addresses(container, 1, role="container"),
                sn.check_same_vnet(build, container),
            ]
    else:
        out += [
            sn.check_prefix_size(build),
            sn.check_free_addresses(build, 4),
            sn.check_private_link_policies(build),
            sn.check_build_subnet_not_delegated(build),
        ]
    infos = {"build": build, "container": container}
    contract = _contract(ctx, infos)
    present = {role: info for role, info in infos.items() if info is not None}
    routes = {role: _Route(ctx, info, vnet) for role, info in present.items()}
    for role, rt in routes.items():
        out.append(_outbound_finding(ctx, contract, role, present[role], rt))
    net_ctx = NetworkContext(vnet_prefixes=sn.virtual_network_prefixes(vnet))
    out += _flow_findings(ctx, contract, infos, net_ctx)
    policies: dict[str, Any] = {}
    for role, rt in routes.items():
        out += _egress_findings(ctx, contract, role, present[role], rt, net_ctx, policies)
    return out
