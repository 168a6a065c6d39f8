"""Microsoft.Authorization: custom role definitions, role assignments at any scope, and permissions."""

from __future__ import annotations

import copy
import re

from . import ids
from .handlers import TypeHandler
from .lro import now_iso
from .rbac import BUILTIN_ROLES, ROLE_ASSIGNMENTS, ROLE_DEFINITIONS, builtin_definition
from .store import Resource
from .wire import ArmError, Request, Response

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def _filter_terms(expr: str | None) -> dict[str, str]:
    """Parse ARM's small OData subset: ``a eq 'x' and atScope() and assignedTo('y')``."""
    terms: dict[str, str] = {}
    for part in re.split(r"\s+and\s+", expr or "", flags=re.IGNORECASE):
        part = part.strip()
        if not part:
            continue
        if m := re.fullmatch(r"(\w+)\s+eq\s+'([^']*)'", part, re.IGNORECASE):
            terms[m[1].lower()] = m[2]
        elif m := re.fullmatch(r"(\w+)\(\s*(?:'([^']*)')?\s*\)", part):
            terms[m[1].lower() + "()"] = m[2] or ""
        else:
            raise ArmError(400, "InvalidFilterInQueryString", f"The filter '{expr}' is not supported.")
    return terms


class RoleDefinitionHandler(TypeHandler):
    type = ROLE_DEFINITIONS
    requires_location = False
    put_status_new = put_status_existing = 201

    def _find(self, arm, guid: str) -> Resource | None:
        for res in arm.store.of_type(self.type):
            if res.name.lower() == guid.lower():
                return res
        return None

    def put(self, arm, rid, body, req):
        guid = ids.name_of(rid)
        if not _GUID.match(guid):
            raise ArmError(
                400,
                "InvalidRoleDefinitionId",
                f"The role definition ID '{guid}' is not valid. The role definition ID must be a GUID.",
            )
        if guid.lower() in BUILTIN_ROLES:
            raise ArmError(403, "AuthorizationFailed", f"Built-in role '{guid}' cannot be modified.")
        existing = self._find(arm, guid)
        if existing is not None and not ids.same(existing.id, rid):
            rid = existing.id
        return super().put(arm, rid, body, req)

    def validate(self, arm, rid, body, existing, req):
        props = body.get("properties") or {}
        name = props.get("roleName")
        if not name:
            raise ArmError(400, "InvalidRoleDefinition", "The role definition must have a roleName.")
        scopes = props.get("assignableScopes") or []
        if not scopes:
            raise ArmError(
                400, "MissingAssignableScopes", "The role definition must have at least one assignable scope."
            )
        for scope in scopes:
            if scope.strip() == "/":
                raise ArmError(
                    400,
                    "InvalidAssignableScope",
                    "The root scope '/' is not a valid assignable scope for a custom role.",
                )
        for other in arm.store.of_type(self.type):
            if (
                other.name.lower() != ids.name_of(rid).lower()
                and other.properties.get("roleName", "").lower() == name.lower()
            ):
                raise ArmError(
                    409,
                    "RoleDefinitionWithSameNameExists",
                    "A custom role with the same name already exists in this directory. Use a different name.",
                )
        if any(v[0].lower() == name.lower() for v in BUILTIN_ROLES.values()):
            raise ArmError(
                409,
                "RoleDefinitionWithSameNameExists",
                f"A built-in role named '{name}' already exists. Use a different name.",
            )

    def fill(self, arm, rid, props, existing):
        props["type"] = "CustomRole"
        old = existing.properties if existing else {}
        props["createdOn"] = old.get("createdOn") or now_iso()
        props["createdBy"] = old.get("createdBy") or arm.current_caller
        props["updatedOn"] = now_iso()
        props["updatedBy"] = arm.current_caller
        for block in props.get("permissions") or []:
            for key in ("actions", "notActions", "dataActions", "notDataActions"):
                block.setdefault(key, [])

    def get(self, arm, rid, req):
        guid = ids.name_of(rid)
        res = self._find(arm, guid)
        if res is not None:
            return Response(200, self.render(arm, res))
        builtin = builtin_definition(guid, ids.subscription_of(rid) or arm.subscription_id)
        if builtin is None:
            raise ArmError(
                404,
                "RoleDefinitionDoesNotExist",
                f"The specified role definition with ID '{guid}' does not exist.",
            )
        return Response(200, builtin)

    def delete(self, arm, rid, req):
        res = self._find(arm, ids.name_of(rid))
        if res is None:
            return Response(204)
        if any(
            ids.name_of(a.properties["roleDefinitionId"]).lower() == res.name.lower()
            for a in arm.store.of_type(ROLE_ASSIGNMENTS)
        ):
            raise ArmError(
                409,
                "RoleDefinitionHasAssignments",
                "There are existing role assignments referencing role (code: RoleDefinitionHasAssignments).",
            )
        arm.remove(res)
        return Response(200, self.render(arm, res))

    def list_response(self, arm, scope: str, req: Request) -> list[dict]:
        terms = _filter_terms(req.q("$filter"))
        out = []
        for res in arm.store.of_type(self.type):
            assignable = res.properties.get("assignableScopes") or []
            if scope and not any(ids.contains(a, scope) or ids.contains(scope, a) for a in assignable):
                continue
            out.append(self.render(arm, res))
        if terms.get("type", "").lower() != "customrole":
            out += [builtin_definition(g, ids.subscription_of(scope) or arm.subscription_id) for g in BUILTIN_ROLES]
        if "rolename" in terms:
            out = [d for d in out if d["properties"]["roleName"].lower() == terms["rolename"].lower()]
        return out


class RoleAssignmentHandler(TypeHandler):
    type = ROLE_ASSIGNMENTS
    requires_location = False

    def put(self, arm, rid, body, req):
        guid = ids.name_of(rid)
        if not _GUID.match(guid):
            raise ArmError(
                400,
                "InvalidRoleAssignmentId",
                f"The role assignment ID '{guid}' is not valid. The role assignment ID must be a GUID.",
            )
        existing = arm.store.get(rid)
        props = body.get("properties") or {}
        if existing is not None:
            old = existing.properties
            if (
                ids.same(old["roleDefinitionId"], props.get("roleDefinitionId", ""))
                and old["principalId"].lower() == str(props.get("principalId", "")).lower()
            ):
                return Response(201, self.render(arm, existing))
            raise ArmError(
                409,
                "RoleAssignmentUpdateNotPermitted",
                "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
            )
        resp = super().put(arm, rid, body, req)
        if req.headers.get("authorization"):  # over HTTP, not seeded: providers see it only after a delay
            arm.rbac.created(rid)
        return resp

    def validate(self, arm, rid, body, existing, req):
        props = body.get("properties") or {}
        role_id, principal = props.get("roleDefinitionId"), props.get("principalId")
        if not role_id or not principal:
            raise ArmError(
                400,
                "InvalidRoleAssignmentRequest",
                "The request must set properties.roleDefinitionId and properties.principalId.",
            )
        scope = ids.parse(rid).scope or "/"
        role = arm.rbac.role_definition(role_id, ids.subscription_of(scope))
        if role is None:
            raise ArmError(
                400,
                "RoleDefinitionDoesNotExist",
                f"The specified role definition with ID '{ids.name_of(role_id)}' does not exist.",
            )
        if principal.lower() not in arm.principals and not props.get("principalType"):
            raise ArmError(
                400,
                "PrincipalNotFound",
                f"Principal {principal.replace('-', '')} does not exist in the directory {arm.tenant_id}. "
                "Check that you have the correct principal ID. If you are creating this principal and "
                "then immediately assigning a role, this error might be related to a replication delay. "
                "In this case, set the role assignment principalType property to a value, such as "
                "ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
            )
        assignable = role["properties"].get("assignableScopes") or ["/"]
        if not any(ids.contains(a if a != "/" else "", scope) for a in assignable):
            raise ArmError(
                403,
                "RoleAssignmentScopeNotAssignable",
                f"The role definition '{ids.name_of(role_id)}' is not assignable at scope '{scope}'; "
                f"its assignable scopes are {assignable}.",
            )
        for other in arm.store.of_type(self.type):
            o = other.properties
            if (
                ids.same(o["scope"], scope)
                and o["principalId"].lower() == principal.lower()
                and ids.name_of(o["roleDefinitionId"]).lower() == ids.name_of(role_id).lower()
            ):
                raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists.")

    def fill(self, arm, rid, props, existing):
        props["scope"] = ids.parse(rid).scope or "/"
        props.setdefault("principalType", arm.principals.get(props["principalId"].lower(), "ServicePrincipal"))
        props["createdOn"] = props["updatedOn"] = now_iso()
        props["createdBy"] = props["updatedBy"] = arm.current_caller

    def list_response(self, arm, scope: str, req: Request) -> list[dict]:
        terms = _filter_terms(req.q("$filter"))
        principal = terms.get("principalid") or terms.get("assignedto()")
        at_scope = "atscope()" in terms
        out = []
        for res in arm.store.of_type(self.type):
            p = res.properties
            if principal and p["principalId"].lower() != principal.lower():
                continue
            above = ids.contains(p["scope"] if p["scope"] != "/" else "", scope)
            below = ids.contains(scope, p["scope"])
            if above or (below and not at_scope):
                out.append(self.render(arm, res))
        return out

    def delete(self, arm, rid, req):
        res = arm.store.get(rid)
        if res is None:
            return Response(204)
        arm.remove(res)
        return Response(200, self.render(arm, res))

    def get(self, arm, rid, req):
        res = arm.store.get(rid)
        if res is None:
            raise ArmError(404, "RoleAssignmentNotFound", f"The role assignment '{ids.name_of(rid)}' is not found.")
        return Response(200, self.render(arm, res))


def permissions_response(arm, scope: str) -> Response:
    """``GET {scope}/providers/Microsoft.Authorization/permissions``: the caller's permission blocks."""
    if arm.config.caller_permissions is not None:
        blocks = copy.deepcopy(arm.config.caller_permissions)
    else:
        blocks = copy.deepcopy(arm.rbac.permission_blocks(arm.current_caller, scope))
    return Response(200, {"value": blocks})


ALL = [RoleDefinitionHandler, RoleAssignmentHandler]
