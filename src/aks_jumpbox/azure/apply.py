"""`deploy` and `deploy --what-if`: the plan's resources, in dependency order, by idempotent PUTs.

What-if reads every planned resource and sorts it into create / unchanged / differs (with the
fields that differ). Deploy then writes only what is not unchanged, so a re-run of an unchanged
plan costs one GET per resource and nothing else.

How each kind is written is declared in core/kinds.py (`Kind.write`). Image templates are
immutable: a changed plan names a new template (by content hash), so the same name with other
content means someone changed it outside this tool; only its tags can be updated in place (PATCH).

A template whose submission failed stays in Azure, provisioningState Failed, and must be deleted
before it is submitted again; deploy shows Azure's error and, on the next run, deletes and re-creates
it. Role assignments made in the same run may not have reached Image Builder yet: a submission that
fails for want of a permission then is retried a few times, with a message, before giving up.
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
from aks_jumpbox.core.footprint import tag_owner
from aks_jumpbox.core.model import Plan, Ref, Resource
from aks_jumpbox.core.naming import SPEC_TAG
from aks_jumpbox.core.plan import HASH_TAG

Action = Literal["create", "unchanged", "differs", "replace", "update-tags", "conflict", "skip"]

# Azure AD replicates a new identity's service principal within seconds to minutes; role
# assignments made before that fail with PrincipalNotFound. Waits grow from 2.5 × the retry backoff
# factor (2 s by default) to 30 s, about 2.5 minutes in all.
PRINCIPAL_RETRIES = 8


def principal_waits(backoff_factor: float) -> list[float]:
    return [min(30.0, max(backoff_factor, 0.01) * 2.5 * 2**i) for i in range(PRINCIPAL_RETRIES)]


# Role assignment changes "can take up to 10 minutes" to be detected, longer where a managed identity's
# token is cached: https://learn.microsoft.com/azure/role-based-access-control/troubleshooting#symptom---role-assignment-changes-are-not-being-detected
# A template submission right after new assignments is retried over about 4.5 minutes (10 s, 20 s, 40 s,
# 80 s, 120 s at the default backoff factor of 0.8 s); then the user is told to re-run later.
PROPAGATION_RETRIES = 5
PROPAGATION_DOC = (
    "https://learn.microsoft.com/azure/role-based-access-control/troubleshooting"
    "#symptom---role-assignment-changes-are-not-being-detected"
)
# A failed submission leaves a failed template that must be deleted:
# https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-troubleshoot#update-or-upgrade-of-image-templates-is-currently-not-supported
FAILED_TEMPLATE_DOC = (
    "https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-troubleshoot"
    "#update-or-upgrade-of-image-templates-is-currently-not-supported"
)


def propagation_waits(backoff_factor: float) -> list[float]:
    return [min(120.0, max(backoff_factor, 0.01) * 12.5 * 2**i) for i in range(PROPAGATION_RETRIES)]


def provisioning_failure(live: dict[str, Any] | None) -> str | None:
    """'code: message' of a template whose submission failed (provisioningState Failed), else None."""
    props = (live or {}).get("properties") or {}
    if props.get("provisioningState") != "Failed":
        return None
    err = props.get("provisioningError") or {}
    code = err.get("provisioningErrorCode") or "Failed"
    return f"{code}: {err.get('message') or 'no message'}"


def _for_want_of_permission(exc: AzureFailure) -> bool:
    # "Not authorized to access the resource: …" (image-builder-troubleshoot), "… does not have
    # authorization to perform action …" (ARM's AuthorizationFailed).
    return "authoriz" in f"{exc.code} {exc.message}".lower()


@dataclass
class Change:
    resource: Resource
    action: Action
    differences: list[Difference] = field(default_factory=list)
    live: dict[str, Any] | None = None
    note: str | None = None
    code: str | None = None  # of a conflict: why deploy refuses it

    @property
    def writes(self) -> bool:
        return self.action not in ("unchanged", "skip")

    def to_json(self) -> dict[str, Any]:
        r = self.resource
        return {
            "key": r.key,
            "type": r.type,
            "name": r.name,
            "id": r.id,
            "action": self.action,
            "note": self.note,
            "differences": [
                {
                    "path": d.path,
                    "live": None if d.live is MISSING else d.live,
                    "planned": d.planned if not isinstance(d.planned, Ref) else "(known after apply)",
                }
                for d in self.differences
            ],
        }


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


def _remember(
    values: dict[tuple[str, str], Any], paths: dict[str, set[str]], r: Resource, live: dict[str, Any] | None
) -> None:
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


def _owned_elsewhere(r: Resource, body: dict[str, Any], live: dict[str, Any]) -> Change | None:
    """A conflict when the live resource carries another spec's footprint key: deploy never takes over
    (rewrites) another spec's resource. Untagged ones of the planned name are adopted (tagged on write).
    Galleries and image definitions (create-if-absent) are never rewritten, so may be shared."""
    kind = kinds.of(r.type)
    mine, theirs = tag_owner(body), tag_owner(live)
    if not kind.tags or kind.write == "create-if-absent" or mine is None or theirs is None or mine == theirs:
        return None
    why = (
        f"{kind.label} {r.name} belongs to spec {theirs} (its {SPEC_TAG} tag), not {mine}: deploy does not take "
        "another spec's resource over; give this spec its own `environment:` or identity name (or, to share it on "
        f"purpose, the same `name:` and `environment:` as spec {theirs})"
    )
    return Change(r, "conflict", [], live, note=why, code="OwnedByAnotherSpec")


def classify(r: Resource, body: dict[str, Any], live: dict[str, Any] | None) -> Change:
    write = kinds.of(r.type).write
    if live is None:
        return Change(r, "create")
    if (elsewhere := _owned_elsewhere(r, body, live)) is not None:
        return elsewhere
    if write == "create-if-absent":
        diffs = differences(body, live)
        note = "exists; created only when absent, so left as it is" if diffs else None
        return Change(r, "unchanged", diffs, live, note=note)
    if write == "immutable":
        live_hash = (live.get("tags") or {}).get(HASH_TAG)
        failed = provisioning_failure(live)
        if failed and live_hash == body.get("tags", {}).get(HASH_TAG):
            why = (
                f"its submission failed ({failed}); Image Builder keeps a failed template, which must "
                f"be deleted before it is submitted again ({FAILED_TEMPLATE_DOC}): deleted, then "
                "created again"
            )
            return Change(r, "replace", [], live, note=why)
        if live_hash != body.get("tags", {}).get(HASH_TAG):
            diffs = differences({"properties": body["properties"]}, live)
            return Change(
                r,
                "conflict",
                diffs,
                live,
                note="an image template of this name exists with other content; templates are "
                "immutable, so delete it (`aks-jumpbox cleanup`) and deploy again",
            )
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


def left_to_image_builder(az: Azure, r: Resource) -> str | None:
    """Why a planned assignment on a resource group Image Builder makes is not written, if it is not.

    A staging group named in the template that does not exist is created by Image Builder with the
    template, which gives the identity Contributor there itself; so does a group it created before
    (tagged createdBy: AzureVMImageBuilder). Assigning it again would fail (RoleAssignmentExists), and
    before the group exists there is nothing to assign on:
    https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-json#template-creation-scenarios
    """
    declared = kinds.ASSIGNMENT_BY_KEY.get(r.key)
    if declared is None or not declared.image_builder_grants:
        return None
    with arm(f"reading resource group {r.scope.rsplit('/', 1)[-1]}", r.scope):
        group = rs.resource_group(az, r.scope)
    name = r.scope.rsplit("/", 1)[-1]
    if group is None:
        return (
            f"the staging resource group {name} does not exist: Image Builder creates it with the "
            "template and gives the identity Contributor there"
        )
    if (group.get("tags") or {}).get("createdBy") == "AzureVMImageBuilder":
        return f"Image Builder created the staging resource group {name} and gave the identity Contributor there"
    return None


def what_if(az: Azure, plan: Plan) -> list[Change]:
    paths = _ref_paths(plan)
    lives = read_all(az, plan.resources)
    values: dict[tuple[str, str], Any] = {}
    out = []
    for r in plan.resources:
        live = lives[r.key]
        _remember(values, paths, r, live)
        why = left_to_image_builder(az, r) if live is None else None
        out.append(Change(r, "skip", note=why) if why else classify(r, resolve_refs(r.body, values), live))
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


def _submit(
    az: Azure,
    r: Resource,
    body: dict[str, Any],
    sleep: Callable[[float], None],
    note: Callable[[str], None],
    fresh_roles: bool,
) -> dict[str, Any] | None:
    """PUT an image template; after new role assignments, give them time to reach Image Builder."""
    waits = propagation_waits(az.tuning.backoff_factor) if fresh_roles else []
    while True:
        try:
            return _put(az, r, body, sleep)
        except AzureFailure as exc:
            with arm(f"reading image template {r.name}", r.id):
                left = rs.read(az, r)
            failed = provisioning_failure(left) is not None
            wanting = _for_want_of_permission(exc)
            if waits and wanting:
                wait = waits.pop(0)
                if failed:
                    with arm(f"deleting failed image template {r.name}", r.id):
                        rs.ops(r.type).delete(az, r)
                first = exc.message.splitlines()[0][:200] if exc.message else ""
                note(
                    f"Image Builder refused the template for want of a permission ({exc.code}: {first}); "
                    "role assignments made just now can take minutes to reach it: "
                    f"trying again in {wait:.0f} s"
                )
                sleep(wait)
                continue
            hints = []
            if failed:
                hints.append(
                    "Image Builder keeps the failed template; the next `aks-jumpbox deploy` "
                    "(or `build`) deletes it and submits it again."
                )
            if wanting and fresh_roles:
                hints.append(
                    f"Role assignments made just now may still be on their way ({PROPAGATION_DOC}): "
                    "re-run in a few minutes."
                )
            if hints:
                exc.hint = " ".join(hints)
            raise


def apply(
    az: Azure,
    plan: Plan,
    changes: list[Change],
    *,
    skip: Iterable[str] = (),
    on_change: Callable[[Change], None] | None = None,
    on_note: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Change]:
    """Write every change that is not `unchanged` (or `skip`), in plan order. Returns what was written.

    `sleep` waits between retries (tests pass one that does not sleep); `on_note` hears why.
    """
    skip = set(skip)
    # Another spec's resource among the plan's: refuse before writing anything (no half-taken footprint).
    for change in changes:
        if change.code == "OwnedByAnotherSpec":
            r = change.resource
            raise AzureFailure(f"deploying {r.type} {r.name}", change.code, change.note or "", resource=r.id)
    paths = _ref_paths(plan)
    values: dict[tuple[str, str], Any] = {}
    done = []
    note = on_note or (lambda _text: None)
    fresh_roles = False  # a role assignment was written by this run
    for change in changes:
        r = change.resource
        if change.action == "unchanged" and has_refs(r.body):
            # Judged before what it refers to was written (a re-created identity): judge again.
            change = classify(r, resolve_refs(r.body, values), change.live)
        live = change.live
        if change.action == "conflict":
            raise AzureFailure(
                f"deploying {r.type} {r.name}",
                change.code or "ImageTemplateChanged",
                change.note or "",
                resource=r.id,
                hint=("differences: " + "; ".join(d.describe() for d in change.differences[:5]))
                if change.differences
                else None,
            )
        if change.action == "skip" and change.note:
            note(f"left {kinds.of(r.type).label} {r.name} to Image Builder: {change.note}")
        if change.writes and r.key not in skip:
            body = resolve_refs(r.body, values)
            if has_refs(body):
                raise AzureFailure(
                    f"deploying {r.type} {r.name}",
                    "DependencyMissing",
                    "a value it needs from another resource is not known",
                    resource=r.id,
                )
            if change.action == "replace":
                with arm(f"deleting stale {r.type} {r.name}", r.id):
                    rs.ops(r.type).delete(az, r)
            if change.action == "update-tags":
                patch_tags = rs.ops(r.type).patch_tags
                if patch_tags is None:
                    raise ValueError(
                        f"core/kinds.py: {r.type} is immutable, but azure/resources.py has no PATCH of its tags"
                    )
                with arm(f"updating the tags of {r.type} {r.name}", r.id):
                    live = rs.to_json(patch_tags(az, r, body.get("tags", {})))
            elif kinds.of(r.type).write == "immutable":
                live = _submit(az, r, body, sleep, note, fresh_roles)
            else:
                live = _put(az, r, body, sleep)
            # A new assignment, or a new identity's principal, takes a while to reach Image Builder.
            fresh_roles = fresh_roles or r.type in (kinds.ROLE_ASSIGNMENT.arm_type, kinds.IDENTITY.arm_type)
            done.append(change)
            if on_change:
                on_change(change)
        _remember(values, paths, r, live)
    return done
