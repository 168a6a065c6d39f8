"""Subnet and VNet prerequisites of Azure Image Builder, checked on their ARM JSON.

* size: the build subnet is no smaller than /28;
* free addresses: Azure reserves 5 addresses of every subnet prefix; each entry of
  ``ipConfigurations`` (NICs, private endpoints, internal load balancer frontends) holds one more.
  Consumers whose address use the document does not list (App Gateway instances, delegated services)
  turn a pass into a warning;
* proxy topology: ``privateLinkServiceNetworkPolicies`` is ``Disabled`` on the build subnet;
* isolated topology: the container subnet is delegated to ``Microsoft.ContainerInstance/containerGroups``,
  the build subnet is not delegated, both are distinct subnets of one VNet;
* the VNet is in the template's region, and in the expected subscription.

Each check returns a :class:`Finding` whose fix is a concrete `az` command where one exists.
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aks_jumpbox.core.resource_ids import SubnetId, parse_subnet_id
from aks_jumpbox.preflight._arm import ResourceFormatError, id_of, name_of, props
from aks_jumpbox.preflight.findings import Finding, Status

__all__ = [
    "ACI_DELEGATION",
    "AZURE_RESERVED_PER_PREFIX",
    "SubnetInfo",
    "check_aci_delegation",
    "check_build_subnet_not_delegated",
    "check_free_addresses",
    "check_outbound_path",
    "check_prefix_size",
    "check_private_link_policies",
    "check_region",
    "check_same_vnet",
    "check_subscription",
    "free_addresses",
    "normalize_region",
    "subnet_from_vnet",
    "subnet_info",
    "virtual_network_prefixes",
]

ACI_DELEGATION = "Microsoft.ContainerInstance/containerGroups"
AZURE_RESERVED_PER_PREFIX = 5
# Fields through which other services claim addresses without listing each one.
_HIDDEN_CONSUMERS = (
    "applicationGatewayIPConfigurations",
    "serviceAssociationLinks",
    "resourceNavigationLinks",
)


@dataclass(frozen=True)
class SubnetInfo:
    id: SubnetId
    prefixes: tuple[str, ...]
    delegations: tuple[str, ...]
    private_link_service_network_policies: str | None
    ip_configurations: int
    hidden_consumers: tuple[str, ...]
    nsg_id: str | None
    route_table_id: str | None
    nat_gateway_id: str | None
    default_outbound_access: bool | None

    @property
    def name(self) -> str:
        return self.id.subnet

    def az_update(self, *args: str) -> str:
        """An `az network vnet subnet update` command for this subnet."""
        q = shlex.quote
        base = f"az network vnet subnet update --subscription {self.id.subscription} -g {q(self.id.resource_group)} "
        return base + f"--vnet-name {q(self.id.vnet)} -n {q(self.id.subnet)} " + " ".join(args)

    def az(self, verb: str) -> str:
        q = shlex.quote
        return (
            f"az network vnet subnet {verb} --subscription {self.id.subscription} -g {q(self.id.resource_group)} "
            f"--vnet-name {q(self.id.vnet)} -n {q(self.id.subnet)}"
        )


def _ref_id(value: Any, where: str) -> str | None:
    """The id of a {"id": ...} reference; a malformed one is an error, never read as "none" (a check
    would then pass on a subnet whose NSG or route table it never saw)."""
    if value in (None, {}):
        return None
    if not (isinstance(value, dict) and isinstance(value.get("id"), str) and value["id"].startswith("/")):
        raise ResourceFormatError(f'{where}: expected {{"id": "/subscriptions/..."}}, got {value!r:.200}')
    return value["id"]


def subnet_info(doc: Mapping[str, Any]) -> SubnetInfo:
    """Facts about a subnet from its ARM JSON (REST or `az network vnet subnet show`)."""
    d = dict(doc)
    rid = id_of(d)
    try:
        sid = parse_subnet_id(rid)
    except ValueError as e:
        raise ResourceFormatError(f"subnet {name_of(d)}: id {rid!r} {e}") from None
    p = props(d, f"subnet {sid.subnet}")
    prefixes: list[str] = []
    if isinstance(p.get("addressPrefix"), str) and p["addressPrefix"]:
        prefixes.append(p["addressPrefix"])
    for x in p.get("addressPrefixes") or []:
        if isinstance(x, str) and x not in prefixes:
            prefixes.append(x)
    if not prefixes:
        raise ResourceFormatError(f"subnet {sid.subnet}: has neither addressPrefix nor addressPrefixes")
    for x in prefixes:
        try:
            ipaddress.ip_network(x, strict=False)
        except ValueError:
            raise ResourceFormatError(f"subnet {sid.subnet}: addressPrefix {x!r} is not a CIDR prefix") from None
    delegations = []
    for dg in p.get("delegations") or []:
        dp = props(dg, f"subnet {sid.subnet}: delegations")
        if isinstance(dp.get("serviceName"), str):
            delegations.append(dp["serviceName"])
    hidden = tuple(f for f in _HIDDEN_CONSUMERS if p.get(f))
    dao = p.get("defaultOutboundAccess")
    pls = p.get("privateLinkServiceNetworkPolicies")
    if pls is not None and not isinstance(pls, str):
        raise ResourceFormatError(
            f"subnet {sid.subnet}: privateLinkServiceNetworkPolicies: expected a string, got {pls!r:.200}"
        )
    return SubnetInfo(
        sid,
        tuple(prefixes),
        tuple(delegations),
        pls,
        len(p.get("ipConfigurations") or []),
        hidden,
        _ref_id(p.get("networkSecurityGroup"), f"subnet {sid.subnet}: networkSecurityGroup"),
        _ref_id(p.get("routeTable"), f"subnet {sid.subnet}: routeTable"),
        _ref_id(p.get("natGateway"), f"subnet {sid.subnet}: natGateway"),
        dao if isinstance(dao, bool) else None,
    )


def subnet_from_vnet(vnet: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A subnet's document out of its VNet's (a VNet GET embeds its subnets in full)."""
    for s in props(vnet, "virtual network").get("subnets") or []:
        if isinstance(s, dict) and name_of(s).lower() == name.lower():
            return s
    raise ResourceFormatError(f"virtual network {name_of(dict(vnet))} has no subnet named {name!r}")


def virtual_network_prefixes(vnet: Mapping[str, Any], *, include_peerings: bool = True) -> tuple[str, ...]:
    """What the VirtualNetwork service tag covers for this VNet: its address space plus the spaces of
    connected peerings (for :class:`~aks_jumpbox.preflight.addresses.NetworkContext`)."""
    p = props(vnet, "virtual network")
    vname = name_of(dict(vnet))

    def space(value: Any, field: str) -> list[str]:
        raw = (value or {}).get("addressPrefixes") if isinstance(value or {}, dict) else value
        if not isinstance(raw, list | None):
            raise ResourceFormatError(
                f"virtual network {vname}: {field}.addressPrefixes: expected a list of CIDR prefixes, got {raw!r:.200}"
            )
        return [x for x in raw or [] if isinstance(x, str)]

    out = space(p.get("addressSpace"), "addressSpace")
    if include_peerings:
        for peer in p.get("virtualNetworkPeerings") or []:
            pp = props(peer, "virtual network peering")
            if str(pp.get("peeringState", "Connected")).lower() != "connected":
                continue
            out.extend(x for x in space(pp.get("remoteAddressSpace"), "remoteAddressSpace") if x not in out)
    for x in out:  # checked here, where the document's file is still known, not deep in a check
        try:
            ipaddress.ip_network(x, strict=False)
        except ValueError:
            raise ResourceFormatError(
                f"virtual network {vname}: address prefix {x!r:.100} is not a CIDR prefix"
            ) from None
    return tuple(out)


SubnetLike = SubnetInfo | Mapping[str, Any]


def _info(value: SubnetLike) -> SubnetInfo:
    return value if isinstance(value, SubnetInfo) else subnet_info(value)


def _fid(role: str, what: str) -> str:
    return f"subnet.{role}.{what}"


def _v4(prefixes: Sequence[str]) -> list[ipaddress.IPv4Network]:
    nets = [ipaddress.ip_network(x, strict=False) for x in prefixes]
    return [n for n in nets if isinstance(n, ipaddress.IPv4Network)]


def check_prefix_size(subnet: SubnetLike, *, role: str = "build", max_prefix_length: int = 28) -> Finding:
    """The subnet's largest IPv4 prefix is /``max_prefix_length`` or larger."""
    info = _info(subnet)
    nets = _v4(info.prefixes)
    fid = _fid(role, "size")
    if not nets:
        return Finding(
            fid,
            Status.FAIL,
            f"subnet {info.name} has no IPv4 prefix",
            f"prefixes: {', '.join(info.prefixes)}",
            info.az_update(f"--address-prefixes <an IPv4 /{max_prefix_length} or larger prefix>"),
        )
    best = min(nets, key=lambda n: n.prefixlen)
    evidence = f"address prefix {', '.join(str(n) for n in nets)}"
    if best.prefixlen <= max_prefix_length:
        return Finding(
            fid,
            Status.PASS,
            f"subnet {info.name} is /{best.prefixlen} (at least /{max_prefix_length})",
            evidence,
        )
    return Finding(
        fid,
        Status.FAIL,
        f"subnet {info.name} is /{best.prefixlen}; Azure Image Builder needs at least a /{max_prefix_length}",
        evidence,
        info.az_update(f"--address-prefixes <a free /{max_prefix_length} or larger prefix of the VNet>"),
    )


def free_addresses(subnet: SubnetLike) -> tuple[int, str]:
    """(free IPv4 addresses, how they were counted)."""
    info = _info(subnet)
    nets = _v4(info.prefixes)
    total = sum(n.num_addresses for n in nets)
    reserved = AZURE_RESERVED_PER_PREFIX * len(nets)
    free = max(0, total - reserved - info.ip_configurations)
    how = (
        f"{', '.join(str(n) for n in nets)}: {total} addresses - {reserved} reserved by Azure - "
        f"{info.ip_configurations} IP configurations = {free} free"
    )
    return free, how


def check_free_addresses(subnet: SubnetLike, required: int, *, role: str = "build") -> Finding:
    info = _info(subnet)
    free, how = free_addresses(info)
    fid = _fid(role, "free-addresses")
    fix = (
        f"Free addresses in subnet {info.name} or use a larger subnet; "
        f"`{info.az('list-available-ips')}` lists the free ones"
    )
    if free < required:
        return Finding(
            fid,
            Status.FAIL,
            f"subnet {info.name} has {free} free addresses; the build needs {required}",
            how,
            fix,
        )
    if info.hidden_consumers:
        return Finding(
            fid,
            Status.WARN,
            f"subnet {info.name} appears to have {free} free addresses (needs {required}), but "
            f"{', '.join(info.hidden_consumers)} use addresses the document does not count",
            how,
            fix,
        )
    return Finding(fid, Status.PASS, f"subnet {info.name} has {free} free addresses (needs {required})", how)


def check_private_link_policies(subnet: SubnetLike, *, role: str = "build") -> Finding:
    """Proxy topology: AIB reaches its proxy VM through Private Link, which needs the policies off."""
    info = _info(subnet)
    value = info.private_link_service_network_policies
    evidence = f"privateLinkServiceNetworkPolicies: {value if value is not None else '(absent, Azure default Enabled)'}"
    fid = _fid(role, "private-link-policies")
    if value is not None and value.lower() == "disabled":
        return Finding(
            fid,
            Status.PASS,
            f"subnet {info.name} has private link service network policies disabled",
            evidence,
        )
    return Finding(
        fid,
        Status.FAIL,
        f"subnet {info.name} must have private link service network policies disabled for the proxy-VM topology",
        evidence,
        info.az_update("--private-link-service-network-policies Disabled"),
    )


def check_aci_delegation(subnet: SubnetLike, *, role: str = "container") -> Finding:
    """Isolated topology: the container subnet is delegated to Azure Container Instances."""
    info = _info(subnet)
    fid = _fid(role, "delegation")
    evidence = f"delegations: {', '.join(info.delegations) or '(none)'}"
    if any(d.lower() == ACI_DELEGATION.lower() for d in info.delegations):
        return Finding(fid, Status.PASS, f"subnet {info.name} is delegated to {ACI_DELEGATION}", evidence)
    if info.delegations:
        return Finding(
            fid,
            Status.FAIL,
            f"subnet {info.name} is delegated to {', '.join(info.delegations)}, not {ACI_DELEGATION}; "
            f"use a subnet of its own for the build's container instance",
            evidence,
            f"{info.az_update('--remove delegations')} && {info.az_update('--delegations', ACI_DELEGATION)}",
        )
    return Finding(
        fid,
        Status.FAIL,
        f"subnet {info.name} must be delegated to {ACI_DELEGATION} for the isolated topology",
        evidence,
        info.az_update("--delegations", ACI_DELEGATION),
    )


def check_build_subnet_not_delegated(subnet: SubnetLike, *, role: str = "build") -> Finding:
    """The build VM's NIC cannot join a subnet delegated to a service."""
    info = _info(subnet)
    fid = _fid(role, "not-delegated")
    evidence = f"delegations: {', '.join(info.delegations) or '(none)'}"
    if not info.delegations:
        return Finding(fid, Status.PASS, f"subnet {info.name} is not delegated, so the build VM can join it", evidence)
    return Finding(
        fid,
        Status.FAIL,
        f"subnet {info.name} is delegated to {', '.join(info.delegations)}; the build VM needs an undelegated subnet",
        evidence,
        info.az_update("--remove delegations"),
    )


def check_same_vnet(build_subnet: SubnetLike, container_subnet: SubnetLike) -> Finding:
    build, container = _info(build_subnet), _info(container_subnet)
    fid = "subnet.container.same-vnet"
    evidence = f"build subnet {build.id}; container subnet {container.id}"
    if not build.id.same_vnet(container.id):
        return Finding(
            fid,
            Status.FAIL,
            f"the container subnet {container.name} is in VNet {container.id.vnet}, the build subnet in "
            f"{build.id.vnet}; both must be in the same VNet",
            evidence,
            f"Choose a container subnet in VNet {build.id.vnet} (create one with "
            f"`az network vnet subnet create --subscription {build.id.subscription} "
            f"-g {shlex.quote(build.id.resource_group)} --vnet-name {shlex.quote(build.id.vnet)} -n <name> "
            f"--address-prefixes <prefix> --delegations {ACI_DELEGATION}`)",
        )
    if str(build.id).lower() == str(container.id).lower():
        return Finding(
            fid,
            Status.FAIL,
            f"the build and container subnets are the same subnet ({build.name}); they must differ",
            evidence,
            f"Create a separate subnet delegated to {ACI_DELEGATION} in VNet {build.id.vnet}",
        )
    return Finding(
        fid,
        Status.PASS,
        f"subnets {build.name} and {container.name} are distinct subnets of VNet {build.id.vnet}",
        evidence,
    )


def normalize_region(value: str) -> str:
    """``West Europe`` / ``westeurope`` -> ``westeurope``."""
    return "".join(value.split()).lower()


def check_region(vnet: Mapping[str, Any], region: str) -> Finding:
    """The VNet is in the image template's region (AIB builds only in the template's region)."""
    name = name_of(dict(vnet))
    loc = vnet.get("location")
    if not isinstance(loc, str) or not loc:
        raise ResourceFormatError(f"virtual network {name}: location: missing")
    evidence = f"VNet {name} location {loc}; template region {region}"
    if normalize_region(loc) == normalize_region(region):
        return Finding("vnet.region", Status.PASS, f"VNet {name} is in {normalize_region(region)}", evidence)
    return Finding(
        "vnet.region",
        Status.FAIL,
        f"VNet {name} is in {normalize_region(loc)} but the image template builds in {normalize_region(region)}",
        evidence,
        f"Set the template region to {normalize_region(loc)} in jumpbox.yaml, "
        f"or use a subnet of a VNet in {normalize_region(region)}",
    )


def check_subscription(
    subnet: SubnetLike, subscription: str, *, what: str = "image template", required: bool = True
) -> Finding:
    """The subnet is in ``subscription`` (the template's, or the destination's)."""
    info = _info(subnet)
    evidence = f"subnet subscription {info.id.subscription}; {what} subscription {subscription.lower()}"
    fid = f"subnet.{info.name}.subscription"
    if info.id.subscription.lower() == subscription.lower():
        return Finding(fid, Status.PASS, f"subnet {info.name} is in the {what}'s subscription", evidence)
    return Finding(
        fid,
        Status.FAIL if required else Status.WARN,
        f"subnet {info.name} is in subscription {info.id.subscription}, the {what} in {subscription.lower()}",
        evidence,
        f"Use a subnet in subscription {subscription.lower()}, "
        f"or deploy the {what} to subscription {info.id.subscription}",
    )


def check_outbound_path(
    subnet: SubnetLike,
    *,
    role: str = "build",
    internet_hops: frozenset[str] | None = None,
    route_evidence: str = "",
    needs_internet: Sequence[str] = (),
) -> Finding:
    """A private subnet (``defaultOutboundAccess: false``) reaches the Internet only through a NAT
    gateway or a route to an appliance (or gateway) that provides it; without either it has no
    outbound path at all (https://learn.microsoft.com/azure/virtual-network/ip-services/default-outbound-access),
    and Microsoft requires outbound access for the build's downloads and for the container instance
    (https://learn.microsoft.com/azure/virtual-machines/image-builder-api-update-release-notes#march-2026).

    ``internet_hops``: the next-hop types that carry the subnet's Internet-bound traffic (None: the route
    table was not read). ``needs_internet``: what the build needs from outside the network (required
    egress not served by a mirror); empty when a network-local mirror covers everything."""
    info = _info(subnet)
    fid = _fid(role, "outbound")
    evidence = (
        f"defaultOutboundAccess: {info.default_outbound_access}; natGateway: {info.nat_gateway_id or '(none)'}; "
        f"routeTable: {info.route_table_id or '(none)'}"
    )
    if route_evidence:
        evidence += f"; {route_evidence}"
    if info.default_outbound_access is not False:
        return Finding(fid, Status.PASS, f"subnet {info.name} has an outbound path (default outbound access)", evidence)
    if info.nat_gateway_id:
        return Finding(
            fid, Status.PASS, f"subnet {info.name} is private and goes out through its NAT gateway", evidence
        )
    if internet_hops is None and info.route_table_id:
        return Finding(
            fid,
            Status.WARN,
            f"subnet {info.name} is private and its route table was not read: whether "
            "its egress reaches an appliance that goes out is not known",
            evidence,
        )
    if internet_hops and internet_hops <= {"VirtualAppliance", "VirtualNetworkGateway"}:
        via = "an appliance" if internet_hops == {"VirtualAppliance"} else "a gateway or appliance"
        return Finding(
            fid,
            Status.PASS,
            f"subnet {info.name} is private and routes its egress to {via}, which must provide the outbound path",
            evidence,
        )
    what = (
        f"subnet {info.name} is private (no default outbound access) and has neither a NAT gateway nor a route "
        "to an appliance: it has no outbound path"
    )
    fix = (
        info.az_update("--nat-gateway <NAT gateway name or ID>")
        + ", or route 0.0.0.0/0 from it to your firewall, or set defaultOutboundAccess to true"
    )
    if not needs_internet:
        return Finding(
            fid,
            Status.WARN,
            f"{what}; every required download comes from the mirror, which must be reachable inside the network",
            evidence,
            fix,
        )
    shown = ", ".join(needs_internet[:5]) + (f" and {len(needs_internet) - 5} more" if len(needs_internet) > 5 else "")
    return Finding(
        fid,
        Status.FAIL,
        f"{what}; the build cannot reach what it needs from outside the network: {shown}",
        evidence,
        fix,
    )
