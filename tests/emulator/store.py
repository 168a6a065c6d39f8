"""In-memory resources keyed by lower-case resource ID."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from . import ids


@dataclass
class Resource:
    id: str  # casing as first created
    type: str  # canonical casing, e.g. Microsoft.Network/virtualNetworks
    body: dict[str, Any]  # what GET returns (before per-type rendering)
    meta: dict[str, Any] = field(default_factory=dict)  # emulator-only state (spec as sent, run state...)

    @property
    def name(self) -> str:
        return ids.name_of(self.id)

    @property
    def properties(self) -> dict[str, Any]:
        return self.body.setdefault("properties", {})


class Store:
    def __init__(self) -> None:
        self._items: dict[str, Resource] = {}

    def get(self, rid: str) -> Resource | None:
        return self._items.get(rid.rstrip("/").lower())

    def put(self, res: Resource) -> Resource:
        self._items[res.id.rstrip("/").lower()] = res
        return res

    def delete(self, rid: str) -> Resource | None:
        return self._items.pop(rid.rstrip("/").lower(), None)

    def delete_under(self, scope: str) -> list[Resource]:
        """Delete ``scope`` and everything below it (a resource group and its contents)."""
        gone = [r for r in self._items.values() if ids.contains(scope, r.id)]
        for r in gone:
            self.delete(r.id)
        return gone

    def __iter__(self) -> Iterator[Resource]:
        return iter(list(self._items.values()))

    def of_type(self, rtype: str, scope: str = "") -> list[Resource]:
        """Resources of ``rtype`` at or below ``scope``, in creation order."""
        t = rtype.lower()
        return [r for r in self if r.type.lower() == t and ids.contains(scope, r.id)]

    def children(self, parent_id: str, rtype: str) -> list[Resource]:
        """Direct children of ``parent_id`` with type ``rtype`` (nested resources)."""
        return [r for r in self.of_type(rtype, parent_id) if ids.same(ids.parent_of(r.id), parent_id)]

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {r.id: copy.deepcopy(r.body) for r in self}
