"""Subnet and VNet prerequisite checks, with their fixes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from aks_jumpbox.preflight._arm import ResourceFormatError
from aks_jumpbox.preflight.findings import Status
from aks_jumpbox.preflight.subnet import (
    check_aci_delegation,
    check_build_subnet_not_delegated,
    check_free_addresses,
    check_outbound_path,
    check_prefix_size,
    check_private_link_policies,
    check_region,
    check_same_vnet,
    check_subscription,
    free_addresses,
    subnet_from_vnet,
    subnet_info,
    virtual_network_prefixes,
)
from tests.unit.preflight.builders import SUB, load

VNET_ID = f"/subscriptions/{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-build"


def subnet(
    name: str = "snet-build", prefix: str = "10.0.1.0/28", *, vnet_id: str = VNET_ID, **props: Any
) -> dict[str, Any]:
    return {"id": f"{vnet_id}/subnets/{name}", "name": name, "properties": {"addressPrefix": prefix, **props}}


def ipconfigs(n: int) -> list[dict[str, str]]:
    return [
        {
            "id": f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic{i}/ipConfigurations/ipconfig1"  # noqa: E501 - literal data
        }
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("prefix", "status"),
    [("10.0.1.0/28", Status.PASS), ("10.0.1.0/24", Status.PASS), ("10.0.1.0/29", Status.FAIL)],
)
def test_prefix_size(prefix: str, status: Status) -> None:
    f = check_prefix_size(subnet(prefix=prefix))
    assert f.status is status and f.id == "subnet.build.size"
    if status is Status.FAIL:
        assert "/29" in f.message and "at least a /28" in f.message
        assert f.fix is not None and f.fix.startswith(
            f"az network vnet subnet update --subscription {SUB} -g rg-net --vnet-name vnet-build -n snet-build --address-prefixes"  # noqa: E501 - literal data
        )


def test_free_addresses_count_azure_reserved_and_ip_configurations() -> None:
    # /28 = 16 addresses, 5 reserved, 7 NICs -> 4 free: exactly the proxy topology's need.
    s = subnet(ipConfigurations=ipconfigs(7))
    assert free_addresses(s)[0] == 4
    f = check_free_addresses(s, 4)
    assert f.status is Status.PASS and "16 addresses - 5 reserved by Azure - 7 IP configurations = 4 free" in f.evidence
    f = check_free_addresses(subnet(ipConfigurations=ipconfigs(8)), 4)
    assert f.status is Status.FAIL and f.message == "subnet snet-build has 3 free addresses; the build needs 4"
    assert f.fix is not None and "az network vnet subnet list-available-ips" in f.fix
    # Several prefixes: 5 reserved in each.
    multi = subnet(prefix="10.0.1.0/28", addressPrefixes=["10.0.1.0/28", "10.0.2.0/28"])
    assert free_addresses(multi)[0] == 22


def test_consumers_that_do_not_list_their_addresses_turn_a_pass_into_a_warning() -> None:
    s = subnet(prefix="10.0.1.0/24", serviceAssociationLinks=[{"name": "acilink"}])
    f = check_free_addresses(s, 1, role="container")
    assert (
        f.status is Status.WARN and "serviceAssociationLinks" in f.message and f.id == "subnet.container.free-addresses"
    )


@pytest.mark.parametrize(
    ("value", "status"), [("Disabled", Status.PASS), ("Enabled", Status.FAIL), (None, Status.FAIL)]
)
def test_private_link_service_network_policies(value: str | None, status: Status) -> None:
    props = {} if value is None else {"privateLinkServiceNetworkPolicies": value}
    f = check_private_link_policies(subnet(**props))
    assert f.status is status
    if status is Status.FAIL:
        assert f.fix == (
            f"az network vnet subnet update --subscription {SUB} -g rg-net --vnet-name vnet-build -n snet-build "
            "--private-link-service-network-policies Disabled"
        )
        assert ("Azure default Enabled" in f.evidence) == (value is None)


def test_container_subnet_delegation() -> None:
    aci = {
        "delegations": [{"name": "aci", "properties": {"serviceName": "Microsoft.ContainerInstance/containerGroups"}}]
    }
    assert check_aci_delegation(subnet("snet-aci", **aci)).status is Status.PASS
    f = check_aci_delegation(subnet("snet-aci"))
    assert f.status is Status.FAIL
    assert f.fix is not None and f.fix.endswith("-n snet-aci --delegations Microsoft.ContainerInstance/containerGroups")
    other = {"delegations": [{"name": "web", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}]}
    f = check_aci_delegation(subnet("snet-aci", **other))
    assert (
        f.status is Status.FAIL and "Microsoft.Web/serverFarms" in f.message and "--remove delegations" in (f.fix or "")
    )
    # The build VM can't go into a delegated subnet.
    assert check_build_subnet_not_delegated(subnet()).status is Status.PASS
    f = check_build_subnet_not_delegated(subnet(**aci))
    assert f.status is Status.FAIL and f.fix is not None and f.fix.endswith("--remove delegations")


def test_same_vnet_distinct_subnets() -> None:
    build = subnet("snet-build")
    assert check_same_vnet(build, subnet("snet-aci", "10.0.2.0/28")).status is Status.PASS
    f = check_same_vnet(build, subnet("snet-aci", vnet_id=VNET_ID.replace("vnet-build", "vnet-other")))
    assert f.status is Status.FAIL and "same VNet" in f.message and "az network vnet subnet create" in (f.fix or "")
    f = check_same_vnet(build, copy.deepcopy(build))
    assert f.status is Status.FAIL and "same subnet" in f.message


def test_region() -> None:
    vnet = {"id": VNET_ID, "name": "vnet-build", "location": "eastus2", "properties": {}}
    assert check_region(vnet, "East US 2").status is Status.PASS
    f = check_region(vnet, "westeurope")
    assert (
        f.status is Status.FAIL
        and f.message == "VNet vnet-build is in eastus2 but the image template builds in westeurope"
    )
    with pytest.raises(ResourceFormatError, match="location"):
        check_region({"name": "v"}, "westeurope")


def test_subscription_alignment() -> None:
    assert check_subscription(subnet(), SUB.upper()).status is Status.PASS
    other = "11111111-2222-3333-4444-555555555555"
    f = check_subscription(subnet(), other)
    assert f.status is Status.FAIL and other in f.message
    assert check_subscription(subnet(), other, required=False).status is Status.WARN


NEEDS = ("get.helm.sh:443", "dl.k8s.io:443")


def test_outbound_path_for_private_subnets() -> None:
    assert check_outbound_path(subnet(), needs_internet=NEEDS).status is Status.PASS
    # Private, no NAT gateway, no route table: no outbound path at all, and the build needs the Internet.
    f = check_outbound_path(subnet(defaultOutboundAccess=False), needs_internet=NEEDS)
    assert f.status is Status.FAIL and "--nat-gateway" in (f.fix or "")
    assert "has no outbound path" in f.message and "get.helm.sh:443, dl.k8s.io:443" in f.message
    # A route table sending the Internet to an appliance (or a gateway) is a path; one that does not, is not.
    routed = subnet(defaultOutboundAccess=False, routeTable={"id": "/x/rt"})
    for hops in ({"VirtualAppliance"}, {"VirtualNetworkGateway"}):
        assert check_outbound_path(routed, internet_hops=frozenset(hops), needs_internet=NEEDS).status is Status.PASS
    f = check_outbound_path(routed, internet_hops=frozenset({"Internet"}), needs_internet=NEEDS)
    assert f.status is Status.FAIL and "neither a NAT gateway nor a route to an appliance" in f.message
    # A route table that could not be read: not known.
    assert check_outbound_path(routed, needs_internet=NEEDS).status is Status.WARN
    # A NAT gateway is a path.
    nat = subnet(defaultOutboundAccess=False, natGateway={"id": "/x/nat"})
    assert check_outbound_path(nat, needs_internet=NEEDS).status is Status.PASS
    # Everything required comes from a network-local mirror: only a warning.
    f = check_outbound_path(subnet(defaultOutboundAccess=False), needs_internet=())
    assert f.status is Status.WARN and "comes from the mirror" in f.message


def test_documents_from_the_vnet_and_errors() -> None:
    vnet = load("upstream/vnet-imagebuilder.json")
    s = subnet_from_vnet(vnet, "SNET-imagebuilder")
    info = subnet_info(s)
    assert info.nsg_id is not None and info.nsg_id.endswith("/nsg-imagebuilder")
    assert info.route_table_id is not None and info.route_table_id.endswith("/route-to-eastus2-hub-fw")
    assert virtual_network_prefixes(vnet) == ("10.241.0.0/28", "10.200.0.0/24")
    assert virtual_network_prefixes(vnet, include_peerings=False) == ("10.241.0.0/28",)
    with pytest.raises(ResourceFormatError, match="no subnet named 'nope'"):
        subnet_from_vnet(vnet, "nope")
    with pytest.raises(ResourceFormatError, match="is not a subnet resource ID"):
        subnet_info({"id": "/subscriptions/x/subnets/y", "name": "y", "properties": {"addressPrefix": "10.0.0.0/28"}})
    with pytest.raises(ResourceFormatError, match="neither addressPrefix nor addressPrefixes"):
        subnet_info(subnet(prefix=""))
    # `az network vnet subnet show` prints properties flattened: same facts.
    flat = {"id": s["id"], "name": s["name"], **s["properties"]}
    assert subnet_info(flat) == info
