"""Azure Compute Gallery distribution: the gallery, its image definition and the version to write.

The image definition is created (when absent) to match the source image: Linux, generalized,
the base image's Hyper-V generation, architecture and security type. Version names never come
from the clock: the spec names one, or it derives from the plan's content hash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aks_jumpbox.core.catalog import Catalog
from aks_jumpbox.core.errors import UserError
from aks_jumpbox.core.kinds import GALLERY, GALLERY_IMAGE
from aks_jumpbox.core.model import GalleryPlan, Resource
from aks_jumpbox.core.naming import SPEC_TAG
from aks_jumpbox.core.resource_ids import resource_group_id, resource_id
from aks_jumpbox.core.spec import Spec

if TYPE_CHECKING:  # core/versions.py imports core/plan.py, which imports this module
    from aks_jumpbox.core.versions import GalleryVersion

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
    """The gallery and image definition to PUT (both create-if-absent), or [] when create is off.

    They are shared: every spec that distributes to one image definition (dev and prod) plans them, so
    their bodies carry nothing of one spec's: no aks-jumpbox.spec tag (the versions in them carry it,
    through artifactTags), no spec name in the description. `deploy` only creates them when absent; the
    rendered resource-group.json PUTs them (ARM has no create-if-absent), and then writes the same body
    from every spec but for the user's own `tags:`, which a policy may require (so they stay: specs
    sharing a gallery should agree on them, or the last template deployed sets them).
    """
    g = spec.distribute.gallery
    if g is None or not g.create:
        return []
    tags = {k: v for k, v in tags.items() if k != SPEC_TAG}
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
            "properties": {"description": "AKS jump box images built by aks-jumpbox"},
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


# ---- whose a gallery image version is: the image definition may be shared by several specs (dev and prod)

UNTAGGED = "untagged"  # how `versions` shows a version that carries no aks-jumpbox.spec tag


def owner_label(version: GalleryVersion) -> str:
    return version.owner or UNTAGGED


def others_by_owner(versions: list[GalleryVersion], key: str) -> dict[str, int]:
    """How many versions each other spec (or nobody known: untagged) wrote, by owner, sorted."""
    counts: dict[str, int] = {}
    for v in versions:
        if v.owner != key:
            counts[owner_label(v)] = counts.get(owner_label(v), 0) + 1
    return dict(sorted(counts.items()))


def others_note(counts: dict[str, int]) -> str:
    """'3 versions of other specs (aksjb-prod: 2, untagged: 1)'."""
    total = sum(counts.values())
    split = ", ".join(f"{owner}: {n}" for owner, n in counts.items())
    return f"{total} version{'s' if total != 1 else ''} of other specs ({split})"


def not_ours(version: GalleryVersion, definition: str, key: str) -> UserError | None:
    """Why `promote` must not touch another spec's version (None when it is this spec's): its evidence,
    the image template that built it, is another spec's, and so is the decision to make it latest."""
    if version.owner == key:
        return None
    listing = "`aks-jumpbox versions --all` lists every spec's versions with their owner."
    if version.owner is None:
        return UserError(
            f"gallery image version {version.name} of {definition} has no {SPEC_TAG} tag, so it is not known to be "
            f"spec {key}'s (made by hand, or before specs were tagged); nothing was changed.",
            fix=f"Promote it with its own spec, or by hand (clear publishingProfile.excludeFromLatest). {listing}",
        )
    return UserError(
        f"gallery image version {version.name} of {definition} belongs to spec {version.owner} (its {SPEC_TAG} tag), "
        f"not to {key}; nothing was changed.",
        fix=f"Promote it with spec {version.owner}'s jumpbox.yaml "
        f"(`aks-jumpbox promote {version.name} -f <its file>`). {listing}",
    )
