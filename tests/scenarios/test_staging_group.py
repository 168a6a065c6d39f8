"""Scenario: a spec names its own (existing, empty) staging resource group. Image Builder accepts the
template only when the identity holds Contributor there (the emulator models this rule:
https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-json#properties-stagingresourcegroup);
the plan's staging assignment gives it, preflight checks it, and cleanup removes it after the template."""

from __future__ import annotations

import json

import pytest

from tests.scenarios.conftest import LOCATION, assert_ok

pytestmark = pytest.mark.emulator

STAGING = "rg-aib-staging"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"


def _assignments_at(arm, scope: str) -> list:
    return [
        r
        for r in arm.store
        if r.type == "Microsoft.Authorization/roleAssignments"
        and r.id.lower().startswith(scope.lower() + "/providers/")
    ]


def test_a_custom_staging_group_is_granted_contributor_built_in_checked_and_cleaned_up(world):
    arm = world.arm
    arm.seed_resource_group(STAGING, LOCATION)
    staging_id = f"/subscriptions/{arm.subscription_id}/resourceGroups/{STAGING}"
    world.data["build"]["staging_resource_group"] = STAGING
    world.write_spec()

    built = world.cli("build", "--output", "json")
    assert_ok(built)
    assert json.loads(built.stdout)["ok"]

    (assignment,) = _assignments_at(arm, staging_id)
    props = assignment.body["properties"]
    identity = next(r for r in arm.store if r.type == "Microsoft.ManagedIdentity/userAssignedIdentities")
    assert props["roleDefinitionId"].endswith(f"/roleDefinitions/{CONTRIBUTOR}")
    assert props["principalId"] == identity.properties["principalId"]
    template = next(r for r in arm.store if r.type == "Microsoft.VirtualMachineImages/imageTemplates")
    assert template.properties["exactStagingResourceGroup"].lower() == staging_id.lower()

    checked = world.cli("check", "--output", "json")
    findings = {f["id"]: f for f in json.loads(checked.stdout)["checks"]}
    assert findings["identity.role.staging"]["status"] == "pass", findings["identity.role.staging"]
    assert findings["caller.assign.staging"]["status"] == "pass"

    cleaned = world.cli("cleanup", "--yes", "--output", "json")
    assert_ok(cleaned)
    deleted = json.loads(cleaned.stdout)["deleted"]
    order = [d["id"].lower() for d in deleted]
    # the template goes first: Image Builder empties the group with the identity's rights there
    assert order.index(assignment.id.lower()) > order.index(template.id.lower())
    assert _assignments_at(arm, staging_id) == []
    group = arm.store.get(staging_id)
    assert group is not None  # the user's group stays, emptied
    assert not [r for r in arm.store if r.id.lower().startswith(staging_id.lower() + "/")]


def test_preflight_names_the_missing_staging_role_before_anything_is_deployed(world):
    world.arm.seed_resource_group(STAGING, LOCATION)
    world.data["build"]["staging_resource_group"] = STAGING
    world.write_spec()
    deploy = world.cli("deploy", "--output", "json")  # the identity exists now; take the staging role away
    assert_ok(deploy)
    staging_id = f"/subscriptions/{world.arm.subscription_id}/resourceGroups/{STAGING}"
    for a in _assignments_at(world.arm, staging_id):
        world.arm.remove(a)

    checked = world.cli("check", "--output", "json")
    finding = {f["id"]: f for f in json.loads(checked.stdout)["checks"]}["identity.role.staging"]
    assert finding["status"] == "warn"  # the caller may create it: deploy (run by build) will
    assert "Microsoft.Storage/storageAccounts/write" in finding["message"]


# ---- issue 10, finding 1: the staging group's documented rules
# https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-json#properties-stagingresourcegroup


def _use_staging(world) -> str:
    world.data["build"]["staging_resource_group"] = STAGING
    world.write_spec()
    return f"/subscriptions/{world.arm.subscription_id}/resourceGroups/{STAGING}"


def test_an_absent_staging_group_is_left_to_image_builder_which_creates_it_and_grants_contributor(world):
    staging_id = _use_staging(world)
    checked = world.cli("check", "--output", "json")
    findings = {f["id"]: f for f in json.loads(checked.stdout)["checks"]}
    assert (
        findings["staging.group"]["status"] == "pass"
        and "Image Builder creates it" in findings["staging.group"]["message"]
    )
    assert findings["caller.assign.staging"]["status"] == "pass"  # no assignment on a group not yet there

    built = world.cli("build")
    assert_ok(built)
    assert "left role assignment" in built.stdout and "Image Builder creates it" in built.stdout
    group = world.arm.store.get(staging_id)
    assert group is not None and group.body["tags"]["createdBy"] == "AzureVMImageBuilder"
    identity = next(r for r in world.arm.store if r.type == "Microsoft.ManagedIdentity/userAssignedIdentities")
    assert world.arm.rbac.holds_role(identity.properties["principalId"], staging_id, [CONTRIBUTOR])
    # The next run writes nothing: the group is Image Builder's, and so is the identity's role there.
    again = world.cli("deploy", "--output", "json")
    assert_ok(again)
    assert json.loads(again.stdout)["written"] == []


@pytest.mark.parametrize(
    ("setup", "finding", "words"),
    [
        ("other-region", "staging.region", "northeurope"),
        ("not-empty", "staging.empty", "not empty"),
    ],
)
def test_an_existing_staging_group_must_be_empty_and_in_the_templates_region(world, setup, finding, words):
    staging_id = _use_staging(world)
    world.arm.seed_resource_group(STAGING, "northeurope" if setup == "other-region" else LOCATION)
    if setup == "not-empty":
        world.arm.seed(
            f"{staging_id}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/squatter", {"location": LOCATION}
        )
    checked = world.cli("check", "--output", "json")
    assert_ok(checked, 1)
    found = {f["id"]: f for f in json.loads(checked.stdout)["checks"]}[finding]
    assert found["status"] == "fail" and words in found["message"], found
    # Built anyway, Image Builder refuses it just as documented (BadStagingResourceGroup), and says why.
    built = world.cli("build", "--skip-check")
    assert_ok(built, 1)
    assert "BadStagingResourceGroup" in built.stderr and words in built.stderr, built.stderr
