"""Issue 10, finding 3: a failed template submission leaves a Failed template that must be deleted
(https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-troubleshoot#update-or-upgrade-of-image-templates-is-currently-not-supported);
new role assignments take a while to reach Image Builder
(https://learn.microsoft.com/azure/role-based-access-control/troubleshooting#symptom---role-assignment-changes-are-not-being-detected)."""

from __future__ import annotations

import json

import pytest

from tests.scenarios.conftest import LOCATION, assert_ok

pytestmark = pytest.mark.emulator

TEMPLATES = "Microsoft.VirtualMachineImages/imageTemplates"
STAGING = "rg-aib-staging"


def test_a_failed_submission_shows_azures_error_and_is_recreated_by_the_next_run(world):
    arm = world.arm
    world.data["build"]["staging_resource_group"] = STAGING
    world.write_spec()
    staging_id = arm.seed_resource_group(STAGING, LOCATION)["id"]
    squatter = arm.seed(
        f"{staging_id}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/squatter", {"location": LOCATION}
    )
    first = world.cli("build", "--skip-check")
    assert_ok(first, 1)
    assert "BadStagingResourceGroup" in first.stderr and "not empty" in first.stderr
    assert "the next `aks-jumpbox deploy` (or `build`) deletes it" in first.stderr
    (template,) = arm.store.of_type(TEMPLATES)
    assert template.properties["provisioningState"] == "Failed"
    status = world.cli("status")  # says why, not only "Failed"
    assert_ok(status)
    assert "BadStagingResourceGroup" in status.stdout and "deletes and re-creates it" in " ".join(status.stdout.split())
    doc = json.loads(world.cli("status", "--output", "json").stdout)
    assert doc["provisioningError"].startswith("BadStagingResourceGroup: ")

    arm.remove(arm.store.get(squatter["id"]))  # the user empties the group, as Azure asked
    what_if = json.loads(world.cli("deploy", "--what-if", "--output", "json").stdout)
    change = next(c for c in what_if["changes"] if c["key"] == "template")
    assert change["action"] == "replace" and "BadStagingResourceGroup" in change["note"]
    second = world.cli("build", "--output", "json")
    assert_ok(second)
    doc = json.loads(second.stdout)
    assert doc["ok"] and doc["run"]["runState"] == "Succeeded"
    assert [c["action"] for c in doc["deployed"] if c["key"] == "template"] == ["replace"]
    assert arm.count("DELETE", kind=TEMPLATES) == 1


def test_new_role_assignments_are_given_time_to_reach_image_builder(world):
    world.arm.rbac.propagation = 2  # two rounds of Image Builder's checks before it sees them
    result = world.cli("build")
    assert_ok(result)
    assert result.stdout.count("role assignments made just now can take minutes") == 2, result.stdout
    assert world.arm.count("PUT", kind=TEMPLATES) == 3 and world.arm.count("DELETE", kind=TEMPLATES) == 2
    assert "build succeeded" in result.stdout


def test_role_assignments_that_never_arrive_end_in_azures_error_and_advice(world):
    world.arm.rbac.propagation = 100
    result = world.cli("deploy", env={"AKS_JUMPBOX_RETRY_BACKOFF": "0.001"})
    assert_ok(result, 1)
    assert "Not authorized to access the resource" in result.stderr
    assert "re-run in a few minutes" in result.stderr and "Traceback" not in result.stderr
    assert world.arm.count("PUT", kind=TEMPLATES) == 6  # the first try and five bounded retries
