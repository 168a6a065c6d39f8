"""Gallery image versions in Azure: list them with their replication, find the build behind one, and
clear excludeFromLatest to promote it. The rules live in core/versions.py."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from aks_jumpbox.azure import resources as rs
from aks_jumpbox.azure.build import Template
from aks_jumpbox.azure.clients import Azure
from aks_jumpbox.azure.errors import arm
from aks_jumpbox.core.model import GalleryPlan, Plan
from aks_jumpbox.core.naming import template_name
from aks_jumpbox.core.versions import BuildEvidence, GalleryVersion

GALLERY_OUTPUT = "galleryImage"  # the plan's runOutputName for the SharedImage target


@dataclass(frozen=True)
class Definition:
    resource_group: str
    gallery: str
    image: str
    id: str

    @classmethod
    def of(cls, gallery: GalleryPlan) -> Definition:
        parts = gallery.image_definition_id.strip("/").split("/")
        # subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/galleries/G/images/I
        return cls(parts[3], parts[7], parts[9], gallery.image_definition_id)


def list_versions(az: Azure, definition: Definition) -> list[GalleryVersion] | None:
    """Every version of the image definition with its replication status; None when the definition
    does not exist. The list call does not report replication, so each version is read with it."""
    ops = az.compute.gallery_image_versions
    with arm(f"listing the versions of gallery image {definition.gallery}/{definition.image}", definition.id):
        try:
            names = [
                v["name"]
                for v in (
                    rs.to_json(x)
                    for x in ops.list_by_gallery_image(definition.resource_group, definition.gallery, definition.image)
                )
                if v
            ]
        except ResourceNotFoundError:
            return None
        out = []
        for name in names:
            doc = _get(az, definition, name)
            if doc is not None:  # deleted between the list and the read
                out.append(GalleryVersion.from_arm(doc))
    return out


def _get(az: Azure, definition: Definition, name: str) -> dict[str, Any] | None:
    try:
        return rs.to_json(
            az.compute.gallery_image_versions.get(
                definition.resource_group, definition.gallery, definition.image, name, expand="ReplicationStatus"
            )
        )
    except ResourceNotFoundError:
        return None


def build_evidence(az: Azure, plan: Plan, version: GalleryVersion) -> BuildEvidence | None:
    """The image template named by the version's plan hash, in this spec's build resource group."""
    if version.plan_hash is None:
        return None
    t = plan.template
    name = template_name(plan.names.spec, version.plan_hash)
    template = Template(az, t.resource_group or "", name, t.id.rsplit("/", 1)[0] + "/" + name)
    live = template.read()
    output_id = None
    if live is not None:
        with arm(f"reading the run output of image template {name}", template.id):
            try:
                out = (
                    rs.to_json(
                        az.imagebuilder.virtual_machine_image_templates.get_run_output(
                            template.resource_group, name, GALLERY_OUTPUT
                        )
                    )
                    or {}
                )
                output_id = (out.get("properties") or {}).get("artifactId")
            except ResourceNotFoundError:
                output_id = None
    return BuildEvidence.from_template(name, live, output_id)


def promote(az: Azure, definition: Definition, version: str) -> GalleryVersion:
    """Clear excludeFromLatest on the version and on each of its target regions (a region's own flag
    would keep hiding it there). Target regions are sent back as they are, so replication is unchanged."""
    doc = _get(az, definition, version) or {}
    profile = (doc.get("properties") or {}).get("publishingProfile") or {}
    regions = []
    for r in profile.get("targetRegions") or []:
        region = {
            k: v for k, v in r.items() if k in ("name", "regionalReplicaCount", "storageAccountType", "encryption")
        }
        region["excludeFromLatest"] = False
        regions.append(region)
    patch: dict[str, Any] = {"properties": {"publishingProfile": {"excludeFromLatest": False}}}
    if regions:
        patch["properties"]["publishingProfile"]["targetRegions"] = regions
    body = io.BytesIO(json.dumps(patch).encode("utf-8"))
    with arm(f"promoting gallery image version {version}", f"{definition.id}/versions/{version}"):
        az.compute.gallery_image_versions.begin_update(
            definition.resource_group, definition.gallery, definition.image, version, body
        ).result()
    after = _get(az, definition, version)
    assert after is not None
    return GalleryVersion.from_arm(after)
