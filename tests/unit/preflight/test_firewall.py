"""Azure Firewall policy evaluation: processing order, FQDNs, protocols, tags, inheritance."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aks_jumpbox.preflight._arm import ResourceFormatError
from aks_jumpbox.preflight.addresses import NetworkContext
from aks_jumpbox.preflight.firewall import (
    FirewallContext,
    FirewallFlow,
    FirewallPolicyDocs,
    Verdict,
    compile_policy,
    evaluate,
    evaluate_policy,
    ip_groups_from_resources,
    policy_docs_from_resources,
)
from tests.unit.preflight.builders import POLICY_ID, app_rule, collection, group, net_rule, policy

SUBNET = "10.0.1.0/24"


def one_policy(*groups: dict) -> FirewallPolicyDocs:  # type: ignore[type-arg]
    return FirewallPolicyDocs(policy("fwpol"), tuple(groups))


def https(fqdn: str, source: str = SUBNET) -> FirewallFlow:
    return FirewallFlow.https(source, fqdn)


def test_nothing_matches_means_default_deny() -> None:
    r = evaluate_policy(one_policy(), https("github.com"))
    assert r.verdict is Verdict.DENY and r.rule is None
    assert r.evidence == "no rule of policy fwpol matches, so Azure Firewall denies it by default"


def test_wildcard_fqdn_matches_subdomains_but_not_the_bare_domain() -> None:
    docs = one_policy(group("fwpol", "g", 100, collection("c", 100, "Allow", app_rule("contoso", ["*.contoso.com"]))))
    c = compile_policy(docs)
    assert evaluate(c, https("sub.contoso.com")).allowed
    assert evaluate(c, https("a.b.CONTOSO.com")).allowed
    bare = evaluate(c, https("contoso.com"))
    assert bare.verdict is Verdict.DENY and bare.rule is None


def test_an_https_443_rule_does_not_allow_http_80() -> None:
    docs = one_policy(
        group("fwpol", "g", 100, collection("c", 100, "Allow", app_rule("pmc", ["packages.microsoft.com"])))
    )
    c = compile_policy(docs)
    assert evaluate(c, https("packages.microsoft.com")).allowed
    assert evaluate(c, FirewallFlow.http(SUBNET, "packages.microsoft.com")).verdict is Verdict.DENY
    # Same protocol, other port: no match either.
    assert evaluate(c, FirewallFlow.https(SUBNET, "packages.microsoft.com", port=8443)).verdict is Verdict.DENY


def test_network_rules_are_processed_before_application_rules_across_groups() -> None:
    docs = one_policy(
        group("fwpol", "apps-first", 100, collection("allow-apps", 100, "Allow", app_rule("gh", ["github.com"]))),
        group("fwpol", "net-later", 60000, collection("deny-net", 100, "Deny", net_rule("no-443", dst=["*"]))),
    )
    r = evaluate_policy(docs, https("github.com"))
    assert r.verdict is Verdict.DENY
    assert r.rule is not None and r.rule.rule == "no-443" and r.rule.rule_type == "NetworkRule"
    assert (
        "network rule 'no-443' in collection 'deny-net' (priority 100) of group 'net-later' (priority 60000)"
        in r.evidence
    )


def test_group_priority_then_collection_priority_first_match_terminates() -> None:
    docs = one_policy(
        group(
            "fwpol",
            "g-late",
            500,
            collection("deny-all", 100, "Deny", app_rule("all", ["*"])),
        ),
        group(
            "fwpol",
            "g-early",
            200,
            collection("allow-gh", 300, "Allow", app_rule("gh", ["github.com"])),
            collection("deny-gh", 200, "Deny", app_rule("gh-no", ["github.com"])),
        ),
    )
    c = compile_policy(docs)
    r = evaluate(c, https("github.com"))
    assert (r.verdict, r.rule.collection) == (Verdict.DENY, "deny-gh")  # type: ignore[union-attr]
    r = evaluate(c, https("api.github.com"))
    assert (r.verdict, r.rule.collection) == (Verdict.DENY, "deny-all")  # type: ignore[union-attr]


def test_a_deny_of_one_name_under_an_allowed_wildcard_makes_the_wildcard_flow_partial() -> None:
    docs = one_policy(
        group(
            "fwpol",
            "g",
            100,
            collection("deny-one", 100, "Deny", app_rule("evil", ["evil.blob.core.windows.net"])),
            collection("allow-blob", 200, "Allow", app_rule("blob", ["*.blob.core.windows.net"])),
        )
    )
    c = compile_policy(docs)
    r = evaluate(c, https("*.blob.core.windows.net"))
    assert r.verdict is Verdict.DENY and r.partial
    assert "names evil.blob.core.windows.net: denied by application rule 'evil'" in r.evidence
    assert (
        "names *.blob.core.windows.net except evil.blob.core.windows.net: allowed by application rule 'blob'"
        in r.evidence
    )
    assert evaluate(c, https("stacct.blob.core.windows.net")).allowed


def test_source_addresses_and_partial_sources() -> None:
    docs = one_policy(
        group(
            "fwpol",
            "g",
            100,
            collection("c", 100, "Allow", app_rule("gh", ["github.com"], src=["10.0.1.0/25"])),
        )
    )
    c = compile_policy(docs)
    assert evaluate(c, https("github.com", "10.0.1.4")).allowed
    r = evaluate(c, https("github.com", "10.0.1.0/24"))
    assert r.verdict is Verdict.DENY and r.partial and "source 10.0.1.128/25" in r.evidence


def test_fqdn_tags_are_unknown_unless_their_content_is_supplied() -> None:
    docs = one_policy(
        group(
            "fwpol",
            "g",
            100,
            collection("c", 100, "Allow", app_rule("aks", [], tags=["AzureKubernetesService"])),
        )
    )
    r = evaluate_policy(docs, https("mcr.microsoft.com"))
    assert r.verdict is Verdict.UNKNOWN
    assert "FQDN tag AzureKubernetesService is maintained by Microsoft" in r.evidence
    ctx = FirewallContext(fqdn_tags={"azurekubernetesservice": ("mcr.microsoft.com", "*.data.mcr.microsoft.com")})
    assert evaluate_policy(docs, https("mcr.microsoft.com"), ctx).allowed
    assert evaluate_policy(docs, https("github.com"), ctx).verdict is Verdict.DENY
    unknown_tag = one_policy(
        group("fwpol", "g", 100, collection("c", 100, "Allow", app_rule("x", [], tags=["NoSuchTag"])))
    )
    assert "not an FQDN tag aks-jumpbox knows" in evaluate_policy(unknown_tag, https("github.com")).evidence


def test_unknown_content_does_not_matter_when_every_possible_decider_agrees() -> None:
    docs = one_policy(
        group(
            "fwpol",
            "g",
            100,
            collection("tags", 100, "Allow", app_rule("wu", [], tags=["WindowsUpdate"])),
            collection("gh", 200, "Allow", app_rule("gh", ["github.com"])),
        ),
    )
    assert evaluate_policy(docs, https("github.com")).allowed


def test_web_categories_and_target_urls_are_unknown() -> None:
    docs = one_policy(
        group(
            "fwpol",
            "g",
            100,
            collection("c", 100, "Deny", app_rule("cat", [], webCategories=["Gambling"])),
            collection("d", 200, "Allow", app_rule("any", ["*"])),
        )
    )
    r = evaluate_policy(docs, https("github.com"))
    assert r.verdict is Verdict.UNKNOWN and "web categories Gambling" in r.evidence
    urls = one_policy(
        group(
            "fwpol",
            "g",
            100,
            collection("c", 100, "Allow", app_rule("u", [], targetUrls=["github.com/org/*"])),
        )
    )
    assert evaluate_policy(urls, https("github.com")).verdict is Verdict.UNKNOWN


def test_network_rules_by_address_port_and_protocol() -> None:
    docs = one_policy(
        group(
            "fwpol",
            "g",
            100,
            collection(
                "c",
                100,
                "Allow",
                net_rule("ntp", protocols=["UDP"], dst=["*"], ports=["123"]),
                net_rule("dns", protocols=["Any"], dst=["168.63.129.16"], ports=["53"]),
            ),
        )
    )
    c = compile_policy(docs)
    assert evaluate(c, FirewallFlow(SUBNET, 123, destination="203.0.113.5", protocol="UDP")).allowed
    assert evaluate(c, FirewallFlow(SUBNET, 123, destination="203.0.113.5", protocol="TCP")).verdict is Verdict.DENY
    assert evaluate(c, FirewallFlow(SUBNET, 53, destination="168.63.129.16", protocol="UDP")).allowed
    assert evaluate(c, FirewallFlow(SUBNET, 53, destination="168.63.129.17", protocol="UDP")).verdict is Verdict.DENY
    # Application rules never see a flow without a name.
    apps = one_policy(group("fwpol", "g", 100, collection("c", 100, "Allow", app_rule("all", ["*"]))))
    assert (
        evaluate_policy(apps, FirewallFlow(SUBNET, 443, destination="203.0.113.5", app_protocol="Https")).verdict
        is Verdict.DENY
    )


def test_network_rules_with_fqdns_and_names_resolving_to_addresses() -> None:
    docs = one_policy(
        group(
            "fwpol",
            "g",
            100,
            collection("deny-private", 100, "Deny", net_rule("rfc1918", dst=["10.0.0.0/8"])),
            collection("deny-azure", 150, "Deny", net_rule("azcloud", dst=["AzureCloud"], ports=["8443"])),
            collection("allow-fqdn", 200, "Allow", net_rule("mgmt", fqdns=["management.azure.com"])),
            collection("allow-8443", 300, "Allow", net_rule("any-8443", dst=["*"], ports=["8443"])),
        )
    )
    c = compile_policy(docs)
    # A public name is not in 10.0.0.0/8, so the deny does not cast doubt; the FQDN network rule allows.
    assert evaluate(c, https("management.azure.com")).allowed
    # Unless the caller says it resolves to a private endpoint there.
    private = replace(https("management.azure.com"), resolved=("10.9.9.9",))
    r = evaluate(c, private)
    assert r.verdict is Verdict.DENY and r.rule.rule == "rfc1918"  # type: ignore[union-attr]
    # A name's public address may be in AzureCloud: denied if so, else allowed: unknown.
    r = evaluate(c, FirewallFlow.https(SUBNET, "example.org", port=8443))
    assert r.verdict is Verdict.UNKNOWN and "service tag AzureCloud" in r.evidence
    assert "otherwise allowed by network rule 'any-8443'" in r.evidence
    # When every possible decider denies, the verdict is certain.
    r = evaluate(c, FirewallFlow.https(SUBNET, "example.org", port=8444))
    assert r.verdict is Verdict.DENY and r.rule is None
    # Network rule FQDNs match exactly, no wildcards.
    assert evaluate(c, https("x.management.azure.com")).verdict is Verdict.DENY


def test_ip_groups() -> None:
    gid = f"/subscriptions/{'0' * 8}-0000-0000-0000-{'0' * 12}/resourceGroups/rg/providers/Microsoft.Network/ipGroups/ipg-build"  # noqa: E501 - literal data
    docs = one_policy(
        group(
            "fwpol",
            "g",
            100,
            collection("c", 100, "Allow", app_rule("gh", ["github.com"], src=[], sourceIpGroups=[gid])),
        )
    )
    assert evaluate_policy(docs, https("github.com")).verdict is Verdict.UNKNOWN
    groups = ip_groups_from_resources(
        [{"id": gid, "type": "Microsoft.Network/ipGroups", "properties": {"ipAddresses": ["10.0.1.0/24"]}}]
    )
    assert evaluate_policy(docs, https("github.com"), FirewallContext(ip_groups=groups)).allowed
    assert (
        evaluate_policy(docs, https("github.com", "10.0.2.0/24"), FirewallContext(ip_groups=groups)).verdict
        is Verdict.DENY
    )


def test_nat_collections_do_not_apply_to_egress() -> None:
    nat = collection("dnat", 100, "Dnat", {"ruleType": "NatRule", "name": "in"}, nat=True)
    docs = one_policy(group("fwpol", "g", 100, nat, collection("c", 200, "Allow", app_rule("gh", ["github.com"]))))
    assert evaluate_policy(docs, https("github.com")).allowed


# --- parent policies ---------------------------------------------------------------------------


def _chain() -> list[dict]:  # type: ignore[type-arg]
    return [
        policy("parent"),
        group(
            "parent",
            "p-apps",
            65000,
            collection("p-deny-gh", 65000, "Deny", app_rule("no-gh", ["github.com"])),
        ),
        group(
            "parent",
            "p-net",
            65000,
            collection("p-allow-ntp", 100, "Allow", net_rule("ntp", protocols=["UDP"], dst=["*"], ports=["123"])),
        ),
        policy("child", base="parent"),
        group(
            "child",
            "c-apps",
            100,
            collection("c-allow", 100, "Allow", app_rule("gh", ["github.com", "api.github.com"])),
        ),
        group(
            "child",
            "c-net",
            100,
            collection("c-deny-udp", 100, "Deny", net_rule("no-udp", protocols=["UDP"], dst=["*"], ports=["*"])),
        ),
    ]


def test_parent_rules_come_first_within_each_rule_kind() -> None:
    docs = policy_docs_from_resources(_chain(), POLICY_ID + "child")
    assert docs.parent is not None and len(docs.groups) == 2 and len(docs.parent.groups) == 2
    c = compile_policy(docs)
    r = evaluate(c, https("github.com"))
    assert r.verdict is Verdict.DENY and r.rule is not None and r.rule.inherited and r.rule.policy == "parent"
    assert evaluate(c, https("api.github.com")).allowed
    ntp = evaluate(c, FirewallFlow(SUBNET, 123, destination="203.0.113.5", protocol="UDP"))
    assert ntp.allowed and ntp.rule.policy == "parent"  # type: ignore[union-attr]


def test_child_network_rules_still_precede_parent_application_rules() -> None:
    resources = _chain()
    resources[4] = group("child", "c-apps", 100, collection("c-deny-net", 100, "Deny", net_rule("no-gh", dst=["*"])))
    r = evaluate_policy(policy_docs_from_resources(resources, POLICY_ID + "child"), https("github.com"))
    assert r.rule is not None and (r.rule.rule, r.rule.policy) == ("no-gh", "child")


def test_a_parent_that_was_not_supplied_makes_verdicts_unknown() -> None:
    resources = [r for r in _chain() if "parent" not in r["id"]]
    docs = policy_docs_from_resources(resources, POLICY_ID + "child")
    r = evaluate_policy(docs, https("api.github.com"))
    assert r.verdict is Verdict.UNKNOWN
    assert "the parent policy parent was not supplied" in r.evidence
    assert any("inherits from" in n for n in r.notes)


def test_missing_policy_and_malformed_documents() -> None:
    with pytest.raises(ResourceFormatError, match="not among the resources"):
        policy_docs_from_resources([], POLICY_ID + "nope")
    bad = one_policy(group("fwpol", "g", 100, collection("c", 100, "Allow", app_rule("x", ["a.*.com"]))))
    with pytest.raises(ResourceFormatError, match="targetFqdns: 'a.\\*.com': a wildcard is allowed only"):
        compile_policy(bad)
    bad2 = one_policy(group("fwpol", "g", 100, collection("c", 100, "Maybe", app_rule("x", ["a.com"]))))
    with pytest.raises(ResourceFormatError, match="action.type: expected Allow or Deny"):
        compile_policy(bad2)
    bad3 = one_policy(group("fwpol", "g", 100, collection("c", 100, "Allow", app_rule("x", ["a.com"], [("Ftp", 21)]))))
    with pytest.raises(ResourceFormatError, match="protocolType: expected Http, Https or Mssql"):
        compile_policy(bad3)
    with pytest.raises(ValueError, match="exactly one of fqdn and destination"):
        evaluate_policy(one_policy(), FirewallFlow(SUBNET, 443))


# --- properties --------------------------------------------------------------------------------

label = st.sampled_from(["a", "b", "api", "github", "blob", "core"])
name = st.lists(label, min_size=1, max_size=3).map(lambda ls: ".".join(ls) + ".com")
fqdn_pattern = st.one_of(name, name.map(lambda n: "*." + n), st.just("*"))


@st.composite
def app_collections(draw: st.DrawFn) -> list[dict]:  # type: ignore[type-arg]
    prios = draw(st.lists(st.integers(100, 65000), unique=True, min_size=1, max_size=5))
    out = []
    for i, p in enumerate(prios):
        proto = draw(st.sampled_from([[("Https", 443)], [("Http", 80)], [("Http", 80), ("Https", 443)]]))
        rules = [app_rule(f"r{i}", draw(st.lists(fqdn_pattern, min_size=1, max_size=3)), proto)]
        out.append(collection(f"c{i}", p, draw(st.sampled_from(["Allow", "Deny"])), *rules))
    return out


@settings(max_examples=200, deadline=None)
@given(app_collections(), st.one_of(name, name.map(lambda n: "*." + n)), st.booleans(), st.data())
def test_a_later_collection_never_changes_a_verdict_decided_earlier(
    colls: list[dict],
    fqdn: str,
    tls: bool,
    data: st.DataObject,  # type: ignore[type-arg]
) -> None:
    flow = https(fqdn) if tls else FirewallFlow.http(SUBNET, fqdn)
    before = evaluate_policy(one_policy(group("fwpol", "g", 100, *colls)), flow)
    if any(d.rule is None for d in before.decisions):
        return  # partly decided by the default deny: any new rule comes before it
    last = max(d.rule.collection_priority for d in before.decisions if d.rule)
    if last >= 65000:
        return
    extra = collection(
        "zz",
        data.draw(st.integers(last + 1, 65000)),
        data.draw(st.sampled_from(["Allow", "Deny"])),
        app_rule("zz", data.draw(st.lists(fqdn_pattern, min_size=1, max_size=2))),
    )
    if extra["priority"] in {c["priority"] for c in colls}:
        return
    after = evaluate_policy(one_policy(group("fwpol", "g", 100, *colls, extra)), flow)
    assert (after.verdict, after.partial, after.evidence) == (before.verdict, before.partial, before.evidence)


@settings(max_examples=200, deadline=None)
@given(app_collections(), name)
def test_single_names_are_never_partial_and_match_a_name_by_name_model(colls: list[dict], fqdn: str) -> None:  # type: ignore[type-arg]
    from aks_jumpbox.preflight.fqdn import Pattern

    result = evaluate_policy(one_policy(group("fwpol", "g", 100, *colls)), https(fqdn))
    expected = "Deny"
    for c in sorted(colls, key=lambda c: c["priority"]):
        r = c["rules"][0]
        if any(p["protocolType"] == "Https" for p in r["protocols"]) and any(
            Pattern.parse(t).matches(fqdn) for t in r["targetFqdns"]
        ):
            expected = c["action"]["type"]
            break
    assert not result.partial
    assert result.verdict is (Verdict.ALLOW if expected == "Allow" else Verdict.DENY)


def test_network_context_service_tags_reach_firewall_rules() -> None:
    docs = one_policy(group("fwpol", "g", 100, collection("c", 100, "Allow", net_rule("st", dst=["Storage"]))))
    ctx = FirewallContext(network=NetworkContext(service_tags={"Storage": ("52.239.0.0/17",)}))
    assert evaluate_policy(docs, FirewallFlow(SUBNET, 443, destination="52.239.1.1"), ctx).allowed
    assert evaluate_policy(docs, FirewallFlow(SUBNET, 443, destination="52.240.1.1"), ctx).verdict is Verdict.DENY


# --- the rule index is only a shortcut ---------------------------------------------------------


@st.composite
def mixed_policies(draw: st.DrawFn) -> FirewallPolicyDocs:
    colls = draw(app_collections())
    prios = draw(st.lists(st.integers(100, 65000), unique=True, max_size=3))
    for i, p in enumerate(prios):
        rule = net_rule(
            f"n{i}",
            protocols=[draw(st.sampled_from(["TCP", "UDP", "Any"]))],
            dst=[draw(st.sampled_from(["*", "10.0.0.0/8", "Storage"]))],
            fqdns=draw(st.lists(name, max_size=1)),
            ports=[draw(st.sampled_from(["80", "443", "*", "1-1000"]))],
        )
        colls.append(collection(f"n{i}", p, draw(st.sampled_from(["Allow", "Deny"])), rule))
    for i, c in enumerate(colls):
        c["priority"] = 100 + i  # unique within the group
    colls.append(
        collection(
            "tags",
            70000,
            "Deny",
            app_rule("t", [], tags=draw(st.lists(st.just("WindowsUpdate"), max_size=1))),
        )
    )
    return one_policy(group("fwpol", "g", 100, *colls))


@settings(max_examples=200, deadline=None)
@given(
    mixed_policies(),
    st.one_of(name, name.map(lambda n: "*." + n)),
    st.sampled_from([("Https", 443), ("Http", 80), (None, 443)]),
)
def test_indexed_evaluation_equals_a_scan_of_every_rule(
    docs: FirewallPolicyDocs, fqdn: str, proto: tuple[str | None, int]
) -> None:
    from aks_jumpbox.preflight import firewall as fw
    from aks_jumpbox.preflight._firstmatch import conclude, first_match

    flow = FirewallFlow(SUBNET, proto[1], fqdn=fqdn, app_protocol=proto[0])
    c = compile_policy(docs)
    indexed = evaluate(c, flow)
    box = fw._flow_box(flow, c.context)
    scanned = conclude(first_match(c.rules, box, fw._match(flow.app_protocol))[0], fw._access)
    assert len(c.candidates(box, flow.app_protocol)) <= len(c.rules)
    assert indexed.verdict is scanned.verdict and indexed.partial == scanned.partial
    assert [d.rule for d in indexed.decisions] == [o.rule.ref if o.rule else None for o in scanned.outcomes]


def smb(fqdn: str) -> FirewallFlow:
    return FirewallFlow(SUBNET, 445, fqdn=fqdn, protocol="TCP")


def test_a_wildcard_fqdn_in_a_network_rule_matches_nothing_and_the_evidence_says_why() -> None:
    # Azure Firewall does not support wildcards in network-rule FQDNs (fqdn-filtering-network-rules).
    docs = one_policy(
        group(
            "fwpol",
            "g",
            100,
            collection("smb", 100, "Allow", net_rule("files", fqdns=["*.file.core.windows.net"], ports=["445"])),
        )
    )
    c = compile_policy(docs)
    for name in ("*.file.core.windows.net", "stg1.file.core.windows.net"):
        r = evaluate(c, smb(name))
        assert r.verdict is Verdict.DENY and r.rule is None, r.evidence
        assert "network rule 'files' in collection 'smb'" in r.evidence
        assert "lists *.file.core.windows.net in destinationFqdns, which Azure Firewall does not match" in r.evidence
        assert "https://learn.microsoft.com/azure/firewall/fqdn-filtering-network-rules" in r.evidence
    # Other ports and unrelated names carry no such note.
    assert "destinationFqdns" not in evaluate(c, FirewallFlow(SUBNET, 22, fqdn="a.file.core.windows.net")).evidence
    assert "destinationFqdns" not in evaluate(c, smb("stg1.blob.core.windows.net")).evidence


def test_a_network_rule_allows_smb_to_the_storage_service_tag() -> None:
    docs = one_policy(
        group(
            "fwpol",
            "g",
            100,
            collection(
                "smb",
                100,
                "Allow",
                net_rule("files", dst=["Storage.EastUS2"], ports=["445"]),
                net_rule("exact", fqdns=["stg1.file.core.windows.net", "*.file.core.windows.net"], ports=["445"]),
            ),
        )
    )
    c = compile_policy(docs)
    assert evaluate(c, FirewallFlow(SUBNET, 445, destination="Storage.EastUS2", protocol="TCP")).allowed
    assert (
        evaluate(c, FirewallFlow(SUBNET, 445, destination="Storage.WestEurope", protocol="TCP")).verdict
        is not Verdict.ALLOW
    )
    # The exact name in the same rule still matches; only the wildcard is dropped.
    assert evaluate(c, smb("stg1.file.core.windows.net")).allowed
    # Another account: only the service tag rule may cover its address, which a name check cannot tell.
    r = evaluate(c, smb("stg2.file.core.windows.net"))
    assert r.verdict is Verdict.UNKNOWN and "service tag Storage.EastUS2" in r.evidence
