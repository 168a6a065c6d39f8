"""Compare what the plan sets with what Azure reports: the heart of `deploy --what-if`.

Only the fields the plan sets are compared; Azure adds read-only ones (provisioningState, ids,
principalId of an identity...) that are not drift. Azure IDs and locations compare without case,
as ARM treats them. A planned `{}` means "present, contents not ours" (an identity's entry in
userAssignedIdentities, which Azure fills with its principal and client IDs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aks_jumpbox.core.plan import Ref

UNKNOWN = "(known after apply)"


@dataclass(frozen=True)
class Difference:
    path: str  # dotted path, list indexes in brackets: properties.permissions[0].actions
    planned: Any
    live: Any  # MISSING when Azure has no value

    def describe(self) -> str:
        live = "(not set)" if self.live is MISSING else _show(self.live)
        return f"{self.path}: {live} -> {_show(self.planned)}"


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def _show(value: Any) -> str:
    if isinstance(value, Ref):
        return UNKNOWN
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def _is_id_like(key: str, value: Any) -> bool:
    return isinstance(value, str) and (
        value.startswith(("/subscriptions/", "/providers/")) or key.lower() in ("location", "principaltype")
    )


def _same_scalar(key: str, planned: Any, live: Any) -> bool:
    if _is_id_like(key, planned) and isinstance(live, str):
        return planned.replace(" ", "").lower() == live.replace(" ", "").lower()
    if isinstance(planned, bool) or isinstance(live, bool):
        return planned is live
    return planned == live


def _lookup(live: dict[str, Any], key: str) -> Any:
    if key in live:
        return live[key]
    # Azure may change the casing of map keys that are resource IDs (userAssignedIdentities).
    for k, v in live.items():
        if k.lower() == key.lower():
            return v
    return MISSING


def differences(planned: Any, live: Any, path: str = "", key: str = "") -> list[Difference]:
    """Every place where live differs from planned, for the fields planned sets.

    An unresolved Ref (a value known only once another resource exists) is always a difference: that
    resource is still to be created, so whatever Azure holds now refers to something else.
    """
    if isinstance(planned, Ref):
        return [Difference(path, planned, live)]
    if isinstance(planned, dict):
        if not isinstance(live, dict):
            return [Difference(path, planned, live)]
        out: list[Difference] = []
        for k, v in planned.items():
            sub = f"{path}.{k}" if path else k
            out += differences(v, _lookup(live, k), sub, k)
        return out
    if isinstance(planned, list | tuple):
        if not isinstance(live, list) or len(live) != len(planned):
            return [Difference(path, list(planned), live)]
        if all(not isinstance(x, dict | list) for x in planned) and is_set_like(key):
            ok = sorted(map(str, planned)) == sorted(map(str, live))
            return [] if ok else [Difference(path, list(planned), live)]
        out = []
        for i, (p, v) in enumerate(zip(planned, live, strict=True)):
            out += differences(p, v, f"{path}[{i}]", key)
        return out
    if live is MISSING or not _same_scalar(key, planned, live):
        return [Difference(path, planned, live)]
    return []


# Lists whose order ARM does not keep (role definitions' action lists and scopes).
_SET_LIKE = {"actions", "notactions", "dataactions", "notdataactions", "assignablescopes"}


def is_set_like(key: str) -> bool:
    """A list under this key is compared as a set: ARM does not keep its order."""
    return key.lower() in _SET_LIKE


def resolve_refs(body: Any, values: dict[tuple[str, str], Any]) -> Any:
    """body with each Ref replaced by values[(resource_key, path)] when known."""
    if isinstance(body, Ref):
        return values.get((body.resource_key, body.path), body)
    if isinstance(body, dict):
        return {k: resolve_refs(v, values) for k, v in body.items()}
    if isinstance(body, list | tuple):
        return [resolve_refs(v, values) for v in body]
    return body


def has_refs(body: Any) -> bool:
    if isinstance(body, Ref):
        return True
    if isinstance(body, dict):
        return any(has_refs(v) for v in body.values())
    if isinstance(body, list | tuple):
        return any(has_refs(v) for v in body)
    return False


def dig(value: Any, dotted: str) -> Any:
    """value['a']['b'] for 'a.b' (MISSING when absent)."""
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return MISSING
        value = _lookup(value, part)
        if value is MISSING:
            return MISSING
    return value
