"""NSG evaluation: Azure's defaults, priorities, tags, prefixes, ports, protocols, ASGs."""

from __future__ import annotations

import copy

import pytest

from aks_jumpbox.preflight._arm import ResourceFormatError
from aks_jumpbox.preflight.nsg import (
    NetworkContext,
    NsgFlow,
    Verdict,
    combine,
    compile_nsg,
    evaluate,
    evaluate_nsg,
    nic_nsg_note,
    parse_nsg,
)
from tests.unit.preflight.builders import asg_id, load, nsg, nsg_rule

VNET = NetworkContext(vnet_prefixes=("10.0.0.0/16",))


def inbound(src: str, dst: str, port: int | str, protocol: str = "Tcp") -> NsgFlow:
    return NsgFlow("Inbound", protocol, src, dst, port)


def outbound(src: str, dst: str, port: int | str, protocol: str = "Tcp") -> NsgFlow:
    return NsgFlow("Outbound", protocol, src, dst, port)


# --- Azure's default rules ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flow", "verdict", "rule"),
    [
        (inbound("10.0.1.4", "10.0.2.4", 22), Verdict.ALLOW, "AllowVnetInBound"),
        (inbound("VirtualNetwork", "VirtualNetwork", 8080, "Udp"), Verdict.ALLOW, "AllowVnetInBound"),
        (inbound("AzureLoadBalancer", "10.0.2.4", 60001), Verdict.ALLOW, "AllowAzureLoadBalancerInBound"),
        (inbound("Internet", "10.0.2.4", 22), Verdict.DENY, "DenyAllInBound"),
        (inbound("203.0.113.7", "10.0.2.4", 443), Verdict.DENY, "DenyAllInBound"),
        (outbound("10.0.1.4", "10.0.2.4", 22), Verdict.ALLOW, "AllowVnetOutBound"),
        (outbound("10.0.1.4", "Internet", 443), Verdict.ALLOW, "AllowInternetOutBound"),
        (outbound("10.0.1.4", "140.82.112.3", 443), Verdict.ALLOW, "AllowInternetOutBound"),
        # A private address outside the VNet is neither VirtualNetwork nor Internet.
        (outbound("10.0.1.4", "192.168.7.1", 443), Verdict.DENY, "DenyAllOutBound"),
    ],
)
def test_default_rules_apply_when_the_document_lists_none(flow: NsgFlow, verdict: Verdict, rule: str) -> None:
    result = evaluate_nsg(nsg("nsg-empty"), flow, VNET)
    assert result.verdict is verdict
    assert result.rule is not None and result.rule.name == rule and result.rule.default
    assert result.rule.priority in (65000, 65001, 65500)
    assert "defaultSecurityRules" in result.evidence


def test_default_rules_from_the_document_are_used_as_given() -> None:
    doc = load("upstream/nsg-imagebuilder.json")
    parsed = parse_nsg(doc)
    assert parsed.defaults_from_document
    assert sum(r.ref.default for r in parsed.rules) == 6
    # Dropping the document's defaults makes the evaluator add Azure's: the same verdicts follow.
    bare = copy.deepcopy(doc)
    del bare["properties"]["defaultSecurityRules"]
    assert not parse_nsg(bare).defaults_from_document
    ctx = NetworkContext(vnet_prefixes=("10.241.0.0/28",))
    for flow in (inbound("10.241.0.4", "10.241.0.5", 3389), outbound("10.241.0.4", "8.8.8.8", 53, "Udp")):
        a, b = evaluate_nsg(doc, flow, ctx), evaluate_nsg(bare, flow, ctx)
        assert (a.verdict, a.rule.name if a.rule else None) == (b.verdict, b.rule.name if b.rule else None)


def test_defaults_are_per_direction() -> None:
    deny_out = nsg("n", nsg_rule("deny-out", 100, "Deny", direction="Outbound"))
    assert evaluate_nsg(deny_out, inbound("10.0.1.4", "10.0.2.4", 22), VNET).verdict is Verdict.ALLOW
    assert evaluate_nsg(deny_out, outbound("10.0.1.4", "10.0.2.4", 22), VNET).verdict is Verdict.DENY


# --- priority and first match ------------------------------------------------------------------


def test_lower_priority_number_wins_whatever_the_document_order() -> None:
    doc = nsg(
        "nsg-x",
        nsg_rule("allow-ssh", 200, "Allow", protocol="Tcp", dports="22"),
        nsg_rule("deny-all-in", 100, "Deny"),
    )
    result = evaluate_nsg(doc, inbound("10.0.1.4", "10.0.2.4", 22), VNET)
    assert result.verdict is Verdict.DENY
    assert result.evidence == "denied by rule 'deny-all-in' (priority 100) of nsg-x"


def test_overlapping_allow_and_deny_first_match_decides() -> None:
    doc = nsg(
        "nsg-x",
        nsg_rule("allow-22-from-subnet", 300, "Allow", protocol="Tcp", src="10.0.1.0/24", dports="22"),
        nsg_rule("deny-22-from-vnet", 400, "Deny", protocol="Tcp", src="VirtualNetwork", dports="22"),
        nsg_rule("allow-vnet", 500, "Allow", src="VirtualNetwork", dst="VirtualNetwork"),
        nsg_rule("deny-all-in", 4096, "Deny"),
    )
    c = compile_nsg(doc, VNET)
    assert evaluate(c, inbound("10.0.1.9", "10.0.2.4", 22)).rule.name == "allow-22-from-subnet"  # type: ignore[union-attr]
    r = evaluate(c, inbound("10.0.3.9", "10.0.2.4", 22))
    assert (r.verdict, r.rule.name) == (Verdict.DENY, "deny-22-from-vnet")  # type: ignore[union-attr]
    r = evaluate(c, inbound("10.0.3.9", "10.0.2.4", 80))
    assert (r.verdict, r.rule.name) == (Verdict.ALLOW, "allow-vnet")  # type: ignore[union-attr]
    r = evaluate(c, inbound("Internet", "10.0.2.4", 80))
    assert r.evidence == "denied by rule 'deny-all-in' (priority 4096) of nsg-x"


def test_deny_all_before_defaults_blocks_what_defaults_would_allow() -> None:
    doc = nsg("nsg-x", nsg_rule("deny-all-in", 4096, "Deny"))
    r = evaluate_nsg(doc, inbound("AzureLoadBalancer", "10.0.2.4", 60001), VNET)
    assert r.verdict is Verdict.DENY and r.rule.name == "deny-all-in"  # type: ignore[union-attr]


# --- ports and protocols -----------------------------------------------------------------------


def test_a_rule_allowing_443_does_not_allow_80() -> None:
    doc = nsg(
        "nsg-x",
        nsg_rule("https-out", 100, "Allow", direction="Outbound", protocol="Tcp", dst="Internet", dports="443"),
        nsg_rule("deny-out", 4096, "Deny", direction="Outbound"),
    )
    c = compile_nsg(doc, VNET)
    assert evaluate(c, outbound("10.0.1.4", "Internet", 443)).verdict is Verdict.ALLOW
    r80 = evaluate(c, outbound("10.0.1.4", "Internet", 80))
    assert r80.verdict is Verdict.DENY and r80.rule.name == "deny-out"  # type: ignore[union-attr]


def test_port_lists_and_ranges() -> None:
    doc = nsg(
        "nsg-x",
        nsg_rule("aib", 100, "Allow", protocol="Tcp", dports=["22", "60000-60001"]),
        nsg_rule("deny-all-in", 4096, "Deny"),
    )
    c = compile_nsg(doc, VNET)
    for port in (22, 60000, 60001, "60000-60001", "22,60000"):
        assert evaluate(c, inbound("10.0.1.4", "10.0.2.4", port)).verdict is Verdict.ALLOW, port
    for port in (21, 23, 59999, 60002):
        assert evaluate(c, inbound("10.0.1.4", "10.0.2.4", port)).verdict is Verdict.DENY, port


def test_a_flow_range_only_partly_allowed_is_denied_with_the_split_in_the_evidence() -> None:
    doc = nsg(
        "nsg-x",
        nsg_rule("probe-linux", 100, "Allow", protocol="Tcp", src="AzureLoadBalancer", dports="60001"),
        nsg_rule("deny-all-in", 4096, "Deny"),
    )
    r = evaluate_nsg(doc, inbound("AzureLoadBalancer", "10.0.2.4", "60000-60001"), VNET)
    assert r.verdict is Verdict.DENY and r.partial
    assert r.rule.name == "deny-all-in"  # type: ignore[union-attr]
    assert "destination port 60000 denied by rule 'deny-all-in'" in r.evidence
    assert "destination port 60001 allowed by rule 'probe-linux'" in r.evidence


def test_star_protocol_matches_everything_and_tcp_never_matches_udp() -> None:
    doc = nsg(
        "nsg-x",
        nsg_rule("tcp-only", 100, "Allow", protocol="Tcp", dports="53"),
        nsg_rule("any-proto", 200, "Deny", dports="53"),
    )
    c = compile_nsg(doc, VNET)
    assert evaluate(c, inbound("10.0.1.4", "10.0.2.4", 53, "Tcp")).rule.name == "tcp-only"  # type: ignore[union-attr]
    for proto in ("Udp", "Icmp", "Esp", "Ah"):
        assert evaluate(c, inbound("10.0.1.4", "10.0.2.4", 53, proto)).rule.name == "any-proto"  # type: ignore[union-attr]


def test_source_port_restrictions() -> None:
    doc = nsg("nsg-x", nsg_rule("high-src", 100, "Allow", sports="1024-65535"), nsg_rule("deny", 200, "Deny"))
    c = compile_nsg(doc, VNET)
    assert evaluate(c, NsgFlow("Inbound", "Tcp", "10.0.1.4", "10.0.2.4", 22, source_port=40000)).allowed
    # Any source port (the default) includes the low ones, which are denied.
    r = evaluate(c, inbound("10.0.1.4", "10.0.2.4", 22))
    assert r.verdict is Verdict.DENY and r.partial and "source port 0-1023" in r.evidence


# --- addresses and tags ------------------------------------------------------------------------


def test_prefix_fully_contained_matches_partial_overlap_is_reported() -> None:
    doc = nsg(
        "nsg-x",
        nsg_rule("deny-half", 100, "Deny", src="10.0.1.0/25"),
        nsg_rule("allow-vnet", 200, "Allow", src="VirtualNetwork"),
    )
    c = compile_nsg(doc, VNET)
    assert evaluate(c, inbound("10.0.1.0/26", "10.0.2.4", 22)).verdict is Verdict.DENY
    assert not evaluate(c, inbound("10.0.1.0/26", "10.0.2.4", 22)).partial
    assert evaluate(c, inbound("10.0.1.128/25", "10.0.2.4", 22)).verdict is Verdict.ALLOW
    r = evaluate(c, inbound("10.0.1.0/24", "10.0.2.4", 22))
    assert r.verdict is Verdict.DENY and r.partial
    assert r.evidence == (
        "partly denied: source 10.0.1.0/25 denied by rule 'deny-half' (priority 100) of nsg-x; "
        "source 10.0.1.128/25 allowed by rule 'allow-vnet' (priority 200) of nsg-x"
    )


def test_address_lists_and_ranges() -> None:
    doc = nsg(
        "nsg-x",
        nsg_rule("allow-some", 100, "Allow", src=["10.0.1.4", "10.0.1.16/28", "10.0.3.10-10.0.3.20"]),
        nsg_rule("deny", 200, "Deny"),
    )
    c = compile_nsg(doc, VNET)
    for ok in ("10.0.1.4", "10.0.1.20", "10.0.3.10", "10.0.3.20", "10.0.1.16/29", "10.0.3.12-10.0.3.15"):
        assert evaluate(c, inbound(ok, "10.0.2.4", 22)).allowed, ok
    for bad in ("10.0.1.5", "10.0.3.9", "10.0.3.21", "10.0.3.0/24"):
        assert evaluate(c, inbound(bad, "10.0.2.4", 22)).verdict is Verdict.DENY, bad


def test_virtual_network_tag_includes_peered_spaces_given_as_context() -> None:
    doc = nsg("nsg-x", nsg_rule("vnet", 100, "Allow", src="VirtualNetwork"), nsg_rule("deny", 200, "Deny"))
    peer = "10.50.1.4"
    assert evaluate_nsg(doc, inbound(peer, "10.0.2.4", 22), VNET).verdict is Verdict.DENY
    with_peer = NetworkContext(vnet_prefixes=("10.0.0.0/16", "10.50.0.0/16"))
    assert evaluate_nsg(doc, inbound(peer, "10.0.2.4", 22), with_peer).allowed


def test_internet_tag_is_public_space_outside_the_vnet() -> None:
    doc = nsg(
        "nsg-x",
        nsg_rule("deny-inet", 100, "Deny", direction="Outbound", dst="Internet"),
        nsg_rule("allow", 200, "Allow", direction="Outbound"),
    )
    # A VNet that uses public address space: those addresses are VirtualNetwork, not Internet.
    ctx = NetworkContext(vnet_prefixes=("10.0.0.0/16", "20.1.0.0/16"))
    c = compile_nsg(doc, ctx)
    assert evaluate(c, outbound("10.0.0.4", "20.1.2.3", 443)).allowed
    assert evaluate(c, outbound("10.0.0.4", "20.2.2.3", 443)).verdict is Verdict.DENY
    assert evaluate(c, outbound("10.0.0.4", "172.16.0.1", 443)).allowed
    assert evaluate(c, outbound("10.0.0.4", "168.63.129.16", 53, "Udp")).allowed


def test_azure_load_balancer_tag_and_the_host_address() -> None:
    doc = nsg(
        "nsg-x",
        nsg_rule("lb", 100, "Allow", src="AzureLoadBalancer", dports="60001"),
        nsg_rule("deny", 200, "Deny"),
    )
    c = compile_nsg(doc, VNET)
    assert evaluate(c, inbound("AzureLoadBalancer", "10.0.2.4", 60001)).allowed
    assert evaluate(c, inbound("168.63.129.16", "10.0.2.4", 60001)).allowed
    assert evaluate(c, inbound("168.63.129.17", "10.0.2.4", 60001)).verdict is Verdict.DENY


def test_whether_virtual_network_covers_the_host_address_is_a_context_choice() -> None:
    doc = nsg(
        "nsg-x",
        nsg_rule("vnet", 100, "Allow", src="VirtualNetwork", dports="60001"),
        nsg_rule("deny", 4096, "Deny"),
    )
    probe = inbound("AzureLoadBalancer", "10.0.2.4", 60001)
    r = evaluate_nsg(doc, probe, VNET)
    assert r.verdict is Verdict.UNKNOWN
    assert "whether the VirtualNetwork tag includes the host address 168.63.129.16" in r.evidence
    yes = NetworkContext(vnet_prefixes=("10.0.0.0/16",), host_vip_in_virtual_network=True)
    no = NetworkContext(vnet_prefixes=("10.0.0.0/16",), host_vip_in_virtual_network=False)
    assert evaluate_nsg(doc, probe, yes).allowed
    assert evaluate_nsg(doc, probe, no).verdict is Verdict.DENY


def test_unknown_service_tags_are_unknown_unless_a_table_is_given() -> None:
    doc = nsg(
        "nsg-x",
        nsg_rule("deny-storage", 100, "Deny", direction="Outbound", dst="Storage"),
        nsg_rule("allow-out", 200, "Allow", direction="Outbound"),
    )
    r = evaluate_nsg(doc, outbound("10.0.1.4", "52.239.1.1", 443), VNET)
    assert r.verdict is Verdict.UNKNOWN and "service tag Storage" in r.evidence
    # A private destination can never be in a service tag: no doubt.
    assert evaluate_nsg(doc, outbound("10.0.1.4", "10.0.9.9", 443), VNET).allowed
    tagged = NetworkContext(vnet_prefixes=("10.0.0.0/16",), service_tags={"Storage": ("52.239.0.0/17",)})
    assert evaluate_nsg(doc, outbound("10.0.1.4", "52.239.1.1", 443), tagged).verdict is Verdict.DENY
    assert evaluate_nsg(doc, outbound("10.0.1.4", "52.240.1.1", 443), tagged).allowed


def test_flow_to_a_service_tag() -> None:
    def run(dst_rule: str, flow_dst: str = "Storage") -> Verdict:
        doc = nsg(
            "nsg-x",
            nsg_rule("allow", 100, "Allow", direction="Outbound", protocol="Tcp", dst=dst_rule, dports="443"),
            nsg_rule("deny", 200, "Deny", direction="Outbound"),
        )
        return evaluate_nsg(doc, outbound("10.0.1.4", flow_dst, 443), VNET).verdict

    assert run("Storage") is Verdict.ALLOW
    assert run("storage") is Verdict.ALLOW  # tags compare case-insensitively
    assert run("Storage", "Storage.EastUS2") is Verdict.ALLOW  # a regional tag is part of its global tag
    assert run("Internet") is Verdict.ALLOW
    assert run("*") is Verdict.ALLOW
    assert run("0.0.0.0/0") is Verdict.ALLOW
    assert run("10.0.0.0/8") is Verdict.DENY
    assert run("Storage.EastUS2") is Verdict.UNKNOWN  # only part of Storage
    assert run("AzureCloud") is Verdict.UNKNOWN
    assert run("52.0.0.0/8") is Verdict.UNKNOWN


# --- application security groups ---------------------------------------------------------------


def test_asg_rules_are_unknown_unless_members_are_supplied() -> None:
    web = asg_id("asg-web")
    doc = nsg(
        "nsg-x",
        nsg_rule("deny-web", 100, "Deny", src_asgs=[web]),
        nsg_rule("allow-vnet", 200, "Allow", src="VirtualNetwork"),
        nsg_rule("deny-all", 4096, "Deny"),
    )
    flow = inbound("10.0.1.4", "10.0.2.4", 22)
    r = evaluate_nsg(doc, flow, VNET)
    assert r.verdict is Verdict.UNKNOWN
    assert "members of application security group asg-web are not known" in r.evidence
    assert r.decisions[0].unresolved[0][0].name == "deny-web"
    ctx_in = NetworkContext(vnet_prefixes=("10.0.0.0/16",), asg_members={web: ("10.0.1.4",)})
    ctx_out = NetworkContext(vnet_prefixes=("10.0.0.0/16",), asg_members={web.upper(): ("10.0.1.5",)})
    assert evaluate_nsg(doc, flow, ctx_in).verdict is Verdict.DENY
    assert evaluate_nsg(doc, flow, ctx_out).allowed


def test_unknown_asg_does_not_matter_when_the_outcome_is_the_same_or_the_flow_is_outside_the_vnet() -> None:
    web = asg_id("asg-web")
    doc = nsg(
        "nsg-x",
        nsg_rule("allow-web", 100, "Allow", src_asgs=[web], dports="22"),
        nsg_rule("allow-vnet", 200, "Allow", src="VirtualNetwork"),
        nsg_rule("deny-all", 4096, "Deny"),
    )
    c = compile_nsg(doc, VNET)
    assert evaluate(c, inbound("10.0.1.4", "10.0.2.4", 22)).allowed  # both possible deciders allow
    # ASG members are NICs of the VNet: an Internet source can't be one.
    r = evaluate(c, inbound("Internet", "10.0.2.4", 22))
    assert r.verdict is Verdict.DENY and r.rule.name == "deny-all"  # type: ignore[union-attr]


def test_destination_asg() -> None:
    jump = asg_id("asg-jump")
    doc = nsg(
        "nsg-x",
        nsg_rule("ssh-to-jump", 100, "Allow", dst_asgs=[jump], dports="22"),
        nsg_rule("deny", 200, "Deny"),
    )
    ctx = NetworkContext(vnet_prefixes=("10.0.0.0/16",), asg_members={jump: ("10.0.2.4", "10.0.2.5")})
    assert evaluate_nsg(doc, inbound("10.0.1.4", "10.0.2.5", 22), ctx).allowed
    assert evaluate_nsg(doc, inbound("10.0.1.4", "10.0.2.6", 22), ctx).verdict is Verdict.DENY


# --- document shapes and errors ----------------------------------------------------------------


def test_flattened_az_cli_shape_is_accepted() -> None:
    flat = {
        "id": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg-flat",
        "name": "nsg-flat",
        "securityRules": [
            {
                "name": "deny-ssh",
                "priority": 100,
                "direction": "Inbound",
                "access": "Deny",
                "protocol": "Tcp",
                "sourceAddressPrefix": "*",
                "destinationAddressPrefix": "*",
                "sourcePortRange": "*",
                "destinationPortRange": "22",
            }
        ],
    }
    r = evaluate_nsg(flat, inbound("10.0.1.4", "10.0.2.4", 22), VNET)
    assert r.evidence == "denied by rule 'deny-ssh' (priority 100) of nsg-flat"
    assert r.rule.nsg_id.endswith("/nsg-flat") and not r.rule.default  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"priority": "high"}, "'bad': priority: expected an integer"),
        ({"direction": "Sideways"}, "'bad': direction: expected one of Inbound, Outbound"),
        ({"protocol": "Sctp"}, "'bad': protocol: expected one of"),
        (
            {"destinationPortRange": "70000"},
            "'bad': destinationPortRanges: '70000' is not a port range within 0-65535",
        ),
        ({"sourceAddressPrefix": None}, "'bad': has neither a source address prefix"),
        ({"sourceAddressPrefix": "10.0.0.300/24"}, "is neither an address"),
    ],
)
def test_malformed_rules_are_reported_with_nsg_rule_and_field(patch: dict[str, object], message: str) -> None:
    rule = nsg_rule("bad", 100, "Allow")
    rule["properties"].update(patch)
    with pytest.raises(ResourceFormatError, match="nsg-bad") as e:
        compile_nsg(nsg("nsg-bad", rule), VNET)
    assert message in str(e.value)
    assert e.value.exit_code == 2


def test_malformed_flows_raise_value_error() -> None:
    c = compile_nsg(nsg("n"), VNET)
    with pytest.raises(ValueError, match="direction"):
        evaluate(c, NsgFlow("Up", "Tcp", "*", "*", 22))
    with pytest.raises(ValueError, match="protocol"):
        evaluate(c, NsgFlow("Inbound", "Sctp", "*", "*", 22))
    with pytest.raises(ValueError, match="VNet address space"):
        evaluate(compile_nsg(nsg("n"), NetworkContext()), inbound("VirtualNetwork", "*", 22))


# --- paths through several NSGs, and the NIC note ----------------------------------------------


def test_combine_requires_every_nsg_to_allow() -> None:
    allow = nsg("a", nsg_rule("allow", 100, "Allow"))
    deny = nsg("d", nsg_rule("deny", 100, "Deny"))
    unknown = nsg("u", nsg_rule("maybe", 100, "Deny", src_asgs=[asg_id("x")]), nsg_rule("allow", 200, "Allow"))
    f = inbound("10.0.1.4", "10.0.2.4", 22)
    a, d, u = (evaluate_nsg(x, f, VNET) for x in (allow, deny, unknown))
    assert combine([a, a]) is Verdict.ALLOW
    assert combine([a, u]) is Verdict.UNKNOWN
    assert combine([u, d, a]) is Verdict.DENY


def test_nic_note_names_the_processing_order() -> None:
    assert "subnet's NSG first, then the NIC's" in nic_nsg_note("Inbound", ["nsg-imagebuilder"])
    assert "NIC's NSG first, then the subnet's" in nic_nsg_note("Outbound")
    assert "nsg-imagebuilder" in nic_nsg_note("Inbound", ["nsg-imagebuilder"])
