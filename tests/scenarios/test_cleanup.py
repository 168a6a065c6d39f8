"""Scenario tests: cleanup removes everything deploy made and keeps the images."""

from __future__ import annotations

import json

import pytest

from tests.scenarios.conftest import BUILD_RG, IMAGE_RG, NET_RG, assert_ok

pytestmark = pytest.mark.emulator


def inventory(arm) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in arm.store:
        out.setdefault(r.type, []).append(r.name)
    return out


def test_cleanup_leaves_only_the_images(world):
    before = inventory(world.arm)
    first = json.loads(world.cli("build", "--output", "json").stdout)
    world.data["build"]["vm_size"] = "Standard_D4ds_v5"
    world.write_spec()
    second = json.loads(world.cli("build", "--output", "json").stdout)
    assert first["ok"] and second["ok"] and first["imageId"] != second["imageId"]
    built = inventory(world.arm)
    assert len(built["Microsoft.VirtualMachineImages/imageTemplates"]) == 2
    assert len([g for g in built["Microsoft.Resources/resourceGroups"] if g.startswith("IT_")]) == 2

    dry = world.cli("cleanup", "--dry-run")
    assert_ok(dry)
    assert dry.stdout.count("delete") >= 8 and "images are kept" in dry.stdout
    assert inventory(world.arm) == built

    refused = world.cli("cleanup")  # no terminal to confirm on
    assert_ok(refused, 2)
    assert "--yes" in refused.stderr

    result = world.cli("cleanup", "--yes", "--output", "json")
    assert_ok(result)
    deleted = json.loads(result.stdout)["deleted"]
    kinds = [d["kind"] for d in deleted]
    assert kinds == ["image template"] * 2 + ["role assignment"] * 2 + ["managed identity"] + ["custom role"] * 2

    after = inventory(world.arm)
    images = sorted(after.pop("Microsoft.Compute/images"))
    assert images == sorted(x.rsplit("/", 1)[-1] for x in (first["imageId"], second["imageId"]))
    before_groups = sorted(before["Microsoft.Resources/resourceGroups"])
    assert (
        sorted(after.pop("Microsoft.Resources/resourceGroups")) == before_groups == sorted([BUILD_RG, IMAGE_RG, NET_RG])
    )
    # What remains is what the test seeded (network, the caller's own Owner assignment): nothing of ours.
    before.pop("Microsoft.Resources/resourceGroups")
    assert after == before

    again = world.cli("cleanup", "--yes")
    assert_ok(again)
    assert "nothing to clean up" in again.stdout


def test_cleanup_refuses_while_a_build_runs_and_deletes_nothing(world):
    world.arm.imagebuilder.hold = True
    assert_ok(world.cli("build", "--no-wait"))
    built = inventory(world.arm)
    result = world.cli("cleanup", "--yes")
    assert_ok(result, 1)
    assert "BuildRunning" in result.stderr and "aks-jumpbox cancel" in result.stderr
    assert inventory(world.arm) == built
