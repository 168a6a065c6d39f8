"""`deploy --what-if` against the emulator: a changed custom role shown by its name, per property path
with `-` live and `+` planned; role assignments by role, principal and scope; `--exit-code`; and a
failed sign-in's own exit code."""

from __future__ import annotations

import json

from tests.scenarios.conftest import assert_ok

ROLES = "Microsoft.Authorization/roleDefinitions"


def _image_writer(world):
    return next(r for r in world.arm.store.of_type(ROLES) if "Image Writer" in r.body["properties"]["roleName"])


def test_what_if_of_a_changed_role_names_it_and_shows_the_changed_actions(world):
    assert_ok(world.cli("deploy"))
    role = _image_writer(world)
    name = role.body["properties"]["roleName"]
    planned = list(role.body["properties"]["permissions"][0]["actions"])
    assert "Microsoft.Compute/images/write" in planned
    # Someone edits the role by hand: drops the write action, adds one of their own, rewrites the description.
    role.body["properties"]["permissions"][0]["actions"] = [
        a for a in planned if a != "Microsoft.Compute/images/write"
    ] + ["Microsoft.Storage/storageAccounts/listKeys/action"]
    role.body["properties"]["description"] = "edited in the portal"
    world.arm.reset_counts()

    text = world.cli("deploy", "--what-if")
    assert_ok(text)
    out = text.stdout
    assert f'~ custom role "{name}"  [differs]' in out, out  # the role by its name, not its GUID
    lines = [line.strip() for line in out.splitlines()]
    assert "~ properties.permissions[0].actions: [" in lines
    assert any(line.startswith("+ [") and '"Microsoft.Compute/images/write"' in line for line in lines), out
    assert any(
        line.startswith("- [") and '"Microsoft.Storage/storageAccounts/listKeys/action"' in line for line in lines
    ), out
    assert "~ properties.description:" in lines and '- "edited in the portal"' in lines
    # Only the difference is listed, not the actions that stayed.
    assert "Microsoft.Compute/images/read" not in out
    assert lines[-1] == "Resource changes: 1 to modify, 5 no change."

    doc = json.loads(world.cli("deploy", "--what-if", "--output", "json").stdout)
    change = next(c for c in doc["changes"] if c["key"] == "role.image")
    assert change["changeType"] == "Modify" and change["displayName"] == f'custom role "{name}"'
    actions = next(d for d in change["delta"] if d["path"] == "properties.permissions[0].actions")
    assert actions["propertyChangeType"] == "Array"
    assert {(c["propertyChangeType"], c.get("after", c.get("before"))) for c in actions["children"]} == {
        ("Create", "Microsoft.Compute/images/write"),
        ("Delete", "Microsoft.Storage/storageAccounts/listKeys/action"),
    }
    assert doc["changed"] is True and doc["counts"]["Modify"] == 1

    assert_ok(world.cli("deploy", "--what-if", "--exit-code"), 4)
    assert {r.method for r in world.arm.requests} == {"GET"}  # what-if writes nothing
    assert_ok(world.cli("deploy"))
    assert_ok(world.cli("deploy", "--what-if", "--exit-code"))


def test_role_assignments_are_named_by_role_principal_and_scope(world):
    first = json.loads(world.cli("deploy", "--output", "json").stdout)
    identity_id = next(c["id"] for c in first["changes"] if c["key"] == "identity")
    identity_name = identity_id.rsplit("/", 1)[-1]
    world.arm.remove(world.arm.store.get(identity_id))  # deleted out of band: its assignments must be replaced
    doc = json.loads(world.cli("deploy", "--what-if", "-o", "json").stdout)
    network = next(c for c in doc["changes"] if c["key"] == "assignment.network")
    assert network["changeType"] == "Deploy" and network["action"] == "replace"
    assert "Network Joiner" in network["roleName"] and network["principal"] == f"managed identity {identity_name}"
    assert network["scope"].startswith("Microsoft.Network/virtualNetworks ")
    image = next(c for c in doc["changes"] if c["key"] == "assignment.image")
    assert image["scope"] == "resource group rg-images"
    text = world.cli("deploy", "--what-if").stdout
    assert f"for managed identity {identity_name} on resource group rg-images" in text
    assert "(known after apply)" in text


def test_exit_code_needs_what_if(world):
    result = world.cli("deploy", "--exit-code")
    assert_ok(result, 2)
    assert "--what-if" in result.stderr and world.arm.requests == []


def test_a_failed_sign_in_has_its_own_exit_code_and_json_error(world):
    result = world.cli("deploy", "--what-if", "-o", "json", env={"FAKE_AZ_LOGGED_OUT": "1"})
    assert_ok(result, 3)
    error = json.loads(result.stdout)["error"]
    assert error["exit_code"] == 3 and error["kind"] == "sign-in" and "az login" in error["fix"]
    # A token Azure refuses (401) is a failed sign-in too, for deploy and for check's reads.
    world.arm.faults.error(401, "ExpiredAuthenticationToken", "The access token expiry has passed.", count=100)
    for command in ("deploy", "check"):
        refused = world.cli(command)
        assert_ok(refused, 3)
        assert "ExpiredAuthenticationToken" in refused.stderr and "Traceback" not in refused.stderr
