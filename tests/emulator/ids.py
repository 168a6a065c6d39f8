"""Parse ARM request paths and resource IDs.

An ARM path is ``{scope}/providers/{namespace}/{type}/{name}[/{type}/{name}...][/{tail}]`` where the
scope is ``/``, a subscription, a resource group or itself a resource ID (extension resources such as
role assignments on a VNet). An odd trailing segment is a collection (GET) or an action (POST).
Comparisons are case-insensitive, as in ARM; stored IDs keep the casing they were created with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SUB_RE = re.compile(r"^/subscriptions/(?P<sub>[^/]+)", re.IGNORECASE)
_RG_RE = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)", re.IGNORECASE)


@dataclass(frozen=True)
class ArmPath:
    scope: str  # e.g. /subscriptions/s/resourceGroups/rg ("" for the root scope)
    namespace: str
    types: tuple[str, ...]  # resource type segments after the namespace
    names: tuple[str, ...]  # one name per type
    tail: str | None  # trailing collection type or action name

    @property
    def full_type(self) -> str:
        """Type of the addressed resource (or, for a collection, of its items)."""
        types = self.types + ((self.tail,) if self.tail and not self.names else ())
        return "/".join((self.namespace, *types))

    @property
    def resource_id(self) -> str:
        pairs = "/".join(f"{t}/{n}" for t, n in zip(self.types, self.names, strict=True))
        return f"{self.scope}/providers/{self.namespace}/{pairs}"

    @property
    def collection_type(self) -> str:
        """For ``.../{name}/{childType}`` paths: the child type."""
        return "/".join((self.namespace, *self.types, self.tail or ""))


def parse(path: str) -> ArmPath | None:
    """Split at the last ``/providers/`` that is followed by a namespace and at least one more segment."""
    segs = path.strip("/").split("/")
    for i in range(len(segs) - 3, -1, -1):
        if segs[i].lower() == "providers":
            scope = "/" + "/".join(segs[:i]) if i else ""
            namespace, rest = segs[i + 1], segs[i + 2 :]
            types, names = tuple(rest[0::2]), tuple(rest[1::2])
            tail = None
            if len(types) > len(names):
                tail, types = types[-1], types[:-1]
            return ArmPath(scope, namespace, types, names, tail)
    return None


def subscription_of(rid: str) -> str | None:
    m = _SUB_RE.match(rid)
    return m["sub"] if m else None


def resource_group_of(rid: str) -> tuple[str, str] | None:
    m = _RG_RE.match(rid)
    return (m["sub"], m["rg"]) if m else None


def rg_id(sub: str, rg: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}"


def contains(scope: str, rid: str) -> bool:
    """True when ``rid`` is ``scope`` or lies below it (segment-wise, case-insensitive)."""
    s, r = scope.rstrip("/").lower(), rid.rstrip("/").lower()
    return s == "" or r == s or r.startswith(s + "/")


def parent_of(rid: str) -> str:
    """The parent resource of a nested resource, or the scope of a top-level one."""
    p = parse(rid)
    if p is None:
        return rid.rsplit("/", 2)[0]
    if len(p.types) > 1:
        pairs = "/".join(f"{t}/{n}" for t, n in zip(p.types[:-1], p.names[:-1], strict=True))
        return f"{p.scope}/providers/{p.namespace}/{pairs}"
    return p.scope


def same(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


def name_of(rid: str) -> str:
    return rid.rstrip("/").rsplit("/", 1)[-1]
