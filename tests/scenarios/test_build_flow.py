"""Scenario tests: the CLI as a user runs it (a subprocess), against the ARM emulator and Azurite."""

from __future__ import annotations

import json

import pytest

from tests.scenarios.conftest import IMAGE_RG, assert_ok

pytestmark = pytest.mark.emulator

TEMPLATES = "Microsoft.VirtualMachineImages/imageTemplates"


def templates(arm) -> list[str]:
    return sorted(r.name for r in arm.store.of_type(TEMPLATES))


def test_first_build_end_to_end(world):
    result = world.cli("build", "--output", "json")
    assert_ok(result)
    doc = json.loads(result.stdout)
    assert doc["action"] == "run" and doc["ok"] and doc["run"]["runState"] == "Succeeded"
    assert [c["key"] for c in doc["deployed"]] == [
        "role.network",
        "role.image",
        "identity",
        "assignment.network",
        "assignment.image",
        "template",
    ]
    assert world.arm.get(doc["imageId"]) is not None
    assert templates(world.arm) == [doc["template"]]
    # The product went through the custom cloud's endpoint with the custom audience, nothing else.
    assert world.arm.token_audiences == {"https://management.core.windows.net/"}
    assert world.arm.count("POST", kind=f"{TEMPLATES}/run") == 1


def test_first_build_text_shows_progress_and_the_image(world):
    result = world.cli("build")
    assert_ok(result)
    out = result.stdout
    assert "created image template" in out and "started a build of imgt-aksjb-" in out
    for state in ("Running / Building", "Running / Customizing", "Running / Distributing"):
        assert state in out
    assert "build succeeded" in out and f"resourceGroups/{IMAGE_RG}/providers/Microsoft.Compute/images/" in out


def test_unchanged_rerun_builds_nothing_and_only_reads(world):
    assert_ok(world.cli("build"))
    world.arm.reset_counts()
    result = world.cli("build", "--output", "json")
    assert_ok(result)
    doc = json.loads(result.stdout)
    assert doc["action"] == "skip" and doc["deployed"] == [] and doc["ok"]
    methods = {r.method for r in world.arm.requests}
    assert methods == {"GET"}, world.arm.counts()
    assert "up to date" in world.cli("build").stdout


def test_force_rebuilds_the_same_template(world):
    assert_ok(world.cli("build"))
    result = world.cli("build", "--force", "--output", "json")
    assert_ok(result)
    assert json.loads(result.stdout)["action"] == "run"
    assert world.arm.count("POST", kind=f"{TEMPLATES}/run") == 2


def test_changed_spec_gets_a_new_template_and_the_old_one_is_left_alone(world):
    first = json.loads(world.cli("build", "--output", "json").stdout)
    world.data["build"]["vm_size"] = "Standard_D4ds_v5"
    world.write_spec()
    what_if = world.cli("deploy", "--what-if", "--output", "json")
    assert_ok(what_if)
    actions = {c["key"]: c["action"] for c in json.loads(what_if.stdout)["changes"]}
    assert actions == {
        "role.network": "unchanged",
        "role.image": "unchanged",
        "identity": "unchanged",
        "assignment.network": "unchanged",
        "assignment.image": "unchanged",
        "template": "create",
    }
    second = json.loads(world.cli("build", "--output", "json").stdout)
    assert second["ok"] and second["template"] != first["template"]
    assert [c["key"] for c in second["deployed"]] == ["template"]
    assert templates(world.arm) == sorted([first["template"], second["template"]])
    body = world.arm.get(world.arm.store.of_type(TEMPLATES)[-1].id)
    assert body["properties"]["vmProfile"]["vmSize"] == "Standard_D4ds_v5"


def test_what_if_shows_drift_and_deploy_repairs_it(world):
    assert_ok(world.cli("deploy"))
    role = next(
        r
        for r in world.arm.store.of_type("Microsoft.Authorization/roleDefinitions")
        if "Image Writer" in r.body["properties"]["roleName"]
    )
    role.body["properties"]["permissions"][0]["actions"] = ["Microsoft.Compute/images/read"]
    world.arm.reset_counts()
    result = world.cli("deploy", "--what-if")
    assert_ok(result)
    assert "differs" in result.stdout and "properties.permissions[0].actions" in result.stdout
    assert "Microsoft.Compute/images/write" in result.stdout
    assert {r.method for r in world.arm.requests} == {"GET"}  # what-if writes nothing
    assert_ok(world.cli("deploy"))
    assert "Microsoft.Compute/images/write" in world.arm.get(role.id)["properties"]["permissions"][0]["actions"]
    again = json.loads(world.cli("deploy", "--what-if", "--output", "json").stdout)
    assert {c["action"] for c in again["changes"]} == {"unchanged"}


def test_keep_on_error_is_a_different_template_with_abort(world):
    plain = json.loads(world.cli("deploy", "--what-if", "--output", "json").stdout)["template"]
    result = world.cli("build", "--keep-on-error", "--no-wait", "--output", "json")
    assert_ok(result)
    name = json.loads(result.stdout)["template"]
    assert name != plain
    body = world.arm.get(next(r.id for r in world.arm.store.of_type(TEMPLATES) if r.name == name))
    assert body["properties"]["errorHandling"] == {"onCustomizerError": "abort", "onValidationError": "abort"}
    status = json.loads(world.cli("status", "--keep-on-error", "--output", "json").stdout)
    assert status["template"] == name and status["run"]["runState"] == "Running"


def test_proxy_topology_with_builtin_roles_builds(world):
    net = world.arm.seed_build_network(
        "rg-network-proxy", vnet="vnet-proxy", location="westeurope", isolated=False, address_space="10.50.0.0/16"
    )
    build = world.data["build"]
    build.update({"subnet_id": net["build_subnet"], "subnet_address_prefix": "10.50.1.0/24"})
    build.pop("container_instance_subnet_id")
    build.pop("container_instance_subnet_address_prefix")
    world.data["identity"]["roles"] = "builtin"
    world.write_spec()
    result = world.cli("build", "--output", "json")
    assert_ok(result)
    doc = json.loads(result.stdout)
    assert doc["ok"] and [c["key"] for c in doc["deployed"]] == [
        "identity",
        "assignment.network",
        "assignment.image",
        "template",
    ]
    assert world.arm.store.of_type("Microsoft.Authorization/roleDefinitions") == []


def test_changed_tags_are_patched_onto_the_same_template(world):
    first = json.loads(world.cli("build", "--output", "json").stdout)
    world.data["tags"] = {"workload": "aks-jumpbox", "costCenter": "42"}
    world.write_spec()
    what_if = json.loads(world.cli("deploy", "--what-if", "--output", "json").stdout)
    actions = {c["key"]: c["action"] for c in what_if["changes"]}
    assert actions["template"] == "update-tags" and actions["identity"] == "differs"
    assert what_if["template"] == first["template"]  # tags are not part of the content hash
    world.arm.reset_counts()
    assert_ok(world.cli("deploy"))
    assert world.arm.count("PATCH", kind=TEMPLATES) == 1 and world.arm.count("PUT", kind=TEMPLATES) == 0
    body = world.arm.get(world.arm.store.of_type(TEMPLATES)[0].id)
    assert body["tags"]["costCenter"] == "42"
    again = json.loads(world.cli("build", "--output", "json").stdout)
    assert again["action"] == "skip"  # same content: the image built before still stands
