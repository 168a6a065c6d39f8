"""Gallery image versions as `versions` shows them and the rules `promote` follows. Pure.

How Azure picks "latest": a VM created from an image definition with version `latest` gets the
version with the highest number (MAJOR.MINOR.PATCH compared as integers) among those not marked
`excludeFromLatest`. Nothing else counts: not the publish date, not the build order. So a canary is
a version with excludeFromLatest=true, and promoting it means clearing that flag, which makes it
latest only if no higher-numbered version is still eligible. Content-derived versions
(0.0.<28 bits of the plan hash>) are unique but not ordered, so with them a newer build may well
have a lower number than an older one; give the spec semantic or date-based versions to get order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aks_jumpbox.core.naming import SPEC_TAG, template_name
from aks_jumpbox.core.plan import HASH_TAG


def version_key(name: str) -> tuple[int, int, int] | None:
    """MAJOR.MINOR.PATCH as Azure orders them, or None for a name Azure would not accept."""
    # ASCII digits only (`isdigit` takes '²', which int() refuses), each part a 32-bit integer:
    # https://learn.microsoft.com/en-us/rest/api/compute/gallery-image-versions/create-or-update
    parts = name.split(".")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() and len(p) <= 10 for p in parts):
        return None
    key = int(parts[0]), int(parts[1]), int(parts[2])
    return key if max(key) <= 2**31 - 1 else None


def _region(name: str) -> str:
    return name.replace(" ", "").lower()


@dataclass(frozen=True)
class Region:
    name: str
    replicas: int | None
    storage_account_type: str | None
    replication: str | None  # Completed | Replicating | Failed | Unknown; None when not reported

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "replicas": self.replicas,
            "storageAccountType": self.storage_account_type,
            "replication": self.replication,
        }


@dataclass(frozen=True)
class GalleryVersion:
    name: str
    id: str
    provisioning_state: str | None
    replication: str | None  # aggregated: Completed | InProgress | Failed | Unknown; None when not reported
    regions: tuple[Region, ...]
    exclude_from_latest: bool
    published: str | None
    plan_hash: str | None
    # The spec whose build wrote it (its aks-jumpbox.spec tag). A SharedImage distributor's artifactTags are
    # "Tags that will be applied to the artifact once it has been created/updated by the distributor" (the
    # vendored swagger's ImageTemplateDistributor.artifactTags; learn.microsoft.com/javascript/api/
    # @azure/arm-imagebuilder/imagetemplatedistributor); its artifact is the gallery image version, whose
    # tags are its resource tags (https://learn.microsoft.com/rest/api/compute/gallery-image-versions/get).
    # None: untagged (made by hand, or before specs were tagged).
    owner: str | None = None

    @classmethod
    def from_arm(cls, doc: dict[str, Any]) -> GalleryVersion:
        props = doc.get("properties") or {}
        profile = props.get("publishingProfile") or {}
        status = props.get("replicationStatus") or {}
        per_region = {_region(s.get("region") or ""): s.get("state") for s in status.get("summary") or []}
        default_replicas = profile.get("replicaCount")
        default_type = profile.get("storageAccountType")
        regions = tuple(
            Region(
                _region(r.get("name") or ""),
                r.get("regionalReplicaCount", default_replicas),
                r.get("storageAccountType", default_type),
                per_region.get(_region(r.get("name") or "")),
            )
            for r in profile.get("targetRegions") or []
        )
        return cls(
            name=doc.get("name") or doc.get("id", "").rsplit("/", 1)[-1],
            id=doc.get("id") or "",
            provisioning_state=props.get("provisioningState"),
            replication=status.get("aggregatedState"),
            regions=regions,
            exclude_from_latest=bool(profile.get("excludeFromLatest")),
            published=_text(profile.get("publishedDate")),
            plan_hash=(doc.get("tags") or {}).get(HASH_TAG),
            owner=(doc.get("tags") or {}).get(SPEC_TAG),
        )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def latest(versions: list[GalleryVersion]) -> GalleryVersion | None:
    """The version Azure resolves `latest` to: the highest number among those not excluded."""
    eligible = [v for v in versions if not v.exclude_from_latest and version_key(v.name) is not None]
    return max(eligible, key=lambda v: version_key(v.name) or (0, 0, 0), default=None)


def channel(version: GalleryVersion, versions: list[GalleryVersion]) -> str:
    """canary (excluded from latest), latest, or superseded (eligible, but a higher number wins)."""
    if version.exclude_from_latest:
        return "canary"
    top = latest(versions)
    return "latest" if top is not None and top.name == version.name else "superseded"


@dataclass(frozen=True)
class BuildEvidence:
    """What the image template that built a version says about that build."""

    template: str
    exists: bool
    run_state: str | None = None
    output_id: str | None = None  # the gallery run output's artifactId
    in_vm_validations: int = 0
    continue_on_failure: bool = False

    @classmethod
    def from_template(cls, name: str, template: dict[str, Any] | None, output_id: str | None) -> BuildEvidence:
        if template is None:
            return cls(name, False)
        props = template.get("properties") or {}
        validate = props.get("validate") or {}
        return cls(
            name,
            True,
            ((props.get("lastRunStatus") or {}).get("runState")),
            output_id,
            len(validate.get("inVMValidations") or []),
            bool(validate.get("continueDistributeOnFailure")),
        )


def promotion_blockers(
    target: GalleryVersion, versions: list[GalleryVersion], evidence: BuildEvidence | None
) -> list[str]:
    """Why `target` must not become latest; empty when it may.

    The rule for "validated": the version carries the plan hash aks-jumpbox tags it with, the image
    template of that plan still exists, its last run Succeeded, that run's gallery output is this very
    version, and the template runs in-VM validation with continueDistributeOnFailure=false, so Azure
    distributed the version only after validate.sh passed. A template removed by `cleanup` leaves no
    such evidence: promote before cleaning up.
    """
    out: list[str] = []
    if version_key(target.name) is None:
        out.append(f"version {target.name} is not MAJOR.MINOR.PATCH, so it can never be latest")
    if target.provisioning_state != "Succeeded":
        out.append(f"provisioning is {target.provisioning_state or 'unknown'}, not Succeeded")
    if target.replication != "Completed":
        behind = [f"{r.name} ({r.replication or 'unknown'})" for r in target.regions if r.replication != "Completed"]
        out.append(
            f"replication is {target.replication or 'not reported'}, not Completed"
            + (f": {', '.join(behind)}" if behind else "")
        )
    if target.plan_hash is None:
        out.append("it has no aks-jumpbox.plan-hash tag, so no aks-jumpbox build of it can be checked")
    elif evidence is None or not evidence.exists:
        name = evidence.template if evidence else template_name("?", target.plan_hash)
        out.append(
            f"image template {name}, which built it, no longer exists, so its validation cannot be "
            "checked (promote before `aks-jumpbox cleanup`, or rebuild)"
        )
    else:
        if evidence.run_state != "Succeeded":
            out.append(
                f"the last run of image template {evidence.template} is {evidence.run_state or 'never run'}, "
                "not Succeeded"
            )
        elif (evidence.output_id or "").lower() != target.id.lower():
            out.append(
                f"the last run of image template {evidence.template} wrote "
                f"{evidence.output_id or 'no gallery version'}, not this version"
            )
        if evidence.in_vm_validations == 0 or evidence.continue_on_failure:
            out.append(f"image template {evidence.template} does not gate distribution on in-VM validation")
    top = latest([v for v in versions if v.name != target.name])
    mine = version_key(target.name)
    if top is not None and mine is not None and (version_key(top.name) or (0, 0, 0)) > mine:
        out.append(
            f"version {top.name} is higher and not excluded from latest, so it would stay latest; "
            "use ordered (semantic or date-based) versions in distribute.gallery.version, or exclude "
            f"{top.name} from latest first (content-derived versions 0.0.N are not ordered)"
        )
    return out
