"""A spec's Azure footprint is its own: the key that scopes it, and whose a live resource is.

The footprint key is `<name>-<environment>`. It is in the name of every resource the tool creates
(identity, image templates, images, custom roles and, through them, the role assignments' GUIDs) and,
where Azure takes tags, in the `aks-jumpbox.spec` tag (core/naming.py). So a dev and a prod spec in one
subscription never name, rewrite or delete each other's resources; the only way to share is to say so:
the same `name` and `environment` in both specs.

Without `environment`, the key's second part is a digest of where the spec builds and distributes
(subscription, build resource group, managed image group and name, gallery and image definition):
two specs that differ there are different environments; two that build in one group into one image
destination are one. Naming the environment keeps the key (and the names) stable when those move.

Pure: azure/footprint.py reads the live resources and asks `ownership` whose each one is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from aks_jumpbox.core import kinds
from aks_jumpbox.core.naming import SPEC_TAG, content_hash, role_owner, template_prefix
from aks_jumpbox.core.spec import Spec

Ownership = Literal["ours", "foreign", "untagged", "unrelated"]


def placement(spec: Spec) -> dict[str, Any]:
    """Where a spec builds and distributes: what tells two unnamed environments apart."""
    m, g = spec.distribute.managed_image, spec.distribute.gallery
    return {
        "subscription": spec.subscription,
        "buildResourceGroup": spec.build.resource_group.lower(),
        "managedImage": [m.resource_group.lower(), (m.name or "").lower()] if m else None,
        "gallery": [g.resource_group.lower(), g.name.lower(), g.image.name.lower()] if g else None,
    }


def environment(spec: Spec) -> str:
    """The spec's environment: as named, or 6 hex digits of the digest of its placement."""
    return spec.environment or content_hash(placement(spec))[:6]


def footprint_key(spec: Spec) -> str:
    return f"{spec.name}-{environment(spec)}"


@dataclass(frozen=True)
class Found:
    """A live resource that is not this spec's, or that cannot be told to be."""

    kind: str  # its label (core/kinds.py)
    name: str
    id: str
    owner: str | None  # the footprint key it carries; None: untagged
    how: str  # where the owner was read: "tag" or "role name"; "misnamed": a tag on a name not the spec's
    planned: bool = False  # this spec plans a resource of this very name

    def line(self, key: str) -> str:
        """One line for people: the resource, whose it is and what is done with it."""
        what = f"{self.kind} {self.name}"
        if self.owner is None:
            return (
                f"{what} looks like aks-jumpbox's but has no {SPEC_TAG} tag, so it is not known to be spec "
                f"{key}'s: left alone (delete it yourself if it is)"
            )
        if self.how == "misnamed":
            return (
                f"{what} carries spec {self.owner}'s {SPEC_TAG} tag but not a name it gives "
                f"({template_prefix(self.owner)}<hash>): a copied or inherited tag, left alone"
            )
        where = f"its {SPEC_TAG} tag" if self.how == "tag" else f"its {self.how}"
        if self.planned:
            return (
                f"{what} belongs to spec {self.owner} ({where}), not to {key}: not taken over; give this spec its "
                "own `environment:` (or the same one to share it on purpose)"
            )
        return f"{what} belongs to spec {self.owner} ({where}): left alone"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "id": self.id, "owner": self.owner, "planned": self.planned}


def tag_owner(doc: dict[str, Any] | None) -> str | None:
    return ((doc or {}).get("tags") or {}).get(SPEC_TAG)


def ownership(kind: kinds.Kind, doc: dict[str, Any], key: str, looks_ours: bool) -> Ownership:
    """Whose a live resource of `kind` is. `looks_ours`: its name follows this tool's pattern."""
    if kind.tags:
        owner = tag_owner(doc)
        if owner is None:
            return "untagged" if looks_ours else "unrelated"
    else:  # role definitions: named by the roleName, since they take no tags
        owner = role_owner(str((doc.get("properties") or {}).get("roleName") or ""))
        if owner is None:
            return "unrelated"
    if owner == key and not _named_as_tagged(kind, doc, key):
        return "foreign"
    return "ours" if owner == key else "foreign"


def _named_as_tagged(kind: kinds.Kind, doc: dict[str, Any], owner: Any) -> bool:
    """An image template tagged for a spec is that spec's only if its name is one the spec gives
    (imgt-<key>-<hash>): cleanup deletes every template of the spec, and a tag is easily copied onto
    another (by hand, or by an Azure Policy that makes resources inherit their resource group's tags)."""
    if kind is not kinds.TEMPLATE or not isinstance(owner, str):
        return True
    return str(doc.get("name") or "").startswith(template_prefix(owner))


def found(kind: kinds.Kind, doc: dict[str, Any], planned: bool = False) -> Found:
    props = doc.get("properties") or {}
    if kind.tags:
        owner, how, name = tag_owner(doc), "tag", str(doc.get("name") or "")
        if not _named_as_tagged(kind, doc, owner):
            how = "misnamed"
    else:
        role = str(props.get("roleName") or "")
        owner, how, name = role_owner(role), "role name", role or str(doc.get("name") or "")
    return Found(kind.label, name, str(doc.get("id") or ""), owner, how, planned)
