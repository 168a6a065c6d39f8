"""Preflight scenarios on snapshot folders: the locked-down networks pass, and each single broken
prerequisite fails with the evidence a person needs (which rule, which priority) and a usable fix."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from aks_jumpbox.core.network import AIB_ACI_SUBNET
from aks_jumpbox.preflight.checks import Report, run_checks
from aks_jumpbox.preflight.findings import Finding, Status
from aks_jumpbox.preflight.snapshot import load_snapshot
from aks_jumpbox.render.network import network_hub_template
from tests.preflight.world import CALLER_CONTRIBUTOR, VNET_ID, World, load, spec_data

TODAY = dt.date(2026, 6, 1)


def check(world: World, tmp_path) -> Report:
    return run_checks(world.plan, load_snapshot(world.write(tmp_path / "snapshot")), today=TODAY)


def only(report: Report, status: Status) -> dict[str, Finding]:
    return {f.id: f for f in report.checks if f.status is status}


def finding(report: Report, fid: str) -> Finding:
    matches = [f for f in report.checks if f.id == fid]
    assert len(matches) == 1, [f.id for f in report.checks]
    return matches[0]


@pytest.fixture(params=["proxy", "isolated"])
def world(request) -> World:
    return World.upstream() if request.param == "proxy" else World.isolated()


# ---- the locked-down networks pass --------------------------------------------------------------


def test_the_upstream_locked_down_network_passes_every_check(tmp_path):
    w = World.upstream()
    report = check(w, tmp_path)
    assert report.ok
    assert {f.status for f in report.checks} == {Status.PASS}, str(report)
    ids = {f.id for f in report.checks}
    # Every flow of the plan's contract and every FQDN of its allow-list was evaluated.
    assert {f"nsg.{f.id}" for f in w.plan.network.flows} <= ids
    assert {f"egress.build.{e.fqdn}:{e.port}" for e in w.plan.network.egress} <= ids
    assert finding(report, "nsg.build-in-lb-probe").evidence == (
        "allowed by rule 'AllowAzureLoadBalancer60001InBound' (priority 100) of nsg-imagebuilder"
    )


def test_the_isolated_locked_down_network_passes_every_check(tmp_path):
    w = World.isolated()
    report = check(w, tmp_path)
    assert {f.status for f in report.checks} == {Status.PASS}, str(report)
    ids = {f.id for f in report.checks}
    # ACI -> build VM SSH: both the container subnet's outbound side and the build subnet's inbound side.
    assert {"nsg.container-out-ssh-to-build", "nsg.build-in-ssh-from-container"} <= ids
    container = {e for e in w.plan.network.egress if "container" in e.subnets}
    assert {f"egress.container.{e.fqdn}:{e.port}" for e in container} <= ids
    assert "egress.build.mcr.microsoft.com:443" not in ids  # only the container pulls the image
    assert {"subnet.container.delegation", "subnet.container.same-vnet", "subnet.build.not-delegated"} <= ids


# ---- one broken prerequisite at a time -----------------------------------------------------------


@pytest.mark.parametrize(
    ("topology", "file", "rule", "fid", "source"),
    [
        ("proxy", "nsg.json", "AllowVNet22InBound", "nsg.build-in-ssh-from-proxy", "VirtualNetwork"),
        ("isolated", "nsg.json", "AllowAci22InBound", "nsg.build-in-ssh-from-container", "10.241.0.16/28"),
        ("isolated", "nsg-aci.json", "AllowBuildVm22OutBound", "nsg.container-out-ssh-to-build", "10.241.0.16/28"),
    ],
)
def test_deny_all_nsg_blocking_ssh_between_subnets_fails_naming_the_rule(tmp_path, topology, file, rule, fid, source):
    w = World.upstream() if topology == "proxy" else World.isolated()
    w.docs[file]["properties"]["securityRules"] = [r for r in w.nsg_rules(file) if r["name"] != rule]
    report = check(w, tmp_path)
    assert not report.ok
    assert set(only(report, Status.FAIL)) == {fid}
    f = finding(report, fid)
    nsg_name = w.docs[file]["name"]
    assert f.evidence == f"denied by rule 'DenyAllInBound' (priority 1000) of {nsg_name}".replace(
        "InBound", "OutBound" if "-out-" in fid else "InBound"
    )
    assert f"--nsg-name {nsg_name} " in f.fix and "--priority 999 " in f.fix and "--destination-port-ranges 22" in f.fix
    assert f"--source-address-prefixes {source} " in f.fix and "--access Allow" in f.fix


def test_a_higher_priority_deny_between_subnets_is_named_and_the_fix_goes_above_it(tmp_path):
    w = World.isolated()
    w.nsg_rules()[0]["properties"]["priority"] = 120
    w.nsg_rules().insert(
        0,
        {
            "name": "DenyVnetInBound",
            "properties": {
                "priority": 110,
                "direction": "Inbound",
                "access": "Deny",
                "protocol": "*",
                "sourceAddressPrefix": "VirtualNetwork",
                "sourcePortRange": "*",
                "destinationAddressPrefix": "*",
                "destinationPortRange": "*",
            },
        },
    )
    report = check(w, tmp_path)
    f = finding(report, "nsg.build-in-ssh-from-container")
    assert f.status is Status.FAIL
    assert f.evidence == "denied by rule 'DenyVnetInBound' (priority 110) of nsg-imagebuilder"
    assert "--priority 109 " in f.fix


def test_private_link_policies_left_enabled_fail_the_proxy_topology_only(tmp_path):
    w = World.upstream()
    w.subnet()["properties"]["privateLinkServiceNetworkPolicies"] = "Enabled"
    report = check(w, tmp_path)
    assert set(only(report, Status.FAIL)) == {"subnet.build.private-link-policies"}
    f = finding(report, "subnet.build.private-link-policies")
    assert f.evidence == "privateLinkServiceNetworkPolicies: Enabled"
    assert f.fix.endswith(
        "--vnet-name vnet-imagebuilder -n snet-imagebuilder --private-link-service-network-policies Disabled"
    )
    # The isolated world has them Enabled on purpose, and passes.
    assert World.isolated().subnet()["properties"]["privateLinkServiceNetworkPolicies"] == "Enabled"


def test_missing_delegation_fails_the_isolated_topology(tmp_path):
    w = World.isolated()
    w.subnet("snet-imagebuilder-aci")["properties"]["delegations"] = []
    report = check(w, tmp_path)
    assert set(only(report, Status.FAIL)) == {"subnet.container.delegation"}
    f = finding(report, "subnet.container.delegation")
    assert f.evidence == "delegations: (none)"
    assert "-n snet-imagebuilder-aci --delegations Microsoft.ContainerInstance/containerGroups" in f.fix


def test_an_unregistered_container_instance_provider_fails_every_topology(tmp_path, world):
    world.docs["providers.json"]["value"] = [
        world.provider(
            p["namespace"], "NotRegistered" if p["namespace"] == "Microsoft.ContainerInstance" else "Registered"
        )
        for p in world.docs["providers.json"]["value"]
    ]
    report = check(world, tmp_path)
    assert set(only(report, Status.FAIL)) == {"provider.Microsoft.ContainerInstance"}
    f = finding(report, "provider.Microsoft.ContainerInstance")
    assert f.evidence == "registrationState: NotRegistered"
    assert (
        f.fix
        == f"az provider register --subscription {world.plan.subscription} --namespace Microsoft.ContainerInstance --wait"  # noqa: E501 - literal data
    )


def test_a_registering_provider_fails_until_registration_completes(tmp_path):
    # A build started while a provider is still Registering fails (issue 10, item 9).
    w = World.upstream()
    w.docs["providers.json"]["value"][0] = w.provider("Microsoft.VirtualMachineImages", "Registering")
    report = check(w, tmp_path)
    assert not report.ok and set(only(report, Status.FAIL)) == {"provider.Microsoft.VirtualMachineImages"}
    f = finding(report, "provider.Microsoft.VirtualMachineImages")
    assert "still registering" in f.message and "wait for registration, then re-run" in f.message
    assert f.evidence == "registrationState: Registering"
    assert "--namespace Microsoft.VirtualMachineImages --wait" in f.fix and "re-run `aks-jumpbox check`" in f.fix


def test_key_vault_is_a_provider_microsoft_says_to_register(tmp_path):
    # https://learn.microsoft.com/azure/virtual-machines/linux/image-builder#register-the-providers
    w = World.upstream()
    w.docs["providers.json"]["value"] = [
        p for p in w.docs["providers.json"]["value"] if p["namespace"] != "Microsoft.KeyVault"
    ]
    w.docs["providers.json"]["value"].append(w.provider("Microsoft.KeyVault", "NotRegistered"))
    report = check(w, tmp_path)
    assert set(only(report, Status.FAIL)) == {"provider.Microsoft.KeyVault"}


def _drop_assignment(w: World, key: str) -> None:
    rid = w.plan.resource(key).id
    w.docs["role-assignments.json"]["value"] = [a for a in w.docs["role-assignments.json"]["value"] if a["id"] != rid]


def test_missing_image_role_assignment_fails_when_you_cannot_create_it(tmp_path, world):
    _drop_assignment(world, "assignment.image")
    world.set_caller("image", CALLER_CONTRIBUTOR)
    report = check(world, tmp_path)
    assert set(only(report, Status.FAIL)) == {"identity.role.image", "caller.assign.image"}
    f = finding(report, "identity.role.image")
    assert (
        "lacks Microsoft.Compute/images/read, Microsoft.Compute/images/write, Microsoft.Compute/images/delete"
        in f.message
    )
    assert "fails at its very end" in f.message
    image = world.plan.resource("assignment.image")
    assert f.fix.endswith(f"--role {image.body['properties']['roleDefinitionId']} --scope {image.scope}")
    assert "--assignee-object-id 3f1e5c2a-7b6d-4e8f-9a0b-1c2d3e4f5a6b" in f.fix
    c = finding(report, "caller.assign.image")
    assert (
        c.evidence
        == f"none of your permission blocks at {image.scope} grants Microsoft.Authorization/roleAssignments/write"
    )


def test_missing_image_role_assignment_is_a_warning_when_deploy_will_create_it(tmp_path):
    w = World.upstream()
    _drop_assignment(w, "assignment.image")
    report = check(w, tmp_path)
    assert report.ok
    assert set(only(report, Status.WARN)) == {"identity.role.image"}
    assert finding(report, "identity.role.image").fix == "aks-jumpbox deploy"
    assert finding(report, "caller.assign.image").status is Status.PASS


def test_an_edited_custom_role_without_images_write_fails_at_the_right_scope(tmp_path):
    w = World.upstream()
    role = next(r for r in w.docs["role-definitions.json"] if "Image Writer" in r["properties"]["roleName"])
    role["properties"]["permissions"][0]["actions"].remove("Microsoft.Compute/images/write")
    w.set_caller("image", CALLER_CONTRIBUTOR)
    w.set_caller("subscription", CALLER_CONTRIBUTOR)
    report = check(w, tmp_path)
    f = finding(report, "identity.role.image")
    assert f.status is Status.FAIL and "lacks Microsoft.Compute/images/write on" in f.message
    assert "granted: Microsoft.Compute/images/read, Microsoft.Compute/images/delete" in f.evidence
    assert finding(report, "caller.role-definitions").status is Status.FAIL


def test_wildcards_and_not_actions_of_broader_roles_are_applied(tmp_path):
    w = World.upstream()
    _drop_assignment(w, "assignment.image")
    w.set_caller("image", CALLER_CONTRIBUTOR)
    sub = f"/subscriptions/{w.plan.subscription}"
    contributor = f"{sub}/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"
    w.docs["role-assignments.json"]["value"].append(
        {
            "id": f"{sub}/providers/Microsoft.Authorization/roleAssignments/0b6a3b2c-1d4e-4f5a-8b7c-9d0e1f2a3b4c",
            "type": "Microsoft.Authorization/roleAssignments",
            "name": "0b6a3b2c-1d4e-4f5a-8b7c-9d0e1f2a3b4c",
            "properties": {
                "principalId": "3f1e5c2a-7b6d-4e8f-9a0b-1c2d3e4f5a6b",
                "roleDefinitionId": contributor,
                "scope": sub,
            },
        }
    )
    w.docs["contributor.json"] = {
        "id": contributor,
        "type": "Microsoft.Authorization/roleDefinitions",
        "name": "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "properties": {
            "roleName": "Almost Contributor",
            "permissions": [{"actions": ["*"], "notActions": ["Microsoft.Compute/images/*"]}],
        },
    }
    report = check(w, tmp_path)
    assert finding(report, "identity.role.image").status is Status.FAIL  # notActions take images/* back
    w.docs["contributor.json"]["properties"]["permissions"][0]["notActions"] = ["Microsoft.Authorization/*/Write"]
    report = check(w, tmp_path / "2")
    f = finding(report, "identity.role.image")
    assert f.status is Status.PASS
    assert "Microsoft.Compute/images/write via '*' of role 'Almost Contributor' at /subscriptions/" in f.evidence


def test_a_firewall_missing_one_fqdn_fails_that_fqdn_with_a_rule_to_add(tmp_path, world):
    world.docs["firewall-policy.json"][1]["properties"]["ruleCollections"][0]["rules"] = [
        r for r in world.app_rules() if r["targetFqdns"] != ["get.helm.sh"]
    ]
    report = check(world, tmp_path)
    assert set(only(report, Status.FAIL)) == {"egress.build.get.helm.sh:443"}
    f = finding(report, "egress.build.get.helm.sh:443")
    assert f.evidence == "no rule of policy fw-policies-eastus2 matches, so Azure Firewall denies it by default"
    assert "download of helm" in f.message
    assert (
        "--policy-name fw-policies-eastus2 --rule-collection-group-name DefaultApplicationRuleCollectionGroup "
        "--collection-name AzureImageBuilder -n aks-jumpbox-get.helm.sh-443 --rule-type ApplicationRule "
        "--source-addresses 10.241.0.0/28 --protocols Https=443 --target-fqdns get.helm.sh"
    ) in f.fix


def test_a_firewall_missing_the_container_smb_rule_fails_the_container_subnet(tmp_path):
    w = World.isolated()
    groups = w.docs["firewall-policy.json"][1]["properties"]["ruleCollections"]
    groups[:] = [c for c in groups if c["name"] != "AzureImageBuilderNetwork"]
    report = check(w, tmp_path)
    assert set(only(report, Status.FAIL)) == {"egress.container.*.file.core.windows.net:445"}
    f = finding(report, "egress.container.*.file.core.windows.net:445")
    assert "--rule-type NetworkRule" in f.fix and "--destination-ports 445" in f.fix
    # What Azure supports for SMB: the region's Storage service tag, never a wildcard network-rule FQDN.
    assert "--destination-addresses Storage.EastUS2" in f.fix and "*.file" not in f.fix
    assert "destination-fqdns" not in f.fix
    assert f"[required: documented: {AIB_ACI_SUBNET}]" in f.message


def test_a_wildcard_fqdn_network_rule_for_smb_fails_as_azure_firewall_would_not_match_it(tmp_path):
    # The rule the plan used to render: TCP 445 to *.file.core.windows.net in a network rule.
    w = World.isolated()
    net = next(
        c
        for c in w.docs["firewall-policy.json"][1]["properties"]["ruleCollections"]
        if c["name"] == "AzureImageBuilderNetwork"
    )
    for r in net["rules"]:
        r.pop("destinationAddresses", None)
        r["destinationFqdns"] = ["*.file.core.windows.net"]
    report = check(w, tmp_path)
    assert set(only(report, Status.FAIL)) == {"egress.container.*.file.core.windows.net:445"}
    f = finding(report, "egress.container.*.file.core.windows.net:445")
    assert "lists *.file.core.windows.net in destinationFqdns, which Azure Firewall does not match" in f.evidence
    assert "https://learn.microsoft.com/azure/firewall/fqdn-filtering-network-rules" in f.evidence
    assert "--destination-addresses Storage.EastUS2" in f.fix and "destination-fqdns" not in f.fix


def test_the_rendered_network_template_names_smb_by_service_tag_only(tmp_path):
    # arm/network-hub.json: no wildcard FQDN in any network rule; SMB to the build region's Storage tag.
    template = network_hub_template(World.isolated().plan)
    rcg = next(r for r in template["resources"] if r["type"].endswith("ruleCollectionGroups"))
    net = [r for c in rcg["properties"]["ruleCollections"] for r in c["rules"] if r["ruleType"] == "NetworkRule"]
    assert net and all(not any(f.startswith("*") for f in r.get("destinationFqdns", [])) for r in net)
    smb = next(r for r in net if r["destinationPorts"] == ["445"])
    assert smb["destinationAddresses"] == ["Storage.EastUS2"] and "destinationFqdns" not in smb


@pytest.mark.parametrize(
    ("prefix", "configs", "fid"),
    [
        ("10.241.0.0/29", 0, "subnet.build.size"),
        ("10.241.0.0/28", 8, "subnet.build.free-addresses"),
    ],
)
def test_a_too_small_or_full_proxy_subnet_fails(tmp_path, prefix, configs, fid):
    w = World.upstream()
    p = w.subnet()["properties"]
    p["addressPrefix"] = prefix
    p["ipConfigurations"] = [{"id": f"{VNET_ID}/nic{i}/ipConfigurations/ipconfig1"} for i in range(configs)]
    report = check(w, tmp_path)
    fails = only(report, Status.FAIL)
    assert fid in fails
    if fid == "subnet.build.free-addresses":
        assert fails[fid].evidence == "10.241.0.0/28: 16 addresses - 5 reserved by Azure - 8 IP configurations = 3 free"
        assert set(fails) == {fid}


def test_a_full_container_subnet_fails(tmp_path):
    w = World.isolated()
    w.subnet("snet-imagebuilder-aci")["properties"]["ipConfigurations"] = [{"id": f"x{i}"} for i in range(11)]
    report = check(w, tmp_path)
    assert set(only(report, Status.FAIL)) == {"subnet.container.free-addresses"}
    assert "has 0 free addresses; the build needs 1" in finding(report, "subnet.container.free-addresses").message


def test_a_vnet_in_another_region_fails(tmp_path, world):
    world.vnet["location"] = "westeurope"
    report = check(world, tmp_path)
    assert set(only(report, Status.FAIL)) == {"vnet.region"}
    assert (
        finding(report, "vnet.region").evidence == "VNet vnet-imagebuilder location westeurope; template region eastus2"
    )


def test_a_region_image_builder_does_not_offer_fails_on_the_providers_word(tmp_path):
    w = World.upstream()
    w.docs["providers.json"]["value"][0]["resourceTypes"][0]["locations"] = ["West Europe"]
    report = check(w, tmp_path)
    f = finding(report, "region.image-builder")
    assert f.status is Status.FAIL and "offers imageTemplates in 1 regions, not eastus2" in f.evidence


def test_a_base_image_not_offered_in_the_region_fails(tmp_path):
    w = World.upstream()
    w.docs["image-versions.json"]["value"] = []
    report = check(w, tmp_path)
    f = finding(report, "source-image")
    assert f.status is Status.FAIL
    assert f.message == "the base image Canonical:ubuntu-24_04-lts:server has no version in eastus2"
    assert "az vm image list --location eastus2 --publisher Canonical" in f.fix


def test_a_missing_destination_resource_group_fails(tmp_path):
    w = World.upstream()
    w.docs["resource-groups.json"] = [g for g in w.docs["resource-groups.json"] if g["name"] != "rg-mycluster"]
    w.docs["rg-missing.json"] = {
        "id": f"/subscriptions/{w.plan.subscription}/resourceGroups/rg-mycluster",
        "status": 404,
        "error": {"code": "ResourceGroupNotFound", "message": "not found"},
    }
    report = check(w, tmp_path)
    assert set(only(report, Status.FAIL)) == {"resource-group.image"}
    assert finding(report, "resource-group.image").fix == (
        f"az group create --subscription {w.plan.subscription} -n rg-mycluster -l eastus2"
    )


def test_a_running_template_of_this_plan_is_a_warning(tmp_path):
    w = World.upstream()
    w.docs["template.json"] = {
        "id": w.plan.template.id,
        "type": "Microsoft.VirtualMachineImages/imageTemplates",
        "properties": {"lastRunStatus": {"runState": "Running", "runSubState": "Customizing"}},
    }
    report = check(w, tmp_path)
    assert report.ok and set(only(report, Status.WARN)) == {"template.not-running"}
    assert finding(report, "template.not-running").evidence == "lastRunStatus: Running, Customizing"


def test_a_pin_past_its_review_date_is_a_warning(tmp_path):
    data = spec_data("proxy")
    data["tools"]["helm"] = {"version": data["tools"]["helm"], "reason": "waiting for 4.4", "review_by": "2026-05-01"}
    w = World.upstream(data)
    report = check(w, tmp_path)
    assert report.ok and set(only(report, Status.WARN)) == {"review.helm"}
    assert "review_by 2026-05-01 has passed (pinned because: waiting for 4.4)" in finding(report, "review.helm").message


def test_without_a_route_table_egress_goes_out_directly_and_no_fqdn_is_checked(tmp_path):
    w = World.upstream()
    del w.subnet()["properties"]["routeTable"]
    report = check(w, tmp_path)
    assert report.ok
    assert finding(report, "egress.build.path").message == (
        "egress from subnet snet-imagebuilder goes out directly, no firewall to check"
    )
    assert not [f for f in report.checks if f.id.startswith("egress.build.") and f.id != "egress.build.path"]


def test_a_private_subnet_without_nat_or_appliance_route_has_no_outbound_path_and_fails(tmp_path, world):
    # defaultOutboundAccess false, no NAT gateway, no route table: nothing leaves (issue 10, item 9).
    for s in world.vnet["properties"]["subnets"]:
        s["properties"]["defaultOutboundAccess"] = False
        s["properties"].pop("routeTable", None)
    report = check(world, tmp_path)
    assert not report.ok
    f = finding(report, "subnet.build.outbound")
    assert f.status is Status.FAIL and "has no outbound path" in f.message and "--nat-gateway" in f.fix
    assert not [x for x in report.checks if "goes out directly" in x.message]
    assert not [x for x in report.checks if x.id.startswith("egress.build.")]
    if world.plan.spec.topology == "isolated":
        c = finding(report, "subnet.container.outbound")
        assert c.status is Status.FAIL and "Internet on port 443" in c.message


def test_a_private_subnet_going_out_through_a_nat_gateway_passes(tmp_path):
    w = World.upstream()
    w.subnet()["properties"].update(defaultOutboundAccess=False, natGateway={"id": "/subscriptions/x/natGateways/ng"})
    del w.subnet()["properties"]["routeTable"]
    report = check(w, tmp_path)
    assert report.ok
    assert finding(report, "subnet.build.outbound").status is Status.PASS
    assert finding(report, "egress.build.path").message.endswith(
        "goes out through its NAT gateway, no firewall to check"
    )


def test_a_private_subnet_whose_downloads_all_come_from_a_mirror_only_warns(tmp_path):
    data = spec_data("isolated")
    data["mirror"] = {
        "artifacts": "https://mirror.contoso.internal/tools",
        "apt": "https://apt.contoso.internal/ubuntu",
        "apt_security": "https://apt.contoso.internal/ubuntu",
        "azure_cli_repo": "https://apt.contoso.internal/azure-cli",
        "azure_cli_key_url": "https://mirror.contoso.internal/keys/microsoft.asc",
        "azure_cli_key_fingerprints": ["BC528686B50D79E339D3721CEB3E94ADBE1229CF"],
    }
    w = World.isolated(data)
    w.subnet()["properties"]["defaultOutboundAccess"] = False
    del w.subnet()["properties"]["routeTable"]
    report = check(w, tmp_path)
    f = finding(report, "subnet.build.outbound")
    assert f.status is Status.WARN and "every required download comes from the mirror" in f.message


def test_the_upstream_network_with_its_published_table_fails_only_on_documented_or_derived_rows(tmp_path):
    # The guide's own firewall table (2022), not completed with the plan's newer hosts: what `check`
    # fails on must be a documented or lock-derived row, and it says which; inferred rows only warn.
    w = World.upstream()
    w.docs["firewall-policy.json"] = list(load("firewall-policy.json"))
    report = check(w, tmp_path)
    rows = {f"egress.build.{e.fqdn}:{e.port}": e for e in w.plan.network.egress}
    failed = {fid: f for fid, f in only(report, Status.FAIL).items()}
    assert failed and set(failed) <= set(rows), set(failed) - set(rows)
    for fid, f in failed.items():
        basis = rows[fid].basis
        assert basis.kind in ("documented", "derived") and f"[required: {basis.describe()}]" in f.message
    # The table predates the newer release hosts of the lock's tools: derived from the lock.
    assert "egress.build.release-assets.githubusercontent.com:443" in failed
    assert "derived from the lock" in failed["egress.build.release-assets.githubusercontent.com:443"].message
    # login.microsoftonline.com is in no Microsoft source for the build subnet: advisory, a warning.
    login = finding(report, "egress.build.login.microsoftonline.com:443")
    assert login.status is Status.WARN and "[advisory, so only a warning: inferred, not documented:" in login.message
    # What the guide lists passes, Image Builder's own rows with the reference as their source.
    mgmt = finding(report, "egress.build.management.azure.com:443")
    assert mgmt.status is Status.PASS and "[required; documented]" in mgmt.message
    warned = {fid for fid in only(report, Status.WARN) if fid.startswith("egress.build.")}
    assert warned == {
        fid
        for fid, e in rows.items()
        if not e.basis.required and fid in {f.id for f in report.checks if f.status is not Status.PASS}
    }


def test_a_next_hop_that_is_no_known_firewall_is_a_warning_listing_what_to_allow(tmp_path):
    w = World.upstream()
    del w.docs["firewall.json"]
    report = check(w, tmp_path)
    f = finding(report, "egress.build.firewall")
    assert report.ok and f.status is Status.WARN
    assert f.message.startswith("the next hop 10.200.0.4 is no Azure Firewall known to snapshot ")
    assert f"Allow the plan's {len(w.plan.network.egress)} egress FQDNs" in f.fix


def test_classic_firewall_rules_are_evaluated_too(tmp_path):
    w = World.upstream()
    group = w.docs["firewall-policy.json"][1]
    fw = w.docs["firewall.json"]
    del fw["properties"]["firewallPolicy"]
    rules = [
        {k: v for k, v in r.items() if k != "ruleType"}
        for r in group["properties"]["ruleCollections"][0]["rules"]
        if r["targetFqdns"] != ["github.com"]
    ]
    fw["properties"]["applicationRuleCollections"] = [
        {"name": "aib", "properties": {"priority": 100, "action": {"type": "Allow"}, "rules": rules}}
    ]
    del w.docs["firewall-policy.json"]
    report = check(w, tmp_path)
    assert set(only(report, Status.FAIL)) == {"egress.build.github.com:443"}
    assert finding(report, "egress.build.firewall").message.endswith("(its classic rules)")
    assert "az network firewall application-rule create" in finding(report, "egress.build.github.com:443").fix


def test_what_the_snapshot_lacks_is_skipped_with_the_reason_not_guessed(tmp_path):
    w = World.isolated()
    del w.docs["nsg-aci.json"], w.docs["permissions-subscription.json"], w.docs["role-definitions.json"]
    report = check(w, tmp_path)
    assert report.ok
    skipped = only(report, Status.SKIP)
    assert set(skipped) == {
        "nsg.container-out-ssh-to-build",
        "nsg.container-out-https",
        "nsg.container-out-smb",
        "caller.role-definitions",
        "identity.role.network",
        "identity.role.image",
    }
    assert skipped["nsg.container-out-smb"].message.endswith(
        "networkSecurityGroups/nsg-imagebuilder-aci is not in the snapshot"
    )
    assert "roleDefinitions/" in skipped["identity.role.image"].message


def test_an_identity_not_yet_created_leaves_its_roles_to_deploy(tmp_path):
    w = World.upstream()
    del w.docs["identity.json"]
    w.docs["role-assignments.json"]["value"] = []
    w.docs["identity-missing.json"] = {
        "id": w.plan.resource("identity").id,
        "status": 404,
        "error": {"code": "ResourceNotFound", "message": "not found"},
    }
    report = check(w, tmp_path)
    assert report.ok
    assert finding(report, "identity.exists").status is Status.SKIP
    assert not [f for f in report.checks if f.id.startswith("identity.role.")]
    assert finding(report, "caller.assign.image").status is Status.PASS


def test_report_text_and_json_carry_status_evidence_and_fix(tmp_path):
    w = World.upstream()
    w.subnet()["properties"]["privateLinkServiceNetworkPolicies"] = "Enabled"
    report = check(w, tmp_path)
    text = str(report)
    assert text.splitlines()[0].startswith("preflight (snapshot ") and "1 failed" in text
    assert "FAIL subnet.build.private-link-policies:" in text and "  fix: az network vnet subnet update" in text
    doc = report.to_json()
    assert doc["ok"] is False
    assert set(doc["checks"][0]) == {"id", "status", "message", "evidence", "fix"}
    assert copy.deepcopy(doc) == report.to_json()


def test_gallery_distribution_needs_the_image_writer_role_on_the_gallery(tmp_path):
    data = spec_data("isolated")
    data["distribute"]["gallery"] = {
        "resource_group": "rg-images",
        "name": "gal_aksjb",
        "image": {"name": "aks-jumpbox", "publisher": "Contoso", "offer": "aks-jumpbox"},
    }
    w = World.isolated(data)
    assert {f.status for f in check(w, tmp_path).checks} == {Status.PASS}
    _drop_assignment(w, "assignment.gallery")
    w.set_caller("gallery", CALLER_CONTRIBUTOR)
    report = check(w, tmp_path / "2")
    assert set(only(report, Status.FAIL)) == {"identity.role.gallery", "caller.assign.gallery"}
    f = finding(report, "identity.role.gallery")
    assert "Microsoft.Compute/galleries/images/versions/write" in f.message
    assert f.fix.endswith(f"--scope {w.plan.resource('assignment.gallery').scope}")


def test_builtin_roles_are_judged_by_what_they_grant(tmp_path):
    data = spec_data("proxy")
    data["identity"]["roles"] = "builtin"
    w = World.upstream(data)
    sub = f"/subscriptions/{w.plan.subscription}/providers/Microsoft.Authorization/roleDefinitions"
    w.docs["builtin-roles.json"] = [
        {
            "id": f"{sub}/4d97b98b-1d4f-4787-a291-c67834d212e7",
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": "Network Contributor",
                "permissions": [
                    {
                        "actions": [
                            "Microsoft.Authorization/*/read",
                            "Microsoft.Network/*",
                            "Microsoft.Resources/deployments/*",
                        ],
                        "notActions": [],
                    }
                ],
            },
        },
        {
            "id": f"{sub}/b24988ac-6180-42a0-ab88-20f7382dd24c",
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": "Contributor",
                "permissions": [
                    {
                        "actions": ["*"],
                        "notActions": [
                            "Microsoft.Authorization/*/Delete",
                            "Microsoft.Authorization/*/Write",
                            "Microsoft.Authorization/elevateAccess/Action",
                        ],
                    }
                ],
            },
        },
    ]
    report = check(w, tmp_path)
    assert {f.status for f in report.checks} == {Status.PASS}, str(report)
    assert "caller.role-definitions" not in {f.id for f in report.checks}  # no custom roles to write
    assert (
        "Microsoft.Network/virtualNetworks/subnets/join/action via 'Microsoft.Network/*' of role 'Network Contributor'"
    ) in finding(report, "identity.role.network").evidence
