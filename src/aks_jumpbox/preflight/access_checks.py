"""Who may do what: the build identity's role assignments, and the caller's rights to deploy them.

The identity's assignments are judged by what they grant (role definitions resolved, wildcards and
notActions applied, assignments at or above the needed scope), not by role names: a missing
``Microsoft.Compute/images/write`` otherwise surfaces only when the build distributes its image,
after the whole build ran. A gap that `deploy` closes by itself (the caller can create the planned
assignment) is a warning; one the caller cannot close is a failure.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from aks_jumpbox.core import kinds
from aks_jumpbox.core.model import Resource
from aks_jumpbox.preflight._arm import ResourceFormatError, id_of, props
from aks_jumpbox.preflight.context import CheckContext, skipped
from aks_jumpbox.preflight.findings import Finding, Status
from aks_jumpbox.preflight.permissions import Grant, allowed, blocks_of_role, grants_from_blocks, missing, scope_covers
from aks_jumpbox.preflight.source import Doc, Unavailable

ASSIGNMENTS = "Microsoft.Authorization/roleAssignments"
ROLE_DEFINITIONS = "Microsoft.Authorization/roleDefinitions"
WRITE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments/write"
WRITE_ROLE = "Microsoft.Authorization/roleDefinitions/write"


def _scope_of(doc: Doc) -> str:
    scope = props(doc).get("scope")
    if isinstance(scope, str) and scope:
        return scope
    return id_of(doc).split("/providers/Microsoft.Authorization/roleAssignments/")[0] or "/"


def _caller_grants(ctx: CheckContext, scope: str) -> tuple[Grant, ...]:
    return grants_from_blocks(ctx.src.permissions(scope), "your permissions", f"permissions at {scope}")


def _describe_grant(g: Grant, action: str) -> str:
    return f"{action} via '{g.matching(action)}' of {g.origin}"


def _describe_grants(grants: Sequence[Grant], actions: list[str]) -> str:
    """Which grant allows each action (called once none is missing)."""
    return "; ".join(_describe_grant(g, x) for x in actions if (g := allowed(grants, x)) is not None)


def _identity_findings(
    ctx: CheckContext, principal: str | None, identity: Resource, assignments: list[Resource]
) -> list[Finding]:
    out: list[Finding] = []
    if principal is None:
        return out
    try:
        held = ctx.src.role_assignments(ctx.subscription, principal)
    except Unavailable as exc:
        return [
            skipped(f"identity.role.{a.key.split('.', 1)[1]}", f"the role assignments of {identity.name}", exc)
            for a in assignments
        ]
    definitions: dict[str, tuple[Grant, ...] | Unavailable | None] = {}
    for a in assignments:
        declared = kinds.assignment(a.key)  # what it must grant, and what lacking it costs
        fid = f"identity.role.{a.key.split('.', 1)[1]}"
        actions = declared.actions(ctx.spec)
        grants: list[Grant] = []
        notes: list[str] = []
        for h in held:
            scope = _scope_of(h)
            if not scope_covers(scope, a.scope):
                continue
            rd_id = str(props(h).get("roleDefinitionId", ""))
            if rd_id.lower() not in definitions:
                try:
                    doc = ctx.src.resource(rd_id)
                    definitions[rd_id.lower()] = blocks_of_role(doc) if doc is not None else None
                except Unavailable as exc:
                    definitions[rd_id.lower()] = exc
            rd = definitions[rd_id.lower()]
            if isinstance(rd, Unavailable):
                notes.append(f"role definition {rd_id.rsplit('/', 1)[-1]} not read ({rd.reason})")
            elif rd is None:
                notes.append(f"role definition {rd_id.rsplit('/', 1)[-1]} (assigned at {scope}) does not exist")
            else:
                grants += [Grant(g.actions, g.not_actions, f"{g.origin} at {scope}") for g in rd]
        lacking = missing(grants, actions)
        unread = [rd for rd in definitions.values() if isinstance(rd, Unavailable)]
        if lacking and unread:
            out.append(skipped(fid, f"what the role assignments of {identity.name} on {a.scope} grant", unread[0]))
            continue
        if not lacking:
            evidence = _describe_grants(grants, actions)
            out.append(
                Finding(fid, Status.PASS, f"identity {identity.name} may {', '.join(actions)} on {a.scope}", evidence)
            )
            continue
        evidence = (
            f"{len(grants)} permission blocks from assignments at or above {a.scope}"
            + (f"; {'; '.join(notes)}" if notes else "")
            + (f"; granted: {', '.join(x for x in actions if x not in lacking)}" if len(lacking) < len(actions) else "")
        )
        try:
            can = allowed(_caller_grants(ctx, a.scope), WRITE_ASSIGNMENT) is not None
        except Unavailable:
            can = False
        role_id = a.body["properties"]["roleDefinitionId"]
        msg = f"identity {identity.name} lacks {', '.join(lacking)} on {a.scope}"
        if can:
            out.append(
                Finding(
                    fid,
                    Status.WARN,
                    f"{msg}; `aks-jumpbox deploy` (run by `build`) creates the planned assignment, which you may do",
                    evidence,
                    "aks-jumpbox deploy",
                )
            )
        else:
            out.append(
                Finding(
                    fid,
                    Status.FAIL,
                    f"{msg}, and you cannot create role assignments there: {declared.when_missing}",
                    evidence,
                    f"Have an Owner or Role Based Access Control Administrator of the scope run: az role assignment "
                    f"create --assignee-object-id {principal} --assignee-principal-type ServicePrincipal "
                    f"--role {role_id} --scope {shlex.quote(a.scope)}",
                )
            )
    return out


def _caller_assignment_findings(ctx: CheckContext, principal: str | None, assignments: list[Resource]) -> list[Finding]:
    out: list[Finding] = []
    for a in assignments:
        fid = f"caller.assign.{a.key.split('.', 1)[1]}"
        try:
            live = ctx.src.resource(a.id)
            if live is not None and (
                principal is None or str(props(live).get("principalId", "")).lower() == principal.lower()
            ):
                out.append(
                    Finding(
                        fid,
                        Status.PASS,
                        f"the planned role assignment on {a.scope} exists; deploy writes nothing",
                        id_of(live) or a.id,
                    )
                )
                continue
            grant = allowed(_caller_grants(ctx, a.scope), WRITE_ASSIGNMENT)
        except Unavailable as exc:
            out.append(skipped(fid, f"whether you can create role assignments on {a.scope}", exc))
            continue
        if grant is not None:
            out.append(
                Finding(
                    fid,
                    Status.PASS,
                    f"you can create the planned role assignment on {a.scope}",
                    _describe_grant(grant, WRITE_ASSIGNMENT) + f" at {a.scope}",
                )
            )
        else:
            out.append(
                Finding(
                    fid,
                    Status.FAIL,
                    f"you cannot create role assignments on {a.scope}, which deploy must do ({a.purpose})",
                    f"none of your permission blocks at {a.scope} grants {WRITE_ASSIGNMENT}",
                    f"Ask an Owner, User Access Administrator or Role Based Access Control Administrator of "
                    f"{a.scope} to run `aks-jumpbox deploy` once, or to grant you such a role there",
                )
            )
    return out


def _caller_role_definition_findings(ctx: CheckContext, roles: list[Resource]) -> list[Finding]:
    if not roles:
        return []
    fid = "caller.role-definitions"
    scope = roles[0].scope
    try:
        absent = []
        for r in roles:
            live = ctx.src.resource(r.id)
            planned = r.body["properties"]["permissions"][0]["actions"]
            have = (props(live).get("permissions") or [{}])[0].get("actions") if live is not None else None
            if have is None or sorted(x.lower() for x in have) != sorted(x.lower() for x in planned):
                absent.append(r)
        if not absent:
            return [
                Finding(
                    fid,
                    Status.PASS,
                    "the planned custom roles exist as planned; deploy writes none",
                    ", ".join(r.name for r in roles),
                )
            ]
        grant = allowed(_caller_grants(ctx, scope), WRITE_ROLE)
    except Unavailable as exc:
        return [skipped(fid, "whether you can write the custom role definitions", exc)]
    names = ", ".join(r.body["properties"]["roleName"] for r in absent)
    if grant is not None:
        return [
            Finding(
                fid,
                Status.PASS,
                f"you can write the custom roles deploy creates or updates ({names})",
                _describe_grant(grant, WRITE_ROLE) + f" at {scope}",
            )
        ]
    return [
        Finding(
            fid,
            Status.FAIL,
            f"deploy must write custom roles ({names}) but you cannot write role definitions",
            f"none of your permission blocks at {scope} grants {WRITE_ROLE}",
            "Ask an Owner or User Access Administrator of the subscription to run `aks-jumpbox deploy` once, or "
            "set identity.roles: builtin in jumpbox.yaml (broader built-in roles; not recommended)",
        )
    ]


def _caller_build_findings(ctx: CheckContext, identity_exists: bool | None) -> list[Finding]:
    plan = ctx.plan
    scope = plan.resource("identity").scope
    fid = "caller.build-resource-group"
    actions = [
        "Microsoft.VirtualMachineImages/imageTemplates/write",
        "Microsoft.VirtualMachineImages/imageTemplates/run/action",
    ]
    if identity_exists is not True:
        actions.insert(0, "Microsoft.ManagedIdentity/userAssignedIdentities/write")
    try:
        grants = _caller_grants(ctx, scope)
    except Unavailable as exc:
        return [skipped(fid, f"your permissions on {scope}", exc)]
    lacking = missing(grants, actions)
    if not lacking:
        return [
            Finding(
                fid,
                Status.PASS,
                f"you can create and run the image template in {plan.spec.build.resource_group}",
                _describe_grants(grants, actions),
            )
        ]
    return [
        Finding(
            fid,
            Status.FAIL,
            f"you cannot {', '.join(lacking)} in resource group {plan.spec.build.resource_group}",
            f"your permission blocks at {scope} grant none of: {', '.join(lacking)}",
            f"Ask for Contributor (or a role with these actions) on {scope}",
        )
    ]


def access_checks(ctx: CheckContext) -> list[Finding]:
    plan = ctx.plan
    identity = plan.resource("identity")
    assignments = [r for r in plan.resources if r.type == ASSIGNMENTS]
    roles = [r for r in plan.resources if r.type == ROLE_DEFINITIONS]
    out: list[Finding] = []
    principal: str | None = None
    exists: bool | None = None
    try:
        doc = ctx.src.resource(identity.id)
        exists = doc is not None
        if doc is not None:
            principal = props(doc).get("principalId")
            if principal is not None and not isinstance(principal, str):
                raise ResourceFormatError(
                    f"managed identity {identity.name}: principalId: expected a GUID, got {principal!r:.200}"
                )
            out.append(
                Finding(
                    "identity.exists",
                    Status.PASS,
                    f"the build identity {identity.name} exists",
                    f"principalId {principal}",
                )
            )
        else:
            out.append(
                Finding(
                    "identity.exists",
                    Status.SKIP,
                    f"the build identity {identity.name} does not exist yet: `aks-jumpbox deploy` (run by "
                    "`build`) creates it and its role assignments",
                    f"GET {identity.id}: not found",
                )
            )
    except Unavailable as exc:
        out.append(skipped("identity.exists", f"the build identity {identity.name}", exc))
    out += _identity_findings(ctx, principal, identity, assignments)
    out += _caller_role_definition_findings(ctx, roles)
    out += _caller_assignment_findings(ctx, principal, assignments)
    out += _caller_build_findings(ctx, exists)
    return out
