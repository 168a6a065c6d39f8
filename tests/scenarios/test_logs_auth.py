"""Scenario tests: reading logs through the emulator's blob gateway, which applies Azure's data-plane
RBAC (an Owner has no blob data role) and refuses keys where shared-key access is off."""

from __future__ import annotations

import json

import pytest

from tests.scenarios.conftest import assert_ok
from tests.scenarios.test_failures import WHY, fail_download

pytestmark = pytest.mark.emulator

READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
STORAGE = "Microsoft.Storage/storageAccounts"


def test_logs_fall_back_to_an_account_key_that_is_never_printed(world):
    fail_download(world)
    result = world.cli("build", "--output", "json")
    assert_ok(result, 1)
    doc = json.loads(result.stdout)
    assert doc["failedStep"] == "download" and doc["reason"] == WHY
    assert doc["logs"]["auth"] == "account-key"
    assert world.arm.count("POST", kind=f"{STORAGE}/listKeys") >= 1
    text = world.cli("logs", "--full")
    assert_ok(text)
    assert "read with account-key" in text.stdout and WHY in text.stdout
    keys = list(world.azurite.accounts.values())
    for account in world.arm.store.of_type(STORAGE):
        keys += account.meta.get("keys") or []
    for run in world.runs:
        for key in keys:
            assert key not in run.stdout and key not in run.stderr


def test_logs_say_what_to_grant_when_keys_may_not_be_listed_either(world):
    fail_download(world)
    assert_ok(world.cli("build"), 1)
    caller = world.arm.config.caller_principal_id
    world.arm.remove_assignments(caller)
    world.arm.assign_role(caller, f"/subscriptions/{world.arm.subscription_id}", READER, "User")
    result = world.cli("logs")
    assert_ok(result, 1)
    err = result.stderr
    assert "AuthorizationFailed" in err and "listKeys" in err and "Storage Blob Data Reader" in err
    assert "resource: /subscriptions/" in err and f"/providers/{STORAGE}/" in err


def test_logs_say_what_to_grant_when_shared_keys_are_disabled(world):
    fail_download(world)
    assert_ok(world.cli("build"), 1)
    (account,) = world.arm.store.of_type(STORAGE)
    account.properties["allowSharedKeyAccess"] = False
    result = world.cli("logs")
    assert_ok(result, 1)
    assert "KeyBasedAuthenticationNotPermitted" in result.stderr
    assert "Storage Blob Data Reader" in result.stderr
