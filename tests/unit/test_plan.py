from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aks_jumpbox.core.catalog import load_catalog, url_host
from aks_jumpbox.core.errors import SpecError
from aks_jumpbox.core.plan import Ref
from aks_jumpbox.render.output import render_files
from tests.conftest import make_plan, variant


def test_default_plan_reproduces_the_upstream_image(default_plan):
    spec = default_plan.spec
    assert set(spec.tools) == {"kubectl", "kubelogin", "helm", "flux", "azwi", "osm", "terraform"}
    assert spec.base_image == "ubuntu-24.04"
    src = default_plan.template.body["properties"]["source"]
    assert (src["publisher"], src["offer"], src["sku"]) == ("Canonical", "ubuntu-24_04-lts", "server")
    sshd = default_plan.scripts["validate.sh"]
    for setting in ("x11forwarding no", "maxauthtries 6", "passwordauthentication no", "permitrootlogin no"):
        assert setting in sshd


def test_resources_come_in_dependency_order(default_plan):
    seen = set()
    for r in default_plan.resources:
        assert set(r.depends_on) <= seen, f"{r.key} depends on something planned later"
        seen.add(r.key)
    assert default_plan.resources[-1].key == "template"


def test_names_derive_from_content(default_data, default_lock, default_plan):
    again = make_plan(default_data, default_lock)
    assert again.names == default_plan.names and again.hash == default_plan.hash
    bumped = make_plan(variant(default_data, tools__helm="4.3.0", build__vm_size="Standard_D4ds_v5"), default_lock)
    assert bumped.names.template != default_plan.names.template
    assert bumped.names.image != default_plan.names.image
    # The identity and role assignments are not per-template: they stay.
    assert bumped.names.identity == default_plan.names.identity
    assert bumped.resource("assignment.image").name == default_plan.resource("assignment.image").name
    assert default_plan.names.template.endswith(default_plan.hash[:10])


def test_role_assignments_reference_the_identity(default_plan):
    for key, scope in (
        ("assignment.network", default_plan.spec.build.subnet.vnet_id),
        ("assignment.image", "/resourceGroups/rg-mycluster"),
    ):
        r = default_plan.resource(key)
        assert r.scope.endswith(scope) and r.id.startswith(r.scope)
        assert r.body["properties"]["principalId"] == Ref("identity", "properties.principalId")
        assert r.body["properties"]["principalType"] == "ServicePrincipal"


def test_custom_roles_are_least_privilege(default_plan):
    network = default_plan.resource("role.network").body["properties"]["permissions"][0]["actions"]
    image = default_plan.resource("role.image").body["properties"]["permissions"][0]["actions"]
    assert network == [
        "Microsoft.Network/virtualNetworks/read",
        "Microsoft.Network/virtualNetworks/subnets/join/action",
    ]
    assert sorted(image) == [
        "Microsoft.Compute/images/delete",
        "Microsoft.Compute/images/read",
        "Microsoft.Compute/images/write",
    ]
    assert not any("*" in a for a in network + image)


def test_builtin_roles_fall_back_as_upstream(default_data, default_lock):
    plan = make_plan(variant(default_data, identity__roles="builtin"), default_lock)
    assert not [r for r in plan.resources if r.type.endswith("roleDefinitions")]
    ids = {
        plan.resource(k).body["properties"]["roleDefinitionId"].rsplit("/", 1)[1]
        for k in ("assignment.network", "assignment.image")
    }
    assert ids == {"4d97b98b-1d4f-4787-a291-c67834d212e7", "b24988ac-6180-42a0-ab88-20f7382dd24c"}
    assert any("builtin" in w for w in plan.warnings)


def test_isolated_and_proxy_topologies(default_plan, default_data, default_lock):
    vnet = default_plan.template.body["properties"]["vmProfile"]["vnetConfig"]
    assert set(vnet) == {"subnetId", "containerInstanceSubnetId"}
    proxy = make_plan(
        variant(
            default_data,
            build__container_instance_subnet_id=None,
            build__container_instance_subnet_address_prefix=None,
            build__proxy_vm_size="Standard_A2_v2",
        ),
        default_lock,
    )
    assert proxy.template.body["properties"]["vmProfile"]["vnetConfig"] == {
        "subnetId": str(proxy.spec.build.subnet),
        "proxyVmSize": "Standard_A2_v2",
    }
    flows = {f.id: f for f in proxy.network.flows}
    assert flows["build-in-lb-probe"].source == "AzureLoadBalancer" and flows["build-in-lb-probe"].ports == "60001"
    assert "build-in-ssh-from-proxy" in flows and "container-out-smb" not in flows
    iso = {f.id for f in default_plan.network.flows}
    assert {"build-in-ssh-from-container", "container-out-smb", "container-out-https"} <= iso


def test_validation_gates_distribution(default_plan):
    props = default_plan.template.body["properties"]
    assert props["validate"]["continueDistributeOnFailure"] is False
    assert props["buildTimeoutInMinutes"] == 60
    assert default_plan.template.body["tags"]["aks-jumpbox.plan-hash"] == default_plan.hash


def test_egress_covers_every_locked_url_and_redirect_target(default_plan, default_lock):
    fqdns = set(default_plan.network.fqdns)
    catalog = load_catalog()
    for name in default_plan.spec.tools:
        for entry in default_lock.tools[name].values():
            for art in entry.artifacts.values():
                assert url_host(art.url) in fqdns and url_host(art.checksum_url) in fqdns
        assert set(catalog.tool(name).hosts) <= fqdns
    assert {"packages.microsoft.com", "management.azure.com", "*.blob.core.windows.net"} <= fqdns


def test_mirror_mode_shrinks_egress_to_the_mirror(default_data, default_lock):
    mirror = {
        "artifacts": "https://mirror.contoso.internal/tools",
        "apt": "https://apt.contoso.internal/ubuntu",
        "azure_cli_repo": "https://apt.contoso.internal/azure-cli",
        "azure_cli_key_url": "https://mirror.contoso.internal/keys/microsoft.asc",
        "azure_cli_key_fingerprints": ["BC528686B50D79E339D3721CEB3E94ADBE1229CF"],
    }
    plan = make_plan(variant(default_data, mirror=mirror), default_lock)
    tool_hosts = {e.fqdn for e in plan.network.egress if set(e.required_by) - {"image-builder"}}
    assert tool_hosts == {"mirror.contoso.internal", "apt.contoso.internal"}
    assert all(a.url.startswith("https://mirror.contoso.internal/tools/") for a in plan.artifacts)
    helm = next(a for a in plan.artifacts if a.name == "helm")
    assert helm.url == "https://mirror.contoso.internal/tools/helm/4.3.0/amd64/helm-v4.3.0-linux-amd64.tar.gz"
    assert helm.upstream_url.startswith("https://get.helm.sh/")
    script = plan.scripts["provision.sh"]
    assert "get.helm.sh" not in script and "packages.microsoft.com" not in script


def test_a_version_missing_from_the_lock_names_the_tool(default_data, default_lock):
    with pytest.raises(SpecError) as err:
        make_plan(variant(default_data, tools__kubectl="1.30.0"), default_lock)
    (problem,) = err.value.problems
    assert problem.field == "tools.kubectl" and "aks-jumpbox lock" in problem.message


def test_unpinned_digests_are_announced(default_plan):
    unpinned = {a.name for a in default_plan.artifacts if a.sha256 is None}
    assert unpinned == {"azwi", "osm"}
    for name in unpinned:
        assert any(w.startswith(f"tools.{name}: no SHA-256") for w in default_plan.warnings)


names = st.from_regex(r"[a-z][a-z0-9]{1,10}", fullmatch=True)
tool_sets = st.sets(st.sampled_from(sorted(load_catalog().tools)), min_size=1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=names,
    tools=tool_sets,
    timeout=st.integers(6, 960),
    disk=st.sampled_from([0, 30, 64, 128]),
    base=st.sampled_from(sorted(load_catalog().base_images)),
    isolated=st.booleans(),
)
def test_plans_are_deterministic_and_self_consistent(
    default_data, default_lock, name, tools, timeout, disk, base, isolated
):
    versions = {t: next(iter(default_lock.tools[t])) for t in tools}
    data = variant(
        default_data,
        name=name,
        tools=versions,
        base_image=base,
        build__timeout_minutes=timeout,
        build__os_disk_size_gb=disk,
    )
    if not isolated:
        data = variant(
            data, build__container_instance_subnet_id=None, build__container_instance_subnet_address_prefix=None
        )
    first, second = make_plan(data, default_lock), make_plan(data, default_lock)
    files = render_files(first)
    assert files == render_files(second)
    assert first.names.template.startswith(f"imgt-{name}-")
    doc = json.loads(files["plan.json"])
    assert [a["name"] for a in doc["artifacts"]] == sorted(tools)
    for a in first.artifacts:
        assert a.url in first.scripts["provision.sh"]
