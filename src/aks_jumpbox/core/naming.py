"""Stable names derived from content, never from the clock.

Every name of a resource the tool creates carries the spec's footprint key (core/footprint.py:
`<name>-<environment>`), so two specs in one subscription never name the same resource.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

# Namespace for the UUIDv5 names of role definitions and role assignments.
NAMESPACE = uuid.UUID("6c0a5f0e-4a4e-5b8e-9a57-61b1a0c1e2d3")

# The tag naming the spec (its footprint key) on every resource the tool creates that takes tags.
SPEC_TAG = "aks-jumpbox.spec"
# Custom role names start with this; the footprint key and subscription follow in parentheses.
ROLE_PREFIX = "[aks-jumpbox] "


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of value."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def stable_guid(*parts: str) -> str:
    """A GUID that is the same for the same parts (case-insensitive, as Azure IDs are)."""
    return str(uuid.uuid5(NAMESPACE, "\n".join(p.lower() for p in parts)))


def template_name(spec_key: str, plan_hash: str) -> str:
    """The image template a plan creates: the spec's footprint key and the plan's content hash."""
    return f"{template_prefix(spec_key)}{plan_hash[:10]}"


def template_prefix(spec_key: str) -> str:
    """What the names of every image template of one spec start with."""
    return f"imgt-{spec_key}-"


def identity_name(spec_key: str) -> str:
    return f"id-{spec_key}-imagebuilder"


def image_name(spec_key: str, plan_hash: str) -> str:
    return f"img-{spec_key}-{plan_hash[:10]}"


def role_name(title: str, spec_key: str, subscription: str) -> str:
    """A custom role's roleName: unique per spec and subscription (Azure refuses two roles of one name in
    a tenant's overlapping scopes), and saying whose it is, since role definitions take no tags."""
    return f"{ROLE_PREFIX}{title} ({spec_key}, {subscription[:8]})"


def role_owner(role_name: str) -> str | None:
    """The footprint key a custom role's roleName names (see role_name), or None when it is not one of ours."""
    if not role_name.startswith(ROLE_PREFIX) or not role_name.endswith(")") or " (" not in role_name:
        return None
    inside = role_name[role_name.rindex(" (") + 2 : -1]
    key, sep, _sub = inside.partition(", ")
    return key if sep and key else None


def rule_collection_group_name(key: str) -> str:
    """The hub firewall policy's group for one footprint key, so dev and prod each have their own."""
    return f"rcg-{key}-imagebuilder"
