"""`deploy` and `deploy --what-if`: the plan's resources, in dependency order, by idempotent PUTs.

What-if reads every planned resource and sorts it into create / unchanged / differs (with the
fields that differ). Deploy then writes only what is not unchanged, so a re-run of an unchanged
plan costs one GET per resource and nothing else.

How each kind is written is declared in core/kinds.py (`Kind.write`). Image templates are
immutable: a changed plan names a new template (by content hash), so the same name with other
content means someone changed it outside this tool; only its tags can be updated in place (PATCH).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from azure.core.exceptions import HttpResponseError

from aks_jumpbox.azure import resources as rs
from aks_jumpbox.azure.clients import Azure
from aks_jumpbox.azure.errors import AzureFailure, arm, error_code
from aks_jumpbox.core import kinds
from aks_jumpbox.core.drift import MISSING, Difference, differences, dig, has_refs, resolve_refs
from aks_jumpbox.core.model import Plan, Ref, Resource
from aks_jumpbox.core.plan import HASH_TAG

Action = Literal["create", "unchanged", "differs", "replace", "update-tags", "conflict"]

# Azure AD replicates a new identity's service principal within seconds to minutes; role
# assignments made before that fail with PrincipalNotFound. Waits grow from 2.5 × the retry backoff
# factor (2 s by default) to 30 s, about 2.5 minutes in all.
PRINCIPAL_RETRIES = 8


def principal_waits(backoff_factor: float) -> list[float]:
    return [min(30.0, max(backoff_factor, 0.01) * 2.5 * 2 ** i) for i in range(PRINCIPAL_RETRIES)]


@dataclass
class Change:
    resource: Resource
    action: Action
    differences: list[Difference] = field(default_factory=list)
    live: dict[str, Any] | None = None
    note: str | None = None

    @property
    def writes(self) -> bool:
        return self.action not in ("unchanged",)

    def to_json(self) -> dict[str, Any]:
        r = self.resource
        return {"key": r.key, "type": r.type, "name": r.name, "id": r.id, "action": self.action,
                "note": self.note,
                "differences": [{"path": d.path, "live": None if d.live is MISSING else d.live,
                                 "planned": d.planned if not isinstance(d.planned, Ref) else "(known after apply)"}
                                for d in self.differences]}


def _ref_paths(plan: Plan) -> dict[str, set[str]]:
    """resource key -> paths other resources' bodies reference (e.g. identity: properties.principalId)."""
    out: dict[str, set[str]] = {}

    def walk(value: Any) -> None:
        if isinstance(value, Ref):
            out.setdefault(value.resource_key, set()).add(value.path)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    for r in plan.resources:
        walk(r.body)
    return out


def _remember(values: dict[tuple[str, str], Any], paths: dict[str, set[str]], r: Resource,
              live: dict[str, Any] | None) -> None:
    for path in paths.get(r.key, ()):
        value = dig(live, path) if live else MISSING
        if value is not MISSING and value is not None:
            values[(r.key, path)] = value


def read_all(az: Azure, items: Iterable[Resource]) -> dict[str, dict[str, Any] | None]:
    """Live state of each resource (None when absent), read concurrently: reads are independent."""
    items = list(items)

    def one(r: Resource) -> dict[str, Any] | None:
        with arm(f"reading {r.type.split('/')[-1]} {r.name}", r.id):
            return rs.read(az, r)

    with ThreadPoolExecutor(max_workers=min(4, len(items) or 1)) as pool:
        return dict(zip([r.key for r in items], pool.map(one, items), strict=True))


def classify(r: Resource, body: dict[str, Any], live: dict[str, Any] | None) -> Change:
    write = kinds.of(r.type).write
    if live is None:
        return Change(r, "create")
    if write == "create-if-absent":
        diffs = differences(body, live)
        note = "exists; created only when absent, so left as it is" if diffs else None
        return Change(r, "unchanged", diffs, live, note=note)
    if write == "immutable":
        live_hash = ((live.get("tags") or {}).get(HASH_TAG))
        if live_hash != body.get("tags", {}).get(HASH_TAG):
            diffs = differences({"properties": body["properties"]}, live)
            return Change(r, "conflict", diffs, live,
                          note="an image template of this name exists with other content; templates are "
                               "immutable, so delete it (`aks-jumpbox cleanup`) and deploy again")
        tag_diffs = differences({"tags": body.get("tags", {})}, live)
        if tag_diffs:
            return Change(r, "update-tags", tag_diffs, live)
        return Change(r, "unchanged", [], live)
    diffs = differences(body, live)
    if not diffs:
        return Change(r, "unchanged", [], live)
    if write == "replace":
        # e.g. a role assignment for a re-created identity: it cannot be updated, so it is replaced.
        label = kinds.of(r.type).label
        return Change(r, "replace", diffs, live, note=f"{label}s are immutable: delete, then create")
    return Change(r, "differs", diffs, live)


def what_if(az: Azure, plan: Plan) -> list[Change]:
    paths = _ref_paths(plan)
    lives = read_all(az, plan.resources)
    values: dict[tuple[str, str], Any] = {}
    out = []
    for r in plan.resources:
        live = lives[r.key]
        _remember(values, paths, r, live)
        out.append(classify(r, resolve_refs(r.body, values), live))
    return out


def _put(az: Azure, r: Resource, body: dict[str, Any], sleep: Callable[[float], None]) -> dict[str, Any] | None:
    # The body goes to the resource provider as it is: no template language evaluates it, so a literal
    # `[...]` stays unescaped here; the rendered templates write it `[[...]` (core/arm_strings.py) and
    # ARM stores the same literal.
    action = f"creating or updating {r.type} {r.name}"
    waits = principal_waits(az.tuning.backoff_factor) if kinds.of(r.type).waits_for_principal else []
    while True:
        try:
            with arm(action, r.id):
                try:
                    return rs.to_json(rs.ops(r.type).put(az, r, body))
                except HttpResponseError as exc:
                    if waits and error_code(exc) == "PrincipalNotFound":
                        raise _Retry() from None
                    raise
        except _Retry:
            sleep(waits.pop(0))


class _Retry(Exception):
    pass


def apply(az: Azure, plan: Plan, changes: list[Change], *, skip: Iterable[str] = (),
          on_change: Callable[[Change], None] | None = None,
          sleep: Callable[[float], None] = time.sleep) -> list[Change]:
    """Write every change that is not `unchanged`, in plan order. Returns what was written."""
    skip = set(skip)
    paths = _ref_paths(plan)
    values: dict[tuple[str, str], Any] = {}
    done = []
    for change in changes:
        r = change.resource
        if change.action == "unchanged" and has_refs(r.body):
            # Judged before what it refers to was written (a re-created identity): judge again.
            change = classify(r, resolve_refs(r.body, values), change.live)
        live = change.live
        if change.action == "conflict":
            raise AzureFailure(f"deploying {r.type} {r.name}", "ImageTemplateChanged", change.note or "",
                               resource=r.id,
                               hint="differences: " + "; ".join(d.describe() for d in change.differences[:5]))
        if change.writes and r.key not in skip:
            body = resolve_refs(r.body, values)
            if has_refs(body):
                raise AzureFailure(f"deploying {r.type} {r.name}", "DependencyMissing",
                                   "a value it needs from another resource is not known", resource=r.id)
            if change.action == "replace":
                with arm(f"deleting stale {r.type} {r.name}", r.id):
                    rs.ops(r.type).delete(az, r)
            if change.action == "update-tags":
                patch_tags = rs.ops(r.type).patch_tags
                if patch_tags is None:
                    raise ValueError(f"core/kinds.py: {r.type} is immutable, but azure/resources.py has no "
                                     "PATCH of its tags")
                with arm(f"updating the tags of {r.type} {r.name}", r.id):
                    live = rs.to_json(patch_tags(az, r, body.get("tags", {})))
            else:
                live = _put(az, r, body, sleep)
            done.append(change)
            if on_change:
                on_change(change)
        _remember(values, paths, r, live)
    return done
