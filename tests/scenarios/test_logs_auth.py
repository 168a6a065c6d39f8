"""Scenario tests: reading logs when Azure AD access to the staging storage account is denied."""

from __future__ import annotations

import json

import pytest

from tests.scenarios.conftest import assert_ok
from tests.scenarios.storage_rbac import DenyingFront
from tests.scenarios.test_failures import WHY, fail_download

pytestmark = pytest.mark.emulator

READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


@pytest.fixture
def denied(world, azure_env, monkeypatch):
    """ARM reports the staging account's blob endpoint behind a front that denies Azure AD."""
    with DenyingFront(azure_env.ca, azure_env.azurite.port) as front:
        monkeypatch.setattr(world.arm.blobs, "endpoint", lambda account: f"{front.url}/{account}/")
        yield front


def test_logs_fall_back_to_an_account_key_that_is_never_printed(world, denied):
    fail_download(world)
    result = world.cli("build", "--output", "json")
    assert_ok(result, 1)
    doc = json.loads(result.stdout)
    assert doc["failedStep"] == "download" and doc["reason"] == WHY
    assert doc["logs"]["auth"] == "account-key"
    assert denied.denied >= 1 and denied.passed >= 1
    assert world.arm.count("POST", kind="Microsoft.Storage/storageAccounts/listKeys") >= 1
    text = world.cli("logs", "--full")
    assert_ok(text)
    assert "read with account-key" in text.stdout and WHY in text.stdout
    keys = [k for k in world.azurite.accounts.values()]
    for run in world.runs:
        for key in keys:
            assert key not in run.stdout and key not in run.stderr


def test_logs_say_what_to_grant_when_keys_may_not_be_listed_either(world, denied):
    fail_download(world)
    assert_ok(world.cli("build"), 1)
    caller = world.arm.config.caller_principal_id
    world.arm.remove_assignments(caller)
    world.arm.assign_role(caller, f"/subscriptions/{world.arm.subscription_id}", READER)
    result = world.cli("logs")
    assert_ok(result, 1)
    err = result.stderr
    assert "AuthorizationFailed" in err and "listKeys" in err and "Storage Blob Data Reader" in err
    assert "resource: /subscriptions/" in err and "/providers/Microsoft.Storage/storageAccounts/" in err
