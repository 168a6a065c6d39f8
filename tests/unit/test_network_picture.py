"""The network picture and templates: the Mermaid diagram (escaped, deterministic, coloured by verdict),
the spoke/hub split of the network templates, and the deploy commands with the spec's own names."""

from __future__ import annotations

import json
import re

import pytest

from aks_jumpbox.core import kinds
from aks_jumpbox.render.arm import inner_resources
from aks_jumpbox.render.diagram import ID_RE, label, network_diagram
from aks_jumpbox.render.network import deploy_commands, network_hub_template, network_spoke_template
from aks_jumpbox.render.output import render_files
from tests.conftest import make_plan, variant
from tests.hostile.inert import check_diagram, mermaid_problems

PROXY = {
    "build__container_instance_subnet_id": None,
    "build__container_instance_subnet_address_prefix": None,
    "build__proxy_vm_size": "Standard_A1_v2",
}
SUB = "11111111-2222-3333-4444-555555555555"
WESTEUROPE = {
    "subscription_id": SUB,
    "build__location": "westeurope",
    "build__resource_group": "rg-build-weu",
    "build__subnet_id": f"/subscriptions/{SUB}/resourceGroups/rg-net-weu/providers/Microsoft.Network/"
    "virtualNetworks/vnet-weu/subnets/snet-build",
    "build__container_instance_subnet_id": f"/subscriptions/{SUB}/resourceGroups/rg-net-weu/providers/"
    "Microsoft.Network/virtualNetworks/vnet-weu/subnets/snet-aci",
    "distribute__managed_image__resource_group": "rg-images-weu",
}


def grammar_problems(diagram: str) -> list[str]:
    return mermaid_problems(diagram)


@pytest.fixture(scope="module")
def proxy_plan(default_data, default_lock):
    return make_plan(variant(default_data, **PROXY), default_lock)


def test_label_keeps_plain_text_and_encodes_everything_else():
    assert label("management.azure.com 443") == "management.azure.com 443"
    hostile = 'x"] --> evil["y"]\nclick h0 "javascript:alert(1)" %%`<b>'
    out = label(hostile)
    assert not set(out) & set('"[]<>`%\n|{};') - {";"} and "click h0 #34;" in out
    assert out.count("#34;") == 5 and "#10;" in out and "#96;" in out


def test_the_grammar_check_can_fail(default_plan):
    assert grammar_problems('flowchart LR\n  a["x"] --> b\n  click a "javascript:x"\n') == [
        '  a["x"] --> b',
        '  click a "javascript:x"',
    ]
    md = render_files(default_plan)["network/contract.md"]
    assert check_diagram({"network/contract.md": md}) == []
    broken = md.replace('"build VM"', '"build VM"]\n  click build_vm "javascript:x"\n  x["')
    assert len(check_diagram({"network/contract.md": broken})) == 2
    assert check_diagram({"network/contract.md": md.replace("```\n", "", 1)}) != []


def test_the_diagram_is_deterministic_and_only_writes_its_own_shapes(default_plan, proxy_plan):
    for plan in (default_plan, proxy_plan):
        d = network_diagram(plan)
        assert d == network_diagram(plan)
        assert grammar_problems(d) == []
        ids = re.findall(r"^\s*(?:subgraph )?([a-z][a-z0-9_]*)[\[({]", d, re.M)
        assert all(ID_RE.match(i) for i in ids) and len(ids) == len(set(ids))


def test_the_diagram_shows_subnets_nsgs_firewall_and_hosts_by_purpose(default_plan):
    d = network_diagram(default_plan)
    for text in (
        "build subnet snet-imagebuilder 10.240.0.0/28",
        "container subnet snet-imagebuilder-aci",
        '{{"NSG nsg-snet-imagebuilder"}}',
        '{{"NSG nsg-snet-imagebuilder-aci"}}',
        "Azure Firewall (hub)",
        f"rcg-{default_plan.names.spec}-imagebuilder",
        'g_mgmt["Azure management"]',
        'g_storage["Azure Storage"]',
        'g_packages["package repositories"]',
        'g_tools["tool downloads"]',
        '"Tcp 22: build-in-ssh-from-container"| build_vm',
    ):
        assert text in d, text
    # every egress row is a host node, inside the group of its purpose
    assert d.count('"management.azure.com Https 443"') == 1
    assert re.search(r'subgraph g_tools\[.*?\n(?:.*\n)*?\s+h\d+\["get.helm.sh Https 443"\]', d)
    assert re.search(r'subgraph g_mgmt\[.*?\n(?:.*\n)*?\s+h\d+\["management.azure.com Https 443"\]', d)
    assert "classDef" not in d and "linkStyle" not in d  # no verdicts, no colours


def test_the_proxy_topology_is_drawn_differently(default_plan, proxy_plan):
    isolated, proxy = network_diagram(default_plan), network_diagram(proxy_plan)
    assert "aci[" in isolated and "proxy_vm" not in isolated and "sn_container" in isolated
    assert "proxy_vm[" in proxy and "aci" not in proxy and "sn_container" not in proxy
    assert 'lb -->|"Tcp 60001: build-in-lb-probe"| proxy_vm' in proxy
    assert 'aib -->|"Tcp 60001: build-in-privatelink"| proxy_vm' in proxy
    assert "privateLinkServiceNetworkPolicies Disabled" in proxy


def test_verdicts_colour_each_flow_host_and_the_firewall(default_plan):
    e = default_plan.network.egress
    helm = next(x for x in e if x.fqdn == "get.helm.sh")
    verdicts = {
        "nsg.build-in-ssh-from-container": "fail",
        "nsg.container-out-ssh-to-build": "pass",
        f"egress.build.{helm.fqdn}:{helm.port}": "fail",
        "egress.build.path": "pass",
        "egress.build.firewall": "warn",
    }
    d = network_diagram(default_plan, verdicts)
    assert grammar_problems(d) == []
    edges = [line for line in d.splitlines() if re.match(r"  \w+ -", line)]
    first = edges.index(next(x for x in edges if "build-in-ssh-from-container" in x))
    assert '"FAIL Tcp 22: build-in-ssh-from-container"' in edges[first]
    assert f"  linkStyle {first} stroke:#c82333,stroke-width:3px" in d
    helm_id = re.search(r'(h\d+)\["get.helm.sh Https 443<br>FAIL"\]', d)
    assert helm_id and re.search(rf"  class (?:\w+,)*{helm_id[1]}(?:,\w+)* fail", d)
    assert re.search(r"  class (?:\w+,)*fw(?:,\w+)* warn", d)  # the worst of path and firewall
    tools = next(x for x in edges if x.endswith("| g_tools"))
    assert tools.startswith('  fw -->|"FAIL ')  # a group edge: its worst host
    assert "UNCHECKED Tcp 443: container-out-https" in d  # no finding named it


def test_hostile_values_stay_inside_their_labels(default_plan):
    from dataclasses import replace

    evil = 'evil.example"] --> x["y"]\nclick fw "javascript:alert(1)"\n%%{init: {"securityLevel": "loose"}}%%'
    net = default_plan.network
    egress = (replace(net.egress[0], fqdn=evil), *net.egress[1:])
    plan = replace(default_plan, network=replace(net, egress=egress))
    d = network_diagram(plan, {f"egress.build.{evil}:{egress[0].port}": "fail"})
    assert grammar_problems(d) == []
    assert "click" not in d.replace("click fw #34;", "") and "%%{" not in d and "javascript:alert(1)" in d


def test_the_spoke_template_attaches_each_nsg_keeping_the_subnets_properties(default_plan):
    t = network_spoke_template(default_plan)
    assert t["parameters"]["attachToSubnets"]["defaultValue"] is True
    nsgs = [r for r in t["resources"] if r["type"] == kinds.NSG.arm_type]
    assert [r["name"] for r in nsgs] == ["nsg-snet-imagebuilder", "nsg-snet-imagebuilder-aci"]
    attach = [r for r in t["resources"] if r["type"] == kinds.DEPLOYMENT.arm_type]
    assert [a["name"] for a in attach] == ["aks-jumpbox-attach-nsg-build", "aks-jumpbox-attach-nsg-container"]
    assert all(a["condition"] == "[parameters('attachToSubnets')]" for a in attach)
    # one subnet write at a time, each after its NSG
    assert (
        attach[1]["dependsOn"][-1] == "[resourceId('Microsoft.Resources/deployments', 'aks-jumpbox-attach-nsg-build')]"
    )
    for a, subnet in zip(attach, ("snet-imagebuilder", "snet-imagebuilder-aci"), strict=True):
        props = a["properties"]
        assert props["parameters"]["subnetProperties"]["value"] == (
            "[reference(resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet-imagebuilder', "
            f"'{subnet}'), '{kinds.SUBNET.api_version}')]"
        )
        (inner,) = props["template"]["resources"]
        assert inner["name"] == f"vnet-imagebuilder/{subnet}"
        # the subnet's current properties, plus the NSG: nothing it has is left out
        assert inner["properties"].startswith("[union(parameters('subnetProperties'), ")
        assert "networkSecurityGroup" in inner["properties"]
    assert not any(r["type"] == kinds.RULE_COLLECTION_GROUP.arm_type for r in inner_resources(t))


def test_the_hub_template_holds_only_the_rule_collection_group_and_names_no_policy(default_plan):
    t = network_hub_template(default_plan)
    assert [r["type"] for r in t["resources"]] == [kinds.RULE_COLLECTION_GROUP.arm_type]
    assert set(t["parameters"]) == {"firewallPolicyName", "ruleCollectionGroupPriority"}
    assert "defaultValue" not in t["parameters"]["firewallPolicyName"]  # the user's hub, never a guess


def test_deploy_commands_use_the_specs_own_names(default_data, default_lock):
    plan = make_plan(variant(default_data, **WESTEUROPE), default_lock)
    text = "\n".join(deploy_commands(plan, "out"))
    assert (
        f"az deployment group create --subscription {SUB} -g rg-net-weu -n aks-jumpbox-network-spoke-{plan.names.spec} "
        in text
    )
    assert "-f out/arm/network-spoke.json" in text and "-f out/arm/network-hub.json" in text
    assert '-p firewallPolicyName="$FIREWALL_POLICY"' in text and '-g "$HUB_RESOURCE_GROUP"' in text
    assert f"--ids /subscriptions/{SUB}/resourceGroups/rg-net-weu/providers/Microsoft.Network/virtualNetworks/" in text
    assert "eastus2" not in text
    md = render_files(plan)["network/contract.md"]
    assert "-f arm/network-spoke.json" in md and "```mermaid\nflowchart LR\n" in md and "eastus2" not in md


def test_deploy_commands_quote_what_the_shell_would_split(default_data, default_lock):
    plan = make_plan(variant(default_data, **WESTEUROPE), default_lock)
    assert "-f 'my out/arm/network-spoke.json'" in "\n".join(deploy_commands(plan, "my out"))


def test_contract_md_and_templates_render_for_both_topologies(default_plan, proxy_plan):
    for plan in (default_plan, proxy_plan):
        files = render_files(plan)
        assert "arm/network.json" not in files
        json.loads(files["arm/network-spoke.json"]) and json.loads(files["arm/network-hub.json"])
        md = files["network/contract.md"]
        block = md.split("```mermaid\n", 1)[1].split("```", 1)[0]
        assert block == network_diagram(plan)


def test_each_environment_gets_its_own_rule_collection_group(default_plan):
    from aks_jumpbox.render.network import network_hub_template

    hub = network_hub_template(default_plan)
    (group,) = hub["resources"]
    assert f"/rcg-{default_plan.names.spec}-imagebuilder'" in group["name"]  # the footprint key, not name: alone
    assert group["properties"]["priority"] == "[parameters('ruleCollectionGroupPriority')]"
    assert hub["parameters"]["ruleCollectionGroupPriority"]["defaultValue"] == 500
