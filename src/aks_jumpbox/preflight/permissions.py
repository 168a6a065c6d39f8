"""Azure RBAC as it decides whether a principal may perform an action, on plain JSON.

A role definition (or a block of the permissions API) grants ``actions`` minus ``notActions``;
several roles add up, and a ``notActions`` entry of one role never takes away what another grants.
Patterns are case-insensitive and ``*`` stands for any run of characters, ``/`` included
(``*/read``, ``Microsoft.Compute/*``, ``*``). An assignment applies at its scope and everything
below it, so one on the subscription covers a resource group, and one on a VNet covers its subnets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aks_jumpbox.preflight._arm import ResourceFormatError, id_of, props

__all__ = [
    "Grant",
    "action_matches",
    "allowed",
    "blocks_of_role",
    "grants_from_blocks",
    "missing",
    "scope_covers",
]


@lru_cache(maxsize=4096)
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", pattern)),
        re.IGNORECASE | re.DOTALL,
    )


def action_matches(pattern: str, action: str) -> bool:
    return _pattern(pattern.strip()).fullmatch(action.strip()) is not None


@dataclass(frozen=True)
class Grant:
    """One permission block: what it allows, and where it came from (for evidence)."""

    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    origin: str = ""

    def allows(self, action: str) -> bool:
        return self.matching(action) is not None

    def matching(self, action: str) -> str | None:
        """The ``actions`` pattern that grants ``action`` (None: not granted, or taken back by notActions)."""
        if any(action_matches(p, action) for p in self.not_actions):
            return None
        return next((p for p in self.actions if action_matches(p, action)), None)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ResourceFormatError(f"{where}: expected a list of strings, got {value!r}")
    return tuple(value)


def grants_from_blocks(blocks: Iterable[Any], origin: str, where: str) -> tuple[Grant, ...]:
    """Permission blocks (``{"actions": [...], "notActions": [...]}``) as grants."""
    out = []
    for i, block in enumerate(blocks):
        if not isinstance(block, Mapping):
            raise ResourceFormatError(f"{where}[{i}]: expected an object with actions and notActions")
        out.append(
            Grant(
                _strings(block.get("actions"), f"{where}[{i}].actions"),
                _strings(block.get("notActions"), f"{where}[{i}].notActions"),
                origin,
            )
        )
    return tuple(out)


def blocks_of_role(role_definition: Mapping[str, Any]) -> tuple[Grant, ...]:
    """The grants of a role definition (REST shape, or `az role definition list`'s flattened one)."""
    doc = dict(role_definition)
    p = props(doc, "role definition")
    name = p.get("roleName") or doc.get("roleName") or id_of(doc).rsplit("/", 1)[-1]
    blocks = p.get("permissions")
    if not isinstance(blocks, list):
        raise ResourceFormatError(f"role definition {name}: permissions: expected a list")
    return grants_from_blocks(blocks, f"role '{name}'", f"role definition {name}: permissions")


def allowed(grants: Sequence[Grant], action: str) -> Grant | None:
    """The first grant that allows ``action``, or None."""
    return next((g for g in grants if g.allows(action)), None)


def missing(grants: Sequence[Grant], actions: Iterable[str]) -> list[str]:
    return [a for a in actions if allowed(grants, a) is None]


def scope_covers(assignment_scope: str, target: str) -> bool:
    """An assignment at ``assignment_scope`` applies to ``target`` (equal or below, segment-wise)."""
    s = assignment_scope.strip().rstrip("/").lower()
    t = target.strip().rstrip("/").lower()
    return s == "" or t == s or t.startswith(s + "/")
