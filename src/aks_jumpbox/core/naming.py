"""Stable names derived from content, never from the clock."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

# Namespace for the UUIDv5 names of role definitions and role assignments.
NAMESPACE = uuid.UUID("6c0a5f0e-4a4e-5b8e-9a57-61b1a0c1e2d3")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of value."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def stable_guid(*parts: str) -> str:
    """A GUID that is the same for the same parts (case-insensitive, as Azure IDs are)."""
    return str(uuid.uuid5(NAMESPACE, "\n".join(p.lower() for p in parts)))


def template_name(spec_name: str, plan_hash: str) -> str:
    """The image template a plan creates: the spec's name and the plan's content hash."""
    return f"imgt-{spec_name}-{plan_hash[:10]}"
