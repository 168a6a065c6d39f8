"""Scenario: `report --upload-to` stores the SBOM and report in a blob container with Azure AD."""

from __future__ import annotations

import json

import pytest

from tests.scenarios.conftest import IMAGE_RG, assert_ok

pytestmark = pytest.mark.emulator

BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"


def _account(world) -> tuple[str, str, str]:
    name = world.arm.blobs.allocate_account()
    rid = (
        f"/subscriptions/{world.arm.subscription_id}/resourceGroups/{IMAGE_RG}"
        f"/providers/Microsoft.Storage/storageAccounts/{name}"
    )
    world.arm.seed(
        rid, {"location": "westeurope", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "properties": {}}
    )
    world.arm.blobs.put(name, "reports", "README", b"reports of jump box images\n")  # the container exists
    endpoint = world.arm.get(rid)["properties"]["primaryEndpoints"]["blob"]
    return name, rid, endpoint


def test_reports_are_uploaded_under_the_plan_hash(world, tmp_path):
    name, rid, endpoint = _account(world)
    world.arm.assign_role(world.arm.config.caller_principal_id, rid, BLOB_DATA_CONTRIBUTOR, "User")
    out = tmp_path / "report"
    result = world.cli("report", "--out", str(out), "--upload-to", f"{endpoint}reports/jumpbox")
    assert_ok(result)
    plan = json.loads(world.cli("plan", "--no-write", "-o", "json").stdout)
    for file in ("sbom.cdx.json", "software-report.md", "software-report.json"):
        stored = world.arm.blobs.get(name, "reports", f"jumpbox/{plan['hash']}/{file}")
        assert stored == (out / file).read_bytes(), file
        assert f"reports/jumpbox/{plan['hash']}/{file}" in result.stdout


def test_without_a_blob_data_role_the_upload_says_what_to_grant(world, tmp_path):
    _, _, endpoint = _account(world)
    result = world.cli("report", "--out", str(tmp_path / "r"), "--upload-to", f"{endpoint}reports")
    assert_ok(result, 1)
    assert "Storage Blob Data Contributor" in result.stderr and "AuthorizationPermissionMismatch" in result.stderr


def test_a_malformed_container_url_is_bad_input_and_writes_nothing(world, tmp_path):
    out = tmp_path / "r"
    result = world.cli("report", "--out", str(out), "--upload-to", "http://example.invalid/reports")
    assert_ok(result, 2)
    assert not out.exists()
