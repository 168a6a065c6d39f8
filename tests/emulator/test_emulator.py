"""Self-tests of the ARM emulator and Azurite plumbing, driven through the real Azure SDK clients."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.imagebuilder import ImageBuilderClient
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.storage import StorageManagementClient

from tests.emulator import ArmEmulator, FakeJwtCredential
from tests.emulator.plugin import ARM_AUDIENCE, ARM_SCOPE, FAKEBIN

pytestmark = pytest.mark.emulator

IMAGE_ROLE_ACTIONS = [
    "Microsoft.Compute/images/read",
    "Microsoft.Compute/images/write",
    "Microsoft.Compute/images/delete",
]
NETWORK_ROLE_ACTIONS = [
    "Microsoft.Network/virtualNetworks/read",
    "Microsoft.Network/virtualNetworks/subnets/join/action",
]


@dataclass
class Clients:
    arm: ArmEmulator
    resource: ResourceManagementClient
    msi: ManagedServiceIdentityClient
    auth: AuthorizationManagementClient
    network: NetworkManagementClient
    ib: ImageBuilderClient
    compute: ComputeManagementClient
    storage: StorageManagementClient

    @property
    def sub(self) -> str:
        return self.arm.subscription_id


def make_clients(arm: ArmEmulator, ca_file: str, **kwargs) -> Clients:
    cred = FakeJwtCredential(arm.config.caller_principal_id, arm.tenant_id)
    kw = dict(base_url=arm.base_url, connection_verify=ca_file, credential_scopes=[ARM_SCOPE], **kwargs)
    sub = arm.subscription_id
    return Clients(
        arm,
        ResourceManagementClient(cred, sub, **kw),
        ManagedServiceIdentityClient(cred, sub, **kw),
        AuthorizationManagementClient(cred, sub, **kw),
        NetworkManagementClient(cred, sub, **kw),
        ImageBuilderClient(cred, sub, **kw),
        ComputeManagementClient(cred, sub, **kw),
        StorageManagementClient(cred, sub, **kw),
    )


@pytest.fixture
def clients(arm_emulator, emulator_ca) -> Clients:
    return make_clients(arm_emulator, str(emulator_ca.ca_file))


@dataclass
class World:
    identity_id: str
    principal_id: str
    net: dict[str, str]
    image_id: str
    network_role_id: str
    image_role_id: str


def setup_world(c: Clients, *, network_role: bool = True, image_role: bool = True) -> World:
    """What the product's deploy does: groups, identity, custom roles, assignments (VNet seeded by the test)."""
    sub = c.sub
    net = c.arm.seed_build_network("rg-net")
    c.resource.resource_groups.create_or_update("rg-img", {"location": "westeurope"})
    ident = c.msi.user_assigned_identities.create_or_update("rg-img", "id-aib", {"location": "westeurope"})
    roles = {}
    for key, actions, scope in (
        ("net", NETWORK_ROLE_ACTIONS, f"/subscriptions/{sub}/resourceGroups/rg-net"),
        ("img", IMAGE_ROLE_ACTIONS, f"/subscriptions/{sub}/resourceGroups/rg-img"),
    ):
        rd = c.auth.role_definitions.create_or_update(
            f"/subscriptions/{sub}",
            str(uuid.uuid4()),
            {
                "properties": {
                    "roleName": f"aib-{key}",
                    "description": "least privilege",
                    "type": "CustomRole",
                    "permissions": [{"actions": actions}],
                    "assignableScopes": [scope],
                }
            },
        )
        roles[key] = rd.id
    if network_role:
        c.auth.role_assignments.create(
            net["vnet"],
            str(uuid.uuid4()),
            {
                "properties": {
                    "roleDefinitionId": roles["net"],
                    "principalId": ident.principal_id,
                    "principalType": "ServicePrincipal",
                }
            },
        )
    if image_role:
        c.auth.role_assignments.create(
            f"/subscriptions/{sub}/resourceGroups/rg-img",
            str(uuid.uuid4()),
            {
                "properties": {
                    "roleDefinitionId": roles["img"],
                    "principalId": ident.principal_id,
                    "principalType": "ServicePrincipal",
                }
            },
        )
    image_id = f"/subscriptions/{sub}/resourceGroups/rg-img/providers/Microsoft.Compute/images/jumpbox"
    return World(ident.id, ident.principal_id, net, image_id, roles["net"], roles["img"])


def template_body(w: World, *, inline=("echo hello",), customize=None, validate=None, distribute=None) -> dict:
    props = {
        "source": {
            "type": "PlatformImage",
            "publisher": "Canonical",
            "offer": "ubuntu-24_04-lts",
            "sku": "server",
            "version": "latest",
        },
        "customize": customize or [{"type": "Shell", "name": "provision", "inline": list(inline)}],
        "distribute": distribute
        or [
            {
                "type": "ManagedImage",
                "imageId": w.image_id,
                "location": "westeurope",
                "runOutputName": "jumpbox",
                "artifactTags": {"source": "aks-jumpbox"},
            }
        ],
        "buildTimeoutInMinutes": 60,
        "vmProfile": {
            "vmSize": "Standard_D2s_v3",
            "osDiskSizeGB": 64,
            "vnetConfig": {
                "subnetId": w.net["build_subnet"],
                "containerInstanceSubnetId": w.net["aci_subnet"],
            },
        },
    }
    if validate:
        props["validate"] = validate
    return {
        "location": "westeurope",
        "tags": {"app": "jumpbox"},
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {w.identity_id: {}}},
        "properties": props,
    }


def create_template(c: Clients, w: World, name: str = "jb-1", **kw):
    return c.ib.virtual_machine_image_templates.begin_create_or_update("rg-img", name, template_body(w, **kw)).result()


def watch(c: Clients, name: str = "jb-1") -> list[tuple[str, str]]:
    """GET the template until its run ends; the (runState, runSubState) seen, without repeats."""
    seen: list[tuple[str, str]] = []
    for _ in range(100):
        status = c.ib.virtual_machine_image_templates.get("rg-img", name).properties.last_run_status
        pair = (status["runState"], status["runSubState"])
        if not seen or seen[-1] != pair:
            seen.append(pair)
        if pair[0] not in ("Running", "Canceling"):
            return seen
    raise AssertionError(f"run did not end: {seen}")


# ---------------------------------------------------------------- end to end


def test_build_succeeds_and_logs_are_readable_in_azurite_with_a_token(azure_env):
    c = make_clients(azure_env.arm, str(azure_env.ca.ca_file))
    w = setup_world(c)
    markers = ["==> STEP 1/3 apt", "==> STEP 2/3 kubectl", "==> STEP 3/3 helm"]
    azure_env.arm.imagebuilder.customizer_output = lambda tpl, step, i: markers
    tpl = create_template(c, w)
    assert tpl.properties.provisioning_state == "Succeeded"
    staging = tpl.properties.exact_staging_resource_group
    assert staging.split("/")[-1].startswith("IT_rg-img_jb-1_")

    # Watch the template instead of the LRO (polling=False: no poller thread advancing the run meanwhile).
    c.ib.virtual_machine_image_templates.begin_run("rg-img", "jb-1", polling=False)
    seen = watch(c)
    assert [s for _, s in seen] == ["Building", "Customizing", "Distributing", "Distributing"]
    assert seen[-1][0] == "Succeeded"

    image = c.compute.images.get("rg-img", "jumpbox")
    assert image.tags == {"source": "aks-jumpbox"}
    (out,) = list(c.ib.virtual_machine_image_templates.list_run_outputs("rg-img", "jb-1"))
    assert out.properties.artifact_id.lower() == w.image_id.lower()

    # The product's route to the logs: staging group -> storage account -> primaryEndpoints.blob -> packerlogs.
    staging_rg = staging.split("/")[-1]
    (account,) = list(c.storage.storage_accounts.list_by_resource_group(staging_rg))
    blob_url = account.primary_endpoints.blob
    from azure.storage.blob import BlobServiceClient

    def read_log(credential) -> str:
        svc = BlobServiceClient(blob_url, credential=credential, connection_verify=str(azure_env.ca.ca_file))
        (name,) = [
            b.name for b in svc.get_container_client("packerlogs").list_blobs() if b.name.endswith("/customization.log")
        ]
        return svc.get_blob_client("packerlogs", name).download_blob().readall().decode()

    # Azure AD first: the subscription Owner has no blob *data* role, so Azure refuses the token...
    with pytest.raises(HttpResponseError) as err:
        read_log(azure_env.credential)
    assert err.value.status_code == 403 and err.value.error_code == "AuthorizationPermissionMismatch"
    # ...and the product may fall back to a key from listKeys (hybrid models are Mappings: index the JSON).
    key = c.storage.storage_accounts.list_keys(staging_rg, account.name)["keys"][0]["value"]
    text = read_log({"account_name": account.name, "account_key": key})
    for marker in markers:
        assert f"azure-arm: {marker}" in text
    assert "Builds finished. The artifacts of successful builds are" in text
    # With Storage Blob Data Reader on the account, the token works.
    c.auth.role_assignments.create(
        account.id,
        str(uuid.uuid4()),
        {
            "properties": {
                "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",  # noqa: E501 - literal data
                "principalId": azure_env.arm.config.caller_principal_id,
            }
        },
    )
    assert read_log(azure_env.credential) == text


def test_storage_account_without_shared_key_access_refuses_keys(azure_env):
    c = make_clients(azure_env.arm, str(azure_env.ca.ca_file))
    c.resource.resource_groups.create_or_update("rg", {"location": "westeurope"})
    name = azure_env.arm.blobs.allocate_account()
    account = c.storage.storage_accounts.begin_create(
        "rg",
        name,
        {
            "location": "westeurope",
            "sku": {"name": "Standard_LRS"},
            "kind": "StorageV2",
            "properties": {"allowSharedKeyAccess": False},
        },
    ).result()
    with pytest.raises(HttpResponseError) as err:
        c.storage.storage_accounts.list_keys("rg", name)
    assert err.value.status_code == 409
    key = {"account_name": name, "account_key": azure_env.azurite.accounts[name]}
    with pytest.raises(HttpResponseError) as err:
        azure_env.blob_service(name, credential=key).create_container("logs")
    assert err.value.error_code == "KeyBasedAuthenticationNotPermitted"
    azure_env.arm.assign_role(
        azure_env.arm.config.caller_principal_id, account.id, "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
    )  # Storage Blob Data Contributor
    azure_env.blob_service(name).create_container("logs")
    assert [x.name for x in azure_env.blob_service(name).list_containers()] == ["logs"]


def test_build_through_the_run_lro(clients):
    w = setup_world(clients)
    create_template(clients, w)
    assert clients.ib.virtual_machine_image_templates.begin_run("rg-img", "jb-1").result() is None
    status = clients.ib.virtual_machine_image_templates.get("rg-img", "jb-1").properties.last_run_status
    assert (status.run_state, status.run_sub_state) == ("Succeeded", "Distributing")
    assert status.end_time is not None


def test_missing_image_role_fails_at_distribute(clients):
    w = setup_world(clients)
    create_template(clients, w)
    # Taken away after the template was accepted: Azure notices only when it distributes.
    for ra in clients.arm.rbac.assignments(w.principal_id, w.image_id, at_or_above=True):
        clients.arm.store.delete(ra.id)
    with pytest.raises(HttpResponseError) as err:
        clients.ib.virtual_machine_image_templates.begin_run("rg-img", "jb-1").result()
    assert "AuthorizationFailed" in str(err.value) and "Microsoft.Compute/images/write" in str(err.value)
    status = clients.ib.virtual_machine_image_templates.get("rg-img", "jb-1").properties.last_run_status
    assert (status.run_state, status.run_sub_state) == ("Failed", "Distributing")
    assert "Microsoft.Compute/images/write" in status.message
    # The documented shape of a distribution failure (image-builder-troubleshoot, issues/20 upstream).
    assert (
        "Failed in distributing 1 images out of total 1: {[Error 0] [Distribute 0] Error publishing" in status.message
    )
    with pytest.raises(ResourceNotFoundError):
        clients.compute.images.get("rg-img", "jumpbox")


def test_missing_image_role_fails_the_submission_and_leaves_a_failed_template(clients):
    w = setup_world(clients, image_role=False)
    with pytest.raises(HttpResponseError) as err:
        create_template(clients, w)
    assert err.value.error.code == "Other"
    assert f"Not authorized to access the resource: {w.image_id}." in err.value.error.message
    tpl = clients.ib.virtual_machine_image_templates.get("rg-img", "jb-1")
    assert tpl.properties.provisioning_state == "Failed"
    assert tpl.properties.provisioning_error.provisioning_error_code == "Other"
    assert "Not authorized to access the resource" in tpl.properties.provisioning_error.message
    assert tpl.properties.exact_staging_resource_group is None  # nothing was made for it
    # The failed template must be deleted first: submitting it again conflicts, even unchanged.
    clients.auth.role_assignments.create(
        f"/subscriptions/{clients.sub}/resourceGroups/rg-img",
        str(uuid.uuid4()),
        {
            "properties": {
                "roleDefinitionId": w.image_role_id,
                "principalId": w.principal_id,
                "principalType": "ServicePrincipal",
            }
        },
    )
    with pytest.raises(HttpResponseError) as again:
        create_template(clients, w)
    assert again.value.status_code == 409 and "Update/Upgrade of image templates" in again.value.error.message
    clients.ib.virtual_machine_image_templates.begin_delete("rg-img", "jb-1").result()
    assert create_template(clients, w).properties.provisioning_state == "Succeeded"


def test_new_role_assignments_reach_image_builder_after_a_delay(clients):
    clients.arm.rbac.propagation = 1  # one round of Image Builder's checks
    w = setup_world(clients)  # its assignments are made over HTTP, so they propagate
    with pytest.raises(HttpResponseError) as err:
        create_template(clients, w)
    assert "Not authorized to access the resource" in err.value.error.message
    clients.ib.virtual_machine_image_templates.begin_delete("rg-img", "jb-1").result()
    assert create_template(clients, w).properties.provisioning_state == "Succeeded"


def test_template_create_checks_the_network_role(clients):
    w = setup_world(clients, network_role=False)
    with pytest.raises(HttpResponseError) as err:
        create_template(clients, w)
    assert err.value.error.code == "Other"
    assert f"Not authorized to access the resource: {w.net['vnet']}." in err.value.error.message
    clients.ib.virtual_machine_image_templates.begin_delete("rg-img", "jb-1").result()
    # A broad built-in role with a wildcard (Network Contributor: Microsoft.Network/*) is enough.
    clients.auth.role_assignments.create(
        w.net["vnet"],
        str(uuid.uuid4()),
        {
            "properties": {
                "roleDefinitionId": f"/subscriptions/{clients.sub}/providers/Microsoft.Authorization/roleDefinitions/"
                "4d97b98b-1d4f-4787-a291-c67834d212e7",
                "principalId": w.principal_id,
            }
        },
    )
    assert create_template(clients, w).properties.provisioning_state == "Succeeded"


def test_templates_are_immutable(clients):
    w = setup_world(clients)
    create_template(clients, w)
    clients.ib.virtual_machine_image_templates.begin_run("rg-img", "jb-1").result()
    # The same body again is accepted and keeps the run history.
    again = create_template(clients, w)
    assert again.properties.last_run_status.run_state == "Succeeded"
    with pytest.raises(HttpResponseError) as err:
        create_template(clients, w, inline=("echo changed",))
    assert err.value.status_code == 409 and err.value.error.code == "Conflict"
    assert "Update/Upgrade of image templates is currently not supported" in err.value.error.message
    # PATCH may change tags (and identity, distribute, vmProfile), nothing else.
    patched = clients.ib.virtual_machine_image_templates.begin_update(
        "rg-img", "jb-1", {"tags": {"app": "jumpbox", "owner": "ops"}}
    ).result()
    assert patched.tags == {"app": "jumpbox", "owner": "ops"}
    with pytest.raises(HttpResponseError) as err:
        clients.ib.virtual_machine_image_templates.begin_update(
            "rg-img", "jb-1", {"properties": {"buildTimeoutInMinutes": 90}}
        ).result()
    assert err.value.status_code == 409


def test_no_run_or_delete_while_running_and_cancel(clients):
    w = setup_world(clients)
    create_template(clients, w)
    clients.arm.imagebuilder.hold = True
    clients.ib.virtual_machine_image_templates.begin_run("rg-img", "jb-1", polling=False)
    for call in (
        lambda: clients.ib.virtual_machine_image_templates.begin_run("rg-img", "jb-1"),
        lambda: clients.ib.virtual_machine_image_templates.begin_delete("rg-img", "jb-1"),
    ):
        with pytest.raises(HttpResponseError) as err:
            call()
        assert err.value.status_code == 409 and err.value.error.code == "OperationNotAllowed"
    clients.ib.virtual_machine_image_templates.begin_cancel("rg-img", "jb-1").result()
    status = clients.ib.virtual_machine_image_templates.get("rg-img", "jb-1").properties.last_run_status
    assert status.run_state == "Canceling"
    clients.arm.imagebuilder.hold = False
    assert watch(clients)[-1][0] == "Canceled"
    clients.ib.virtual_machine_image_templates.begin_delete("rg-img", "jb-1").result()


def test_failing_customizer_names_its_step_in_the_log(azure_env):
    c = make_clients(azure_env.arm, str(azure_env.ca.ca_file))
    w = setup_world(c)
    steps = ["==> STEP 1/3 apt", "installing", "==> STEP 2/3 kubectl", "downloading", "==> STEP 3/3 helm"]
    azure_env.arm.imagebuilder.customizer_output = lambda tpl, step, i: steps
    azure_env.arm.faults.fail_customizer(
        at=r"STEP 2/3", stderr=["sha256sum: WARNING: 1 computed checksum did NOT match"]
    )
    create_template(c, w)
    with pytest.raises(HttpResponseError) as err:
        c.ib.virtual_machine_image_templates.begin_run("rg-img", "jb-1").result()
    status = c.ib.virtual_machine_image_templates.get("rg-img", "jb-1").properties.last_run_status
    assert (status.run_state, status.run_sub_state) == ("Failed", "Customizing")
    assert "customization.log" in status.message and "Packer build command has failed" in str(err.value)
    url = status.message.split("Image Build log location: ")[1].split(". OperationId")[0]
    account, container, *blob = url.removeprefix(azure_env.arm.blobs.endpoint_base + "/").split("/")
    key = {"account_name": account, "account_key": azure_env.azurite.accounts[account]}
    blob_client = azure_env.blob_service(account, credential=key).get_blob_client(container, "/".join(blob))
    text = blob_client.download_blob().readall().decode()
    assert "STEP 2/3 kubectl" in text and "STEP 3/3" not in text
    assert "PACKER ERR     azure-arm: sha256sum: WARNING" in text
    assert "Script exited with non-zero exit status: 1" in text


def test_deleting_the_template_deletes_its_staging_group_but_not_the_image(azure_env):
    c = make_clients(azure_env.arm, str(azure_env.ca.ca_file))
    w = setup_world(c)
    tpl = create_template(c, w)
    c.ib.virtual_machine_image_templates.begin_run("rg-img", "jb-1").result()
    staging = tpl.properties.exact_staging_resource_group.split("/")[-1]
    (account,) = list(c.storage.storage_accounts.list_by_resource_group(staging))
    c.ib.virtual_machine_image_templates.begin_delete("rg-img", "jb-1").result()
    assert not c.resource.resource_groups.check_existence(staging)
    assert c.compute.images.get("rg-img", "jumpbox").name == "jumpbox"
    assert [x.name for x in azure_env.azurite.service_client(account.name).list_containers()] == []


def test_gallery_distribution_creates_versions(clients):
    w = setup_world(clients, image_role=False)
    gallery = f"/subscriptions/{clients.sub}/resourceGroups/rg-img/providers/Microsoft.Compute/galleries/gal"
    clients.compute.galleries.begin_create_or_update("rg-img", "gal", {"location": "westeurope"}).result()
    clients.compute.gallery_images.begin_create_or_update(
        "rg-img",
        "gal",
        "jumpbox",
        {
            "location": "westeurope",
            "properties": {
                "osType": "Linux",
                "osState": "Generalized",
                "hyperVGeneration": "V2",
                "identifier": {"publisher": "me", "offer": "jb", "sku": "1"},
            },
        },
    ).result()
    clients.arm.assign_role(w.principal_id, gallery, "b24988ac-6180-42a0-ab88-20f7382dd24c")  # Contributor
    distribute = [
        {
            "type": "SharedImage",
            "galleryImageId": f"{gallery}/images/jumpbox",
            "runOutputName": "gal",
            "targetRegions": [{"name": "westeurope", "replicaCount": 1}],
        }
    ]
    create_template(clients, w, distribute=distribute)
    for _ in range(2):
        clients.ib.virtual_machine_image_templates.begin_run("rg-img", "jb-1").result()
    versions = sorted(
        v.name for v in clients.compute.gallery_image_versions.list_by_gallery_image("rg-img", "gal", "jumpbox")
    )
    assert versions == ["1.0.0", "1.0.1"]


# ---------------------------------------------------------------- resilience


def test_throttling_storm_is_survived_by_the_sdk_retry_policy(clients):
    clients.resource.resource_groups.create_or_update("rg", {"location": "westeurope"})
    clients.arm.faults.throttle(3, method="GET", path=r"/resourcegroups/rg$", retry_after=0.05)
    assert clients.resource.resource_groups.get("rg").name == "rg"
    assert clients.arm.count("GET", "Microsoft.Resources/resourceGroups") == 4
    # One more than the default 3 status retries surfaces the 429, as against Azure.
    clients.arm.faults.throttle(4, method="GET", path=r"/resourcegroups/rg$", retry_after=0.05)
    with pytest.raises(HttpResponseError) as err:
        clients.resource.resource_groups.get("rg")
    assert err.value.status_code == 429


def test_transient_errors_and_dropped_connections_are_retried(clients):
    clients.resource.resource_groups.create_or_update("rg", {"location": "westeurope"})
    clients.arm.faults.server_error(2, status=503, method="PUT", path="userAssignedIdentities")
    clients.arm.faults.drop(1, method="GET", path="userAssignedIdentities")
    created = clients.msi.user_assigned_identities.create_or_update("rg", "id", {"location": "westeurope"})
    assert clients.msi.user_assigned_identities.get("rg", "id").principal_id == created.principal_id
    assert clients.arm.count("PUT", "Microsoft.ManagedIdentity/userAssignedIdentities") == 3
    assert [r.status for r in clients.arm.requests if r.method == "GET"] == [0, 200]


def test_lro_polling_uses_the_emulators_short_delay_not_the_30s_default(arm_emulator, emulator_ca, monkeypatch):
    sleeps: list[float] = []
    from azure.core.pipeline.transport import RequestsTransport

    monkeypatch.setattr(RequestsTransport, "sleep", lambda self, s: sleeps.append(s))
    cred = FakeJwtCredential(arm_emulator.config.caller_principal_id, arm_emulator.tenant_id)
    # Default polling_interval (30 s), as the product uses it.
    c = NetworkManagementClient(
        cred,
        arm_emulator.subscription_id,
        base_url=arm_emulator.base_url,
        connection_verify=str(emulator_ca.ca_file),
    )
    arm_emulator.seed_resource_group("rg")
    c.virtual_networks.begin_create_or_update(
        "rg",
        "v",
        {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}},
    ).result()
    assert sleeps and all(s == arm_emulator.config.poll_delay_ms / 1000 for s in sleeps)


# ---------------------------------------------------------------- ARM surface


def test_role_assignment_lists_filter_by_principal_and_scope(clients):
    w = setup_world(clients)
    sub_scope = f"/subscriptions/{clients.sub}"
    rg = f"{sub_scope}/resourceGroups/rg-net"
    flt = f"principalId eq '{w.principal_id}'"
    below = list(clients.auth.role_assignments.list_for_scope(rg, filter=flt))
    assert [a.scope.lower() for a in below] == [w.net["vnet"].lower()]
    assert list(clients.auth.role_assignments.list_for_scope(rg, filter=f"atScope() and {flt}")) == []
    at_vnet = list(clients.auth.role_assignments.list_for_scope(w.net["vnet"], filter=f"atScope() and {flt}"))
    assert len(at_vnet) == 1
    everyone = list(clients.auth.role_assignments.list_for_subscription())
    assert len(everyone) == 3  # caller's Owner + the two AIB assignments
    # Duplicate (same principal, role and scope under another name) and deleting a role still in use.
    with pytest.raises(HttpResponseError) as err:
        clients.auth.role_assignments.create(
            w.net["vnet"],
            str(uuid.uuid4()),
            {"properties": {"roleDefinitionId": w.network_role_id, "principalId": w.principal_id}},
        )
    assert err.value.error.code == "RoleAssignmentExists"
    with pytest.raises(HttpResponseError) as err:
        clients.auth.role_definitions.delete(sub_scope, w.network_role_id.split("/")[-1])
    assert err.value.error.code == "RoleDefinitionHasAssignments"
    roles = list(clients.auth.role_definitions.list(sub_scope, filter="roleName eq 'aib-net'"))
    assert [r.id for r in roles] == [w.network_role_id]


def test_role_assignment_needs_an_existing_principal_or_a_principal_type(clients):
    clients.resource.resource_groups.create_or_update("rg", {"location": "westeurope"})
    scope = f"/subscriptions/{clients.sub}/resourceGroups/rg"
    reader = f"/subscriptions/{clients.sub}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"  # noqa: E501 - literal data
    ghost = str(uuid.uuid4())
    with pytest.raises(HttpResponseError) as err:
        clients.auth.role_assignments.create(
            scope, str(uuid.uuid4()), {"properties": {"roleDefinitionId": reader, "principalId": ghost}}
        )
    assert err.value.error.code == "PrincipalNotFound"
    ok = clients.auth.role_assignments.create(
        scope,
        str(uuid.uuid4()),
        {
            "properties": {
                "roleDefinitionId": reader,
                "principalId": ghost,
                "principalType": "ServicePrincipal",
            }
        },
    )
    assert ok.principal_type == "ServicePrincipal"


def test_caller_permissions_come_from_its_role_assignments(clients):
    clients.resource.resource_groups.create_or_update("rg", {"location": "westeurope"})
    (block,) = list(clients.auth.permissions.list_for_resource_group("rg"))
    assert block.actions == ["*"]
    arm, caller = clients.arm, clients.arm.config.caller_principal_id
    arm.remove_assignments(caller)
    arm.assign_role(caller, f"/subscriptions/{clients.sub}", "b24988ac-6180-42a0-ab88-20f7382dd24c")  # Contributor
    (block,) = list(clients.auth.permissions.list_for_resource_group("rg"))
    assert "Microsoft.Authorization/*/Write" in block.not_actions
    # ARM enforces it: a Contributor may create identities but not role assignments.
    ident = clients.msi.user_assigned_identities.create_or_update("rg", "id", {"location": "westeurope"})
    with pytest.raises(HttpResponseError) as err:
        clients.auth.role_assignments.create(
            f"/subscriptions/{clients.sub}/resourceGroups/rg",
            str(uuid.uuid4()),
            {
                "properties": {
                    "roleDefinitionId": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
                    "principalId": ident.principal_id,
                }
            },
        )
    assert err.value.status_code == 403 and err.value.error.code == "AuthorizationFailed"


def test_arm_errors_for_unknown_routes_and_missing_resources(clients):
    with pytest.raises(ResourceNotFoundError) as err:
        clients.resource.resource_groups.get("nope")
    assert err.value.error.code == "ResourceGroupNotFound"
    with pytest.raises(ResourceNotFoundError) as err:
        clients.msi.user_assigned_identities.get("nope", "id")
    assert err.value.error.code == "ResourceGroupNotFound"
    clients.resource.resource_groups.create_or_update("rg", {"location": "westeurope"})
    with pytest.raises(ResourceNotFoundError) as err:
        clients.msi.user_assigned_identities.get("rg", "id")
    assert err.value.error.code == "ResourceNotFound"
    with pytest.raises(ResourceNotFoundError) as err:
        clients.network.subnets.get("rg", "no-vnet", "s")
    assert err.value.error.code == "ParentResourceNotFound"
    from azure.core.rest import HttpRequest

    for url, code in (
        (
            f"/subscriptions/{clients.sub}/resourceGroups/rg/providers/Microsoft.Network/bogus/x?api-version=1",
            "InvalidResourceType",
        ),
        (f"/subscriptions/{clients.sub}/resourceGroups/rg?", "MissingApiVersionParameter"),
        (
            "/subscriptions/00000000-0000-0000-0000-000000000000?api-version=2022-12-01",
            "SubscriptionNotFound",
        ),
    ):
        resp = clients.resource._client.send_request(HttpRequest("GET", clients.arm.base_url + url))
        assert resp.status_code in (400, 404) and resp.json()["error"]["code"] == code


def test_put_bodies_are_validated_against_the_arm_schemas(clients):
    w = setup_world(clients)
    body = template_body(w)
    body["properties"]["customize"][0]["inlne"] = ["typo"]
    with pytest.raises(HttpResponseError) as err:
        clients.ib.virtual_machine_image_templates.begin_create_or_update("rg-img", "bad", body)
    assert err.value.status_code == 400 and err.value.error.code == "InvalidRequestContent"
    assert "inlne" in err.value.error.message
    body = template_body(w)
    body["properties"]["vmProfile"]["osDiskSizeGB"] = "large"
    with pytest.raises(HttpResponseError) as err:
        clients.ib.virtual_machine_image_templates.begin_create_or_update("rg-img", "bad", body)
    assert "osDiskSizeGB" in err.value.error.message


def test_resource_providers_and_isolated_builds_need_container_instance(clients):
    prov = clients.resource.providers.get("Microsoft.VirtualMachineImages")
    assert prov.registration_state == "Registered"
    assert "West Europe" in prov.resource_types[0].locations
    clients.arm.providers.set_state("Microsoft.ContainerInstance", "NotRegistered")
    w = setup_world(clients)
    create_template(clients, w)
    # Every build runs in a container instance: the build fails with the documented text
    # (image-builder-troubleshoot, "Unregistered Azure Container Instances provider").
    with pytest.raises(HttpResponseError) as err:
        clients.ib.virtual_machine_image_templates.begin_run("rg-img", "jb-1").result()
    assert "Azure Container Instances provider not registered for your subscription." in str(err.value)
    assert clients.resource.providers.register("Microsoft.ContainerInstance").registration_state == "Registering"
    assert clients.resource.providers.get("Microsoft.ContainerInstance").registration_state == "Registered"
    assert clients.ib.virtual_machine_image_templates.begin_run("rg-img", "jb-1").result() is None


def test_unregistered_namespace_answers_missing_subscription_registration(arm_emulator):
    from tests.emulator.wire import Request

    arm_emulator.seed_resource_group("rg")
    arm_emulator.providers.set_state("Microsoft.ManagedIdentity", "NotRegistered")
    req = Request.build(
        "PUT",
        f"/subscriptions/{arm_emulator.subscription_id}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/"
        "userAssignedIdentities/id?api-version=2024-11-30",
        {"Authorization": "Bearer x"},
        b'{"location": "westeurope"}',
        arm_emulator.base_url,
    )
    resp = arm_emulator.handle(req)
    assert resp.status == 409 and resp.body["error"]["code"] == "MissingSubscriptionRegistration"
    assert "'Microsoft.ManagedIdentity'" in resp.body["error"]["message"]


def test_request_counts_per_method_and_type(clients):
    w = setup_world(clients)
    clients.arm.reset_counts()
    create_template(clients, w)
    counts = clients.arm.counts()
    assert counts["PUT Microsoft.VirtualMachineImages/imageTemplates"] == 1
    assert counts["GET operations"] == clients.arm.config.lro_polls + 1
    assert counts["GET Microsoft.VirtualMachineImages/imageTemplates"] == 1  # the LRO's final GET


def test_live_output_is_in_the_build_container_and_the_log_reaches_packerlogs_at_the_end(azure_env):
    """image-builder-troubleshoot: live logs in `vmimagebuilder-build-container-*` (Containers - List Logs),
    customization.log in packerlogs only after the build."""
    from azure.core.rest import HttpRequest

    c = make_clients(azure_env.arm, str(azure_env.ca.ca_file))
    w = setup_world(c)
    azure_env.arm.imagebuilder.ticks_per_phase = 3
    azure_env.arm.imagebuilder.customizer_output = lambda tpl, step, i: [f"line {n}" for n in range(30)]
    tpl = create_template(c, w)
    staging = tpl.properties.exact_staging_resource_group
    c.ib.virtual_machine_image_templates.begin_run("rg-img", "jb-1", polling=False)
    run = azure_env.arm.imagebuilder.run_of(tpl.id)
    sizes, in_blob = [], []
    while True:
        state = c.ib.virtual_machine_image_templates.get("rg-img", "jb-1").properties.last_run_status
        if state.run_state != "Running":
            break
        if run.account:  # looked at before anything else observes the run
            in_blob.append(azure_env.arm.blobs.get(run.account, "packerlogs", f"{run.id}/customization.log"))
        groups = [
            r
            for r in c.resource.resources.list_by_resource_group(staging.split("/")[-1])
            if r.type == "Microsoft.ContainerInstance/containerGroups"
        ]
        if groups:
            (group,) = groups
            assert group.name.startswith("vmimagebuilder-build-container-")
            path = f"{group.id}/containers/packer/logs"
            resp = c.resource.send_request(
                HttpRequest("GET", path, params={"api-version": "2023-05-01", "tail": "1000"})
            )
            assert resp.status_code == 200, resp.text()
            content = resp.json()["content"]
            if not sizes or sizes[-1] != len(content):
                sizes.append(len(content))
    assert len(sizes) >= 3 and sizes == sorted(sizes)
    assert set(in_blob) == {None}  # nothing in packerlogs while it ran
    text = azure_env.arm.blobs.get(run.account, "packerlogs", f"{run.id}/customization.log").decode()
    assert "line 29" in text and "PACKER ERR" in text  # Packer's debug output, on standard error
    assert not [
        r
        for r in c.resource.resources.list_by_resource_group(staging.split("/")[-1])
        if r.type == "Microsoft.ContainerInstance/containerGroups"
    ]  # the container went with the run


# ---------------------------------------------------------------- credentials and the product's environment


def test_real_cli_credential_gets_tokens_from_the_fake_az(azure_env, monkeypatch):
    from azure.identity import AzureCliCredential, DefaultAzureCredential

    for key, value in azure_env.env.items():
        monkeypatch.setenv(key, value)
    token = AzureCliCredential().get_token("https://storage.azure.com/.default").token
    from tests.emulator.app import _jwt_claims

    assert _jwt_claims(token)["aud"] == "https://storage.azure.com"
    cred = DefaultAzureCredential()
    svc = azure_env.azurite.service_client("devstoreaccount1", credential=cred)
    svc.create_container("via-cli-token")
    assert "via-cli-token" in [c.name for c in svc.list_containers()]


def test_product_style_subprocess_reaches_the_emulator_through_env_only(azure_env, tmp_path):
    """The shape of a product call: endpoints, CA trust and credentials all from the environment."""
    script = tmp_path / "probe.py"
    script.write_text(
        "import os\n"
        "from azure.identity import DefaultAzureCredential\n"
        "from azure.mgmt.resource.resources import ResourceManagementClient\n"
        "c = ResourceManagementClient(DefaultAzureCredential(), os.environ['AZURE_SUBSCRIPTION_ID'],\n"
        "    base_url=os.environ['AZURE_ARM_ENDPOINT'],\n"
        "    credential_scopes=[os.environ['AZURE_ARM_AUDIENCE'].rstrip('/') + '/.default'])\n"
        "c.resource_groups.create_or_update('rg-probe', {'location': 'westeurope'})\n"
        "print(c.resource_groups.get('rg-probe').id)\n"
    )
    done = subprocess.run([sys.executable, str(script)], env=azure_env.env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("/resourceGroups/rg-probe")
    assert azure_env.arm.token_audiences == {ARM_AUDIENCE.rstrip("/")}  # what the fake az put in the token
    assert (FAKEBIN / "az").exists() and os.access(FAKEBIN / "az", os.X_OK)


def test_fake_az_reports_logged_out(tmp_path):
    env = dict(os.environ, FAKE_AZ_LOGGED_OUT="1")
    done = subprocess.run([str(FAKEBIN / "az"), "account", "get-access-token"], env=env, capture_output=True, text=True)
    assert done.returncode == 1 and "az login" in done.stderr
    done = subprocess.run([str(FAKEBIN / "az"), "account", "show"], capture_output=True, text=True)
    assert json.loads(done.stdout)["state"] == "Enabled"


# ---------------------------------------------------------------- more Image Builder behaviour


def _template_id(c: Clients, name: str = "jb-1") -> str:
    return (
        f"/subscriptions/{c.sub}/resourceGroups/rg-img/providers/Microsoft.VirtualMachineImages/imageTemplates/{name}"
    )


def _staging_vms(c: Clients, tpl) -> list[str]:
    staging = tpl.properties.exact_staging_resource_group
    return [r.name for r in c.arm.store.of_type("Microsoft.Compute/virtualMachines", staging)]


@pytest.mark.parametrize("on_error, kept", [("cleanup", 0), ("abort", 1)])
def test_error_handling_abort_keeps_the_build_vm(clients, on_error, kept):
    w = setup_world(clients)
    body = template_body(w)
    body["properties"]["errorHandling"] = {"onCustomizerError": on_error}
    tpl = clients.ib.virtual_machine_image_templates.begin_create_or_update("rg-img", "jb-1", body).result()
    clients.arm.faults.fail_customizer()
    clients.ib.virtual_machine_image_templates.begin_run("rg-img", "jb-1", polling=False)
    run = clients.arm.imagebuilder.finish(_template_id(clients))
    assert run.state == "Failed" and run.sub_state == "Customizing"
    assert len(_staging_vms(clients, tpl)) == kept


def test_failing_in_vm_validation_writes_validation_log(clients):
    w = setup_world(clients)
    validate = {"inVMValidations": [{"type": "Shell", "name": "validate", "inline": ["validate.sh"]}]}
    create_template(clients, w, validate=validate)
    clients.arm.imagebuilder.validator_output = lambda tpl, step, i: [
        "check kubectl: ok",
        "check helm: FAILED",
    ]
    clients.arm.faults.fail_validation(at="FAILED", stderr=["helm: version mismatch"])
    clients.ib.virtual_machine_image_templates.begin_run("rg-img", "jb-1", polling=False)
    seen = watch(clients)
    assert seen[-1] == ("Failed", "Validating")
    run = clients.arm.imagebuilder.run_of(_template_id(clients))
    text = clients.arm.blobs.get(run.account, "packerlogs", f"{run.id}/validation.log").decode()
    assert "check helm: FAILED" in text and "helm: version mismatch" in text
    assert "validation.log" in run.message
    with pytest.raises(ResourceNotFoundError):  # nothing distributed
        clients.compute.images.get("rg-img", "jumpbox")


def test_runs_can_advance_by_time(clients, monkeypatch):
    from tests.emulator import imagebuilder

    now = [1000.0]
    monkeypatch.setattr(imagebuilder.time, "monotonic", lambda: now[0])
    w = setup_world(clients)
    create_template(clients, w)
    clients.arm.imagebuilder.seconds_per_phase = 60
    clients.ib.virtual_machine_image_templates.begin_run("rg-img", "jb-1", polling=False)
    get = lambda: clients.ib.virtual_machine_image_templates.get("rg-img", "jb-1").properties.last_run_status  # noqa: E731
    assert [get()["runSubState"] for _ in range(3)] == ["Queued"] * 3  # looking alone does not advance it
    now[0] += 130
    assert get()["runSubState"] == "Customizing"
    now[0] += 600
    assert get()["runState"] == "Succeeded"


def test_put_while_an_lro_is_in_progress_conflicts(clients):
    clients.arm.config.lro_polls = 5
    clients.resource.resource_groups.create_or_update("rg", {"location": "westeurope"})
    body = {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}
    clients.network.virtual_networks.begin_create_or_update("rg", "v", body, polling=False)
    with pytest.raises(HttpResponseError) as err:
        clients.network.virtual_networks.begin_create_or_update("rg", "v", body, polling=False)
    assert err.value.error.code == "AnotherOperationInProgress"


def test_lists_are_paged_with_next_links(clients):
    clients.arm.config.page_size = 2
    for i in range(5):
        clients.resource.resource_groups.create_or_update(f"rg-{i}", {"location": "westeurope"})
    assert sorted(g.name for g in clients.resource.resource_groups.list()) == [f"rg-{i}" for i in range(5)]
    assert clients.arm.count("GET", "Microsoft.Resources/resourceGroups (list)") == 3


# ---------------------------------------------------------------- Microsoft's REST API spec as the judge


def test_every_image_template_answer_is_checked_against_the_swagger(clients, monkeypatch):
    from tests.emulator import imagebuilder, swaggercheck
    from tests.emulator.wire import Request, Response

    w = setup_world(clients)
    create_template(clients, w)
    clients.ib.virtual_machine_image_templates.begin_run("rg-img", "jb-1").result()
    list(clients.ib.virtual_machine_image_templates.list_run_outputs("rg-img", "jb-1"))
    list(clients.ib.virtual_machine_image_templates.list_by_resource_group("rg-img"))
    assert clients.arm.swagger_violations == []
    # The check can fail: an answer with a property the spec does not define, a request with a wrong type.
    original = imagebuilder.ImageTemplateHandler.render

    def bogus(self, arm, res):
        out = original(self, arm, res)
        out["properties"]["lastRunStatus"] = {"runState": "Finished"}
        return out

    monkeypatch.setattr(imagebuilder.ImageTemplateHandler, "render", bogus)
    clients.ib.virtual_machine_image_templates.get("rg-img", "jb-1")
    assert any("runState: 'Finished' is not one of" in v for v in clients.arm.swagger_violations)
    clients.arm.swagger_violations.clear()
    path = (
        f"/subscriptions/{clients.sub}/resourceGroups/rg-img/providers/Microsoft.VirtualMachineImages/imageTemplates/x"
    )
    req = Request(
        "PUT", path, {}, {}, b'{"location": "westeurope", "properties": {"vmProfile": {"osDiskSizeGB": "9"}}}'
    )
    assert any("osDiskSizeGB" in v for v in swaggercheck.check(req, Response(201, {})))


def test_template_field_errors_are_validation_failed_as_documented(clients):
    w = setup_world(clients)
    body = template_body(w)
    body["properties"]["vmProfile"]["vnetConfig"]["proxyVmSize"] = "Standard_A1_v2"
    with pytest.raises(HttpResponseError) as err:
        clients.ib.virtual_machine_image_templates.begin_create_or_update("rg-img", "jb-1", body).result()
    assert err.value.status_code == 400 and err.value.error.code == "ValidationFailed"
    assert err.value.error.message.startswith("Validation failed: 'ImageTemplate.properties.vmProfile.vnetConfig'")
    with pytest.raises(ResourceNotFoundError):  # nothing was created
        clients.ib.virtual_machine_image_templates.get("rg-img", "jb-1")
