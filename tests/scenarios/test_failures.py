"""Scenario tests: failing builds, missing permissions and what the user is told."""

from __future__ import annotations

import json

import pytest

from tests.scenarios.conftest import assert_ok

pytestmark = pytest.mark.emulator

ASSIGNMENTS = "Microsoft.Authorization/roleAssignments"
WHY = "sha256 mismatch for helm-v4.3.0-linux-amd64.tar.gz"


def fail_download(world) -> None:
    world.arm.faults.fail_customizer(
        at=r"step download begin",
        stderr=[
            "sha256sum: WARNING: 1 computed checksum did NOT match",
            f"==> aks-jumpbox step download FAILED: {WHY}",
        ],
    )


BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"


def test_failed_customizer_fetches_logs_and_names_the_failing_step(world):
    # The operator holds Storage Blob Data Reader (as the docs advise), so logs are read with Azure AD.
    world.arm.assign_role(
        world.arm.config.caller_principal_id, f"/subscriptions/{world.arm.subscription_id}", BLOB_DATA_READER, "User"
    )
    fail_download(world)
    result = world.cli("build")
    assert_ok(result, 1)
    out = result.stdout
    assert "build Failed" in out and "Packer build command has failed" in out
    assert "failing step: download" in out and WHY in out
    assert "step download begin" in out  # the relevant lines are printed
    assert "step azure-cli" not in out  # ... and only those
    assert "customization.log" in out and "read with azure-ad" in out


def test_failed_build_as_json_for_pipelines(world):
    fail_download(world)
    result = world.cli("build", "--output", "json")
    assert_ok(result, 1)
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["run"]["runState"] == "Failed"
    assert doc["failedStep"] == "download" and doc["reason"] == WHY
    # An Owner has no blob data role: Azure AD is denied and the logs come with an account key.
    assert doc["logs"]["auth"] == "account-key"
    assert doc["logs"]["blobs"]["customization.log"].endswith("/customization.log")


def test_logs_command_after_a_failure(world, tmp_path):
    fail_download(world)
    assert_ok(world.cli("build"), 1)
    result = world.cli("logs", "--output", "json", "--save", str(tmp_path / "saved"))
    assert_ok(result)
    doc = json.loads(result.stdout)
    assert doc["failedStep"] == "download" and doc["steps"][:3] == ["wait-for-boot", "apt-upgrade", "download"]
    assert doc["stagingResourceGroup"].startswith("IT_rg-imagebuilders_imgt-aksjb-")
    saved = (tmp_path / "saved" / "customization.log").read_text()
    assert WHY in saved
    text = world.cli("logs", "--full")
    assert_ok(text)
    assert "Build ID:" in text.stdout and "failing step: download" in text.stdout


def test_a_failed_build_is_run_again_by_the_next_build(world):
    fail_download(world)
    assert_ok(world.cli("build"), 1)
    world.arm.faults.clear()
    result = world.cli("build", "--output", "json")
    assert_ok(result)
    doc = json.loads(result.stdout)
    assert doc["action"] == "run" and "ended Failed" in doc["why"] and doc["run"]["runState"] == "Succeeded"


def test_failed_validation_names_the_failed_checks(world):
    world.arm.faults.fail_validation(
        at=r"step validate begin",
        stderr=[
            "==> aks-jumpbox validate FAILED: kubectl: expected 1.37.1, got 1.36.0",
            "==> aks-jumpbox step validate FAILED: 1 of 30 checks failed",
        ],
    )
    result = world.cli("build", "--output", "json")
    assert_ok(result, 1)
    doc = json.loads(result.stdout)
    assert doc["failedStep"] == "validate"
    assert doc["failedChecks"] == ["kubectl: expected 1.37.1, got 1.36.0"]
    assert world.arm.get(doc["imageId"]) is None  # continueDistributeOnFailure is off


def test_missing_image_role_fails_at_distribute_as_azure_does(world):
    started = world.cli("build", "--no-wait", "--output", "json")
    assert_ok(started)
    doc = json.loads(started.stdout)
    assert doc["run"]["runState"] == "Running"
    # Someone (or a policy) removes the identity's image-writer assignment mid-build.
    image_assignment = next(c["id"] for c in doc["deployed"] if c["key"] == "assignment.image")
    world.arm.store.delete(image_assignment)
    result = world.cli("watch")
    assert_ok(result, 1)
    assert "Failed in distributing 1 images" in result.stdout and "AuthorizationFailed" in result.stdout
    assert "Microsoft.Compute/images/write" in result.stdout
    # The next build puts the assignment back (it is part of the plan) and succeeds.
    again = world.cli("build", "--output", "json")
    assert_ok(again)
    assert [c["key"] for c in json.loads(again.stdout)["deployed"]] == ["assignment.image"]


def test_caller_without_permission_to_assign_roles_gets_the_arm_error_and_resource(world):
    sub = world.arm.subscription_id
    caller = world.arm.config.caller_principal_id
    world.arm.remove_assignments(caller)
    world.arm.assign_role(caller, f"/subscriptions/{sub}", "b24988ac-6180-42a0-ab88-20f7382dd24c")  # Contributor
    result = world.cli("deploy")
    assert_ok(result, 1)
    err = result.stderr
    assert "AuthorizationFailed" in err and "Microsoft.Authorization/roleDefinitions/write" in err
    assert f"resource: /subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/" in err
    assert "Traceback" not in err
    as_json = world.cli("deploy", "--output", "json")
    assert_ok(as_json, 1)
    error = json.loads(as_json.stdout)["error"]
    assert error["code"] == "AuthorizationFailed" and error["status"] == 403
    assert error["resource"].startswith(f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/")


def test_jit_image_role_is_removed_after_the_build_and_readded_only_when_building(world):
    world.data["identity"]["remove_image_role_after_build"] = True
    world.write_spec()
    first = json.loads(world.cli("build", "--output", "json").stdout)
    assert first["ok"] and first["imageRoleRemoved"] is True
    image_assignment = next(c["id"] for c in first["deployed"] if c["key"] == "assignment.image")
    assert world.arm.get(image_assignment) is None
    world.arm.reset_counts()
    skipped = json.loads(world.cli("build", "--output", "json").stdout)
    assert skipped["action"] == "skip" and world.arm.count("PUT") == 0
    world.data["build"]["os_disk_size_gb"] = 64
    world.write_spec()
    rebuilt = json.loads(world.cli("build", "--output", "json").stdout)
    assert rebuilt["ok"] and [c["key"] for c in rebuilt["deployed"]] == ["assignment.image", "template"]
    assert rebuilt["imageRoleRemoved"] is True and world.arm.get(image_assignment) is None


def test_bad_input_exits_2_and_touches_nothing(world):
    result = world.cli("deploy", "--subscription", "11111111-2222-3333-4444-555555555555")
    assert_ok(result, 2)
    assert "--subscription" in result.stderr and "spec" in result.stderr
    assert world.cli("deploy", env={"AZURE_ARM_ENDPOINT": "http://127.0.0.1:1"}).returncode == 2
    assert world.cli("build", env={"AKS_JUMPBOX_WATCH_SECONDS": "soon"}).returncode == 2
    assert world.arm.requests == []


def test_not_signed_in_is_a_sign_in_failure_with_the_fix(world):
    for command in ("deploy", "check"):  # check reads concurrently: still one sign-in attempt, one message
        result = world.cli(command, env={"FAKE_AZ_LOGGED_OUT": "1"})
        assert_ok(result, 3)  # a failed sign-in, not a failed check (1)
        assert "az login" in result.stderr and "Traceback" not in result.stderr
        # azure-identity's per-credential warnings stay out of the way (AKS_JUMPBOX_DEBUG=1 shows them)
        assert "Attempted credentials" not in result.stderr, result.stderr
        assert len(result.stderr.splitlines()) <= 4, result.stderr


def test_new_identity_principal_not_yet_replicated_is_retried(world):
    world.arm.faults.error(
        400,
        "PrincipalNotFound",
        "Principal 1234 does not exist in the directory a1b2.",
        count=3,
        method="PUT",
        path="roleAssignments",
    )
    result = world.cli("deploy")
    assert_ok(result)
    assert world.arm.count("PUT", kind=ASSIGNMENTS) == 5  # 3 refused while replicating, then 2 made


def test_recreated_identity_gets_its_role_assignments_replaced(world):
    first = json.loads(world.cli("deploy", "--output", "json").stdout)
    identity_id = next(c["id"] for c in first["changes"] if c["key"] == "identity")
    old_principal = world.arm.get(identity_id)["properties"]["principalId"]
    world.arm.remove(world.arm.store.get(identity_id))  # deleted out of band; its assignments stay orphaned
    what_if = json.loads(world.cli("deploy", "--what-if", "--output", "json").stdout)
    actions = {c["key"]: c["action"] for c in what_if["changes"]}
    assert actions["identity"] == "create"
    assert actions["assignment.network"] == actions["assignment.image"] == "replace"
    assert_ok(world.cli("deploy"))
    new_principal = world.arm.get(identity_id)["properties"]["principalId"]
    assert new_principal != old_principal
    for c in first["changes"]:
        if c["key"].startswith("assignment."):
            assert world.arm.get(c["id"])["properties"]["principalId"] == new_principal
