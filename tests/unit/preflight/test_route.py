"""Route selection: longest prefix, UDR over system routes, firewall in the path or not."""

from __future__ import annotations

import pytest

from aks_jumpbox.preflight._arm import ResourceFormatError
from aks_jumpbox.preflight.route import firewall_in_path, next_hop

VNET = ("10.0.0.0/16",)
FW = "10.200.0.4"


def table(*routes: tuple[str, str, str, str | None], bgp: bool = True) -> dict:  # type: ignore[type-arg]
    return {
        "name": "rt-spoke",
        "properties": {
            "disableBgpRoutePropagation": not bgp,
            "routes": [
                {
                    "name": n,
                    "properties": {
                        "addressPrefix": p,
                        "nextHopType": t,
                        **({"nextHopIpAddress": ip} if ip else {}),
                    },
                }
                for n, p, t, ip in routes
            ],
        },
    }


FORCED = table(("to-fw", "0.0.0.0/0", "VirtualAppliance", FW))


def test_default_route_to_the_firewall_puts_it_in_the_path() -> None:
    fp = firewall_in_path(FORCED, FW, vnet_prefixes=VNET)
    assert fp.in_path is True
    assert fp.hop.route.name == "to-fw"
    assert "route 'to-fw' (0.0.0.0/0 -> VirtualAppliance 10.200.0.4) of route table rt-spoke" in fp.evidence
    assert firewall_in_path(FORCED, FW, destination="140.82.112.3", vnet_prefixes=VNET).in_path is True


def test_no_route_table_means_straight_to_the_internet() -> None:
    fp = firewall_in_path(None, FW, vnet_prefixes=VNET)
    assert fp.in_path is False and fp.hop.route.next_hop_type == "Internet" and not fp.hop.route.user


def test_vnet_traffic_stays_local_despite_a_default_route() -> None:
    hop = next_hop(FORCED, "10.0.5.5", vnet_prefixes=VNET)
    assert hop.route.next_hop_type == "VnetLocal"
    # ...unless a UDR for the VNet's own prefix says otherwise: at equal length the UDR wins.
    t = table(
        ("to-fw", "0.0.0.0/0", "VirtualAppliance", FW),
        ("inspect-vnet", "10.0.0.0/16", "VirtualAppliance", FW),
    )
    assert next_hop(t, "10.0.5.5", vnet_prefixes=VNET).route.name == "inspect-vnet"


def test_longest_prefix_wins_and_splits_are_reported() -> None:
    t = table(("to-fw", "0.0.0.0/0", "VirtualAppliance", FW), ("bypass", "20.0.0.0/8", "Internet", None))
    assert firewall_in_path(t, FW, destination="20.1.1.1", vnet_prefixes=VNET).in_path is False
    assert firewall_in_path(t, FW, destination="21.1.1.1", vnet_prefixes=VNET).in_path is True
    fp = firewall_in_path(t, FW, vnet_prefixes=VNET)
    assert fp.in_path is None
    assert "20.0.0.0/8 via route 'bypass'" in fp.evidence and "other public addresses via route 'to-fw'" in fp.evidence


def test_another_appliance_is_not_the_firewall() -> None:
    t = table(("to-nva", "0.0.0.0/0", "VirtualAppliance", "10.200.0.99"))
    assert firewall_in_path(t, FW, vnet_prefixes=VNET).in_path is False
    assert firewall_in_path(t, None, vnet_prefixes=VNET).in_path is True


def test_private_ranges_outside_the_vnet_are_dropped() -> None:
    hop = next_hop(None, "192.168.1.1", vnet_prefixes=VNET)
    assert hop.route.next_hop_type == "None"
    assert next_hop(None, "10.1.0.1", vnet_prefixes=VNET).route.next_hop_type == "None"
    assert (
        next_hop(None, "10.1.0.1", vnet_prefixes=VNET, peered_prefixes=("10.1.0.0/16",)).route.next_hop_type
        == "VNetPeering"
    )


def test_service_tag_routes() -> None:
    t = table(("to-fw", "0.0.0.0/0", "VirtualAppliance", FW), ("azure", "AzureCloud.eastus2", "Internet", None))
    fp = firewall_in_path(t, FW, destination="20.1.1.1", vnet_prefixes=VNET)
    assert fp.in_path is None and "possibly instead route 'azure'" in fp.evidence
    tags = {"AzureCloud.eastus2": ["20.1.0.0/16"]}
    assert firewall_in_path(t, FW, destination="20.1.1.1", vnet_prefixes=VNET, service_tags=tags).in_path is False
    assert firewall_in_path(t, FW, destination="20.2.1.1", vnet_prefixes=VNET, service_tags=tags).in_path is True
    # A private destination can't be in a service tag.
    assert firewall_in_path(t, FW, destination="192.168.0.1", vnet_prefixes=VNET).in_path is False


def test_bgp_propagation_note_and_errors() -> None:
    assert next_hop(table(bgp=True), "1.1.1.1", vnet_prefixes=VNET).notes
    assert not next_hop(table(bgp=False), "1.1.1.1", vnet_prefixes=VNET).notes
    assert not next_hop(FORCED, "1.1.1.1", vnet_prefixes=VNET).notes  # a UDR 0.0.0.0/0 beats BGP routes
    with pytest.raises(ResourceFormatError, match="needs nextHopIpAddress"):
        next_hop(table(("x", "0.0.0.0/0", "VirtualAppliance", None)), "1.1.1.1")
    with pytest.raises(ResourceFormatError, match="nextHopType: expected one of"):
        next_hop(table(("x", "0.0.0.0/0", "Teleport", None)), "1.1.1.1")
    with pytest.raises(ValueError, match="expected an IP"):
        next_hop(None, "github.com")
