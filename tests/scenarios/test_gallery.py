"""Scenario tests: distribution to an Azure Compute Gallery (created if absent, never cleaned up)."""

from __future__ import annotations

import json

import pytest

from tests.scenarios.conftest import IMAGE_RG, assert_ok

pytestmark = pytest.mark.emulator

GALLERY = {"resource_group": IMAGE_RG, "name": "gal_jumpbox", "image": {"publisher": "contoso"}}


@pytest.fixture
def gallery_world(world):
    world.data["distribute"] = {"gallery": dict(GALLERY)}
    world.data["identity"]["remove_image_role_after_build"] = True
    world.write_spec()
    return world


def test_gallery_build_creates_gallery_definition_and_version_and_cleanup_keeps_them(gallery_world):
    w = gallery_world
    result = w.cli("build", "--output", "json")
    assert_ok(result)
    doc = json.loads(result.stdout)
    assert doc["ok"] and "/galleries/gal_jumpbox/images/aks-jumpbox/versions/" in doc["imageId"]
    assert [c["key"] for c in doc["deployed"]] == [
        "role.network",
        "role.image",
        "identity",
        "gallery",
        "gallery.image",
        "assignment.network",
        "assignment.gallery",
        "template",
    ]
    version = w.arm.get(doc["imageId"])
    assert version is not None and version["properties"]["publishingProfile"]["excludeFromLatest"] is True
    assert doc["imageRoleRemoved"] is True
    gallery_assignment = next(c["id"] for c in doc["deployed"] if c["key"] == "assignment.gallery")
    assert w.arm.get(gallery_assignment) is None  # just-in-time: gone after the build

    again = json.loads(w.cli("build", "--output", "json").stdout)
    assert again["action"] == "skip" and again["deployed"] == []  # the version exists; no role handed out

    # Someone edits the image definition's description: create-if-absent leaves it alone.
    definition = next(c["id"] for c in doc["deployed"] if c["key"] == "gallery.image")
    w.arm.store.get(definition).properties["description"] = "edited in the portal"
    what_if = json.loads(w.cli("deploy", "--what-if", "--output", "json").stdout)
    change = next(c for c in what_if["changes"] if c["key"] == "gallery.image")
    assert change["action"] == "unchanged" and "left as it is" in change["note"]

    assert_ok(w.cli("cleanup", "--yes"))
    for key in ("gallery", "gallery.image"):
        assert w.arm.get(next(c["id"] for c in doc["deployed"] if c["key"] == key)) is not None
    assert w.arm.get(doc["imageId"]) is not None
    assert w.arm.store.of_type("Microsoft.VirtualMachineImages/imageTemplates") == []
