"""Azure Compute Gallery distribution: the gallery, its image definition and the version to write.

The image definition is created (when absent) to match the source image: Linux, generalized,
the base image's Hyper-V generation, architecture and security type. Version names never come
from the clock: the spec names one, or it derives from the plan's content hash.
"""

from __future__ import annotations

from typing import Any

from aks_jumpbox.core.catalog import Catalog
from aks_jumpbox.core.kinds import GALLERY, GALLERY_IMAGE
from aks_jumpbox.core.model import GalleryPlan, Resource
from aks_jumpbox.core.resource_ids import resource_group_id, resource_id
from aks_jumpbox.core.spec import Spec

ARCHITECTURES = {"amd64": "x64", "arm64": "Arm64"}
VERSION_PLACEHOLDER = "0.0.0"  # in the draft the content hash is computed from


def content_version(digest: str) -> str:
    """A gallery version from the plan hash: unique per content (28 bits), not ordered."""
    return f"0.0.{int(digest[:7], 16)}"


def gallery_plan(spec: Spec, sub: str, version: str) -> GalleryPlan:
    g, home = spec.distribute.gallery, spec.gallery_location
    assert g is not None and home is not None  # callers plan a gallery only when the spec has one
    gallery_id = resource_id(sub, g.resource_group, GALLERY.arm_type, g.name)
    definition_id = f"{gallery_id}/images/{g.image.name}"
    regions = g.target_regions or ()
    return GalleryPlan(
        gallery_id=gallery_id,
        image_definition_id=definition_id,
        version=version,
        version_id=f"{definition_id}/versions/{version}",
        version_source="spec" if g.version else "content",
        exclude_from_latest=g.exclude_from_latest,
        target_regions=tuple((r.name, r.replicas, r.storage_account_type) for r in regions)
        or ((home, 1, "Standard_LRS"),),
        created=g.create,
    )


def gallery_resources(spec: Spec, catalog: Catalog, sub: str, tags: dict[str, str]) -> list[Resource]:
    """The gallery and image definition to PUT (both create-if-absent), or [] when create is off."""
    g = spec.distribute.gallery
    if g is None or not g.create:
        return []
    base = catalog.base_images[spec.base_image]
    rg_id = resource_group_id(sub, g.resource_group)
    gallery_id = resource_id(sub, g.resource_group, GALLERY.arm_type, g.name)
    location = spec.gallery_location
    gallery = Resource(
        key="gallery",
        type=GALLERY.arm_type,
        name=g.name,
        api_version=GALLERY.api_version,
        id=gallery_id,
        level=GALLERY.level,
        scope=rg_id,
        body={
            "location": location,
            "tags": tags,
            "properties": {"description": f"AKS jump box images built by aks-jumpbox ({spec.name})"},
        },
        depends_on=(),
        purpose="the Azure Compute Gallery (created if absent)",
    )
    props: dict[str, Any] = {
        "description": g.image.description or f"AKS jump box on {base.title}",
        "osType": "Linux",
        "osState": "Generalized",
        "hyperVGeneration": base.hyperv_generation,
        "architecture": ARCHITECTURES[spec.architecture],
        "identifier": {"publisher": g.image.publisher, "offer": g.image.offer, "sku": g.image.sku or spec.base_image},
    }
    security = base.security_types.get(spec.architecture, "Standard")
    if security != "Standard":
        props["features"] = [{"name": "SecurityType", "value": security}]
    definition = Resource(
        key="gallery.image",
        type=GALLERY_IMAGE.arm_type,
        name=f"{g.name}/{g.image.name}",
        api_version=GALLERY_IMAGE.api_version,
        id=f"{gallery_id}/images/{g.image.name}",
        level=GALLERY_IMAGE.level,
        scope=rg_id,
        body={"location": location, "tags": tags, "properties": props},
        depends_on=("gallery",),
        purpose="the gallery image definition (created if absent, to match the source)",
    )
    return [gallery, definition]
