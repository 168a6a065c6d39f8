"""The upstream guide's maximally locked-down network lets every flow it lists through, and no more.

Fixtures: ``fixtures/upstream`` (see its README). The required flows are the guide's own tables
("Before we begin"); the broken variants each remove one prerequisite and must fail with evidence.
"""

from __future__ import annotations

import copy
import re

import pytest

from aks_jumpbox.preflight import firewall, nsg, route, subnet
from aks_jumpbox.preflight.findings import Status
from aks_jumpbox.preflight.nsg import NetworkContext, NsgFlow, Verdict
from tests.conftest import ROOT
from tests.unit.preflight.builders import load

NSG = load("upstream/nsg-imagebuilder.json")
VNET = load("upstream/vnet-imagebuilder.json")
ROUTES = load("upstream/route-table.json")
FIREWALL = load("upstream/firewall-policy.json")
SUBNET = subnet.subnet_from_vnet(VNET, "snet-imagebuilder")
BUILD_PREFIX = "10.241.0.0/28"
CTX = NetworkContext(vnet_prefixes=subnet.virtual_network_prefixes(VNET))

REQUIRED_NSG_FLOWS = [
    NsgFlow("Inbound", "Tcp", "AzureLoadBalancer", "VirtualNetwork", 60001),  # LB health probe to the proxy VM
    NsgFlow("Inbound", "Tcp", "VirtualNetwork", "VirtualNetwork", 60001),  # private link IP to the proxy VM
    NsgFlow("Inbound", "Tcp", "VirtualNetwork", "VirtualNetwork", 22),  # proxy VM to the Packer VM
    NsgFlow("Outbound", "Tcp", "VirtualNetwork", "Internet", 443),  # management APIs, storage, tooling
    NsgFlow("Outbound", "Tcp", "VirtualNetwork", "Internet", 80),  # apt
    NsgFlow("Outbound", "Tcp", "VirtualNetwork", "VirtualNetwork", 22),  # proxy VM to the Packer VM
]

# (application protocol, port, FQDN) from the guide's egress table; the storage account name is
# unknown, so the flow is "any name under blob.core.windows.net".
REQUIRED_EGRESS = [
    ("Https", 443, "*.blob.core.windows.net"),
    ("Https", 443, "management.azure.com"),
    ("Http", 80, "azure.archive.ubuntu.com"),
    ("Http", 80, "archive.ubuntu.com"),
    ("Http", 80, "packages.microsoft.com"),
    ("Https", 443, "packages.microsoft.com"),
    ("Http", 80, "security.ubuntu.com"),
    ("Https", 443, "azurecliprod.blob.core.windows.net"),
    ("Https", 443, "aka.ms"),
    ("Https", 443, "storage.googleapis.com"),
    ("Https", 443, "api.github.com"),
    ("Https", 443, "github-releases.githubusercontent.com"),
    ("Https", 443, "github.com"),
    ("Https", 443, "raw.githubusercontent.com"),
    ("Https", 443, "get.helm.sh"),
    ("Https", 443, "fluxcd.io"),
    ("Https", 443, "releases.hashicorp.com"),
]


GUIDE = ROOT / "tests" / "data" / "mspnp-aks-jumpbox-imagebuilder" / "README.md"


def guide_egress_table(text: str) -> list[tuple[str, int, str]]:
    """(application protocol, port, FQDN) of each row of the guide's egress table, e.g.
    ``| HTTP:`80`<br>HTTPS:`443` | `packages.microsoft.com` | ... |``; the _as needed_ row is no FQDN."""
    rows = []
    for ports, fqdn in re.findall(r"^\s*\| ((?:HTTPS?:`\d+`(?:<br>)?)+)\s*\| `([^`]+)`", text, re.M):
        for proto, port in re.findall(r"(HTTPS?):`(\d+)`", ports):
            rows.append((proto.capitalize(), int(port), fqdn))
    return rows


def test_the_required_egress_is_the_vendored_guides_table() -> None:
    table = guide_egress_table(GUIDE.read_text(encoding="utf-8"))
    assert sorted(table) == sorted(REQUIRED_EGRESS)


def test_the_table_reader_splits_a_two_protocol_row() -> None:
    row = "    | HTTP:`80`<br>HTTPS:`443` | `packages.microsoft.com`  | Allows Packer VM to run apt-get commands |"
    assert guide_egress_table(row) == [("Http", 80, "packages.microsoft.com"), ("Https", 443, "packages.microsoft.com")]


def egress(app: str, port: int, fqdn: str) -> firewall.FirewallFlow:
    return firewall.FirewallFlow(BUILD_PREFIX, port, fqdn=fqdn, app_protocol=app)


def policy_docs(resources: list[dict]) -> firewall.FirewallPolicyDocs:  # type: ignore[type-arg]
    return firewall.policy_docs_from_resources(resources, resources[0]["id"])


@pytest.mark.parametrize("flow", REQUIRED_NSG_FLOWS, ids=str)
def test_every_flow_the_guide_requires_passes_its_nsg(flow: NsgFlow) -> None:
    r = nsg.evaluate(nsg.compile_nsg(NSG, CTX), flow)
    assert r.verdict is Verdict.ALLOW, r.evidence
    assert r.rule is not None and not r.rule.default and r.rule.priority < 1000


@pytest.mark.parametrize(
    ("flow", "rule"),
    [
        # NTP is blocked, as the guide says, and harmlessly so.
        (NsgFlow("Outbound", "Udp", "VirtualNetwork", "Internet", 123), "DenyAllOutBound"),
        # 60000 is the Windows proxy port; the guide's Linux table opens only 60001.
        (NsgFlow("Inbound", "Tcp", "AzureLoadBalancer", "VirtualNetwork", 60000), "DenyAllInBound"),
        (NsgFlow("Inbound", "Tcp", "Internet", "VirtualNetwork", 22), "DenyAllInBound"),
        (NsgFlow("Outbound", "Tcp", "VirtualNetwork", "Internet", 8080), "DenyAllOutBound"),
    ],
    ids=str,
)
def test_everything_else_is_denied_by_its_deny_all_rules(flow: NsgFlow, rule: str) -> None:
    r = nsg.evaluate(nsg.compile_nsg(NSG, CTX), flow)
    assert r.verdict is Verdict.DENY
    assert r.evidence == f"denied by rule '{rule}' (priority 1000) of nsg-imagebuilder"


@pytest.mark.parametrize(("app", "port", "fqdn"), REQUIRED_EGRESS, ids=lambda x: str(x))
def test_every_fqdn_the_guide_requires_passes_its_firewall(app: str, port: int, fqdn: str) -> None:
    r = firewall.evaluate(firewall.compile_policy(policy_docs(FIREWALL)), egress(app, port, fqdn))
    assert r.verdict is Verdict.ALLOW, r.evidence
    assert r.rule is not None and r.rule.collection == "AzureImageBuilder"


@pytest.mark.parametrize(
    ("app", "port", "fqdn"),
    [
        ("Https", 443, "azure.archive.ubuntu.com"),  # only HTTP 80 is listed for it
        ("Https", 443, "blob.core.windows.net"),  # the wildcard does not cover the bare domain
        ("Https", 443, "api.snapcraft.io"),  # the guide says it is safe to block
        ("Http", 80, "github.com"),
    ],
    ids=lambda x: str(x),
)
def test_the_firewall_denies_what_the_guide_does_not_list(app: str, port: int, fqdn: str) -> None:
    r = firewall.evaluate(firewall.compile_policy(policy_docs(FIREWALL)), egress(app, port, fqdn))
    assert r.verdict is Verdict.DENY and r.rule is None
    assert "Azure Firewall denies it by default" in r.evidence


def test_the_route_table_sends_egress_to_the_hub_firewall() -> None:
    fp = route.firewall_in_path(
        ROUTES, "10.200.0.4", vnet_prefixes=("10.241.0.0/28",), peered_prefixes=("10.200.0.0/24",)
    )
    assert fp.in_path is True and fp.hop.route.name == "r-nexthop-to-fw"


def test_the_build_subnet_meets_the_proxy_topology_prerequisites() -> None:
    info = subnet.subnet_info(SUBNET)
    findings = [
        subnet.check_prefix_size(info),
        subnet.check_free_addresses(info, 4),
        subnet.check_private_link_policies(info),
        subnet.check_build_subnet_not_delegated(info),
        subnet.check_region(VNET, "East US 2"),
        subnet.check_subscription(info, info.id.subscription),
    ]
    assert [f.status for f in findings] == [Status.PASS] * len(findings), [f.to_dict() for f in findings]


# --- one broken prerequisite at a time ---------------------------------------------------------


def _without_rule(name: str) -> dict:  # type: ignore[type-arg]
    doc = copy.deepcopy(NSG)
    doc["properties"]["securityRules"] = [r for r in doc["properties"]["securityRules"] if r["name"] != name]
    return doc


def test_dropping_the_inbound_ssh_rule_fails_with_the_deny_all_rule_as_evidence() -> None:
    r = nsg.evaluate(nsg.compile_nsg(_without_rule("AllowVNet22InBound"), CTX), REQUIRED_NSG_FLOWS[2])
    assert r.verdict is Verdict.DENY
    assert r.evidence == "denied by rule 'DenyAllInBound' (priority 1000) of nsg-imagebuilder"


def test_dropping_the_load_balancer_rule_leaves_the_probe_undecided_not_allowed() -> None:
    # Only the VirtualNetwork rule is left for a probe from 168.63.129.16: whether the tag covers the
    # host address is not certain, so the check can't pass.
    r = nsg.evaluate(nsg.compile_nsg(_without_rule("AllowAzureLoadBalancer60001InBound"), CTX), REQUIRED_NSG_FLOWS[0])
    assert r.verdict is Verdict.UNKNOWN
    assert "rule 'DenyAllInBound' (priority 1000)" in r.evidence and "168.63.129.16" in r.evidence


def test_dropping_an_fqdn_from_the_firewall_fails_that_flow_only() -> None:
    broken = copy.deepcopy(FIREWALL)
    rules = broken[1]["properties"]["ruleCollections"][0]["rules"]
    broken[1]["properties"]["ruleCollections"][0]["rules"] = [r for r in rules if r["targetFqdns"] != ["get.helm.sh"]]
    c = firewall.compile_policy(policy_docs(broken))
    verdicts = {fqdn: firewall.evaluate(c, egress(a, p, fqdn)).verdict for a, p, fqdn in REQUIRED_EGRESS}
    assert verdicts.pop("get.helm.sh") is Verdict.DENY
    assert set(verdicts.values()) == {Verdict.ALLOW}


def test_a_source_restricted_to_part_of_the_subnet_is_a_partial_failure() -> None:
    broken = copy.deepcopy(FIREWALL)
    for r in broken[1]["properties"]["ruleCollections"][0]["rules"]:
        r["sourceAddresses"] = ["10.241.0.0/29"]
    r = firewall.evaluate(firewall.compile_policy(policy_docs(broken)), egress("Https", 443, "github.com"))
    assert r.verdict is Verdict.DENY and r.partial and "source 10.241.0.8/29" in r.evidence


def test_private_link_policies_left_enabled_fail_with_the_fix() -> None:
    s = copy.deepcopy(SUBNET)
    s["properties"]["privateLinkServiceNetworkPolicies"] = "Enabled"
    f = subnet.check_private_link_policies(s)
    assert f.status is Status.FAIL
    assert f.fix is not None and "-n snet-imagebuilder --private-link-service-network-policies Disabled" in f.fix
