"""The generic ARM resource behaviour, specialised per type by subclasses.

A handler owns one resource type. The emulator routes PUT/GET/PATCH/DELETE, list and POST actions to it
after the checks every ARM request gets (api-version, subscription, parent, provider registration, caller
RBAC, schema). Subclasses override hooks: ``validate`` (reject), ``build`` (the stored body),
``render`` (the GET view), ``after_put``, ``before_delete``/``after_delete``, ``observe`` (a GET happened)
and ``actions`` (POST .../{action}).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from . import ids
from .lro import Operation
from .store import Resource
from .wire import ArmError, Request, Response, new_guid

if TYPE_CHECKING:
    from .app import ArmEmulator


def not_found(rid: str, rtype: str) -> ArmError:
    rg = ids.resource_group_of(rid)
    where = f" under resource group '{rg[1]}'" if rg else ""
    short = f"{rtype}/{ids.name_of(rid)}"
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource '{short}'{where} was not found. For more details please go to "
        "https://aka.ms/ARMResourceNotFoundFix",
    )


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """JSON merge patch (RFC 7386) as ARM applies it to PATCH bodies."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class TypeHandler:
    type: str = ""
    lro_put = False  # PUT/PATCH answered with Azure-AsyncOperation
    lro_delete = False
    location_style = False  # LRO via Location only (storage accounts), 202 without body
    requires_location = True
    has_etag = False
    put_status_new, put_status_existing = 201, 200
    patch_status = 200
    delete_status = 200
    actions: dict[str, str] = {}  # POST action name -> method name, e.g. {"listKeys": "list_keys"}

    # ---- hooks

    def validate(
        self, arm: ArmEmulator, rid: str, body: dict[str, Any], existing: Resource | None, req: Request
    ) -> None:
        """Raise ArmError for what the resource provider would reject."""

    def build(self, arm: ArmEmulator, rid: str, body: dict[str, Any], existing: Resource | None) -> dict[str, Any]:
        stored = {k: copy.deepcopy(v) for k, v in body.items() if k not in ("id", "name", "type", "etag")}
        stored = {"id": rid, "name": ids.name_of(rid), "type": self.type, **stored}
        if "location" in stored:
            stored["location"] = str(stored["location"]).replace(" ", "").lower()
        props = stored.setdefault("properties", {})
        props.pop("provisioningState", None)
        self.fill(arm, rid, props, existing)
        return stored

    def fill(self, arm: ArmEmulator, rid: str, props: dict[str, Any], existing: Resource | None) -> None:
        """Add read-only properties (ids, endpoints) the provider computes."""

    def render(self, arm: ArmEmulator, res: Resource) -> dict[str, Any]:
        return copy.deepcopy(res.body)

    def after_put(self, arm: ArmEmulator, res: Resource, created: bool) -> None: ...

    def before_delete(self, arm: ArmEmulator, res: Resource) -> None: ...

    def after_delete(self, arm: ArmEmulator, res: Resource) -> None: ...

    def observe(self, arm: ArmEmulator, res: Resource) -> None:
        """Called on every GET of the resource (Image Builder advances builds on it)."""

    def patch_check(self, arm: ArmEmulator, res: Resource, body: dict[str, Any]) -> None: ...

    def list_items(self, arm: ArmEmulator, scope: str, req: Request) -> list[Resource]:
        return arm.store.of_type(self.type, scope)

    # ---- generic operations

    def put(self, arm: ArmEmulator, rid: str, body: dict[str, Any], req: Request) -> Response:
        existing = arm.store.get(rid)
        if existing is not None:
            rid = existing.id  # ARM keeps the casing of the first PUT
            if existing.properties.get("provisioningState") in ("Creating", "Updating", "Deleting"):
                raise ArmError(
                    409,
                    "AnotherOperationInProgress",
                    f"Another operation on this or dependent resource is in progress. "
                    f"Resource '{ids.name_of(rid)}' is in state "
                    f"'{existing.properties['provisioningState']}'.",
                )
        if self.requires_location and not body.get("location"):
            raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
        self.validate(arm, rid, body, existing, req)
        stored = self.build(arm, rid, body, existing)
        if self.has_etag:
            stored["etag"] = f'W/"{new_guid()}"'
        res = Resource(rid, self.type, stored, dict(existing.meta) if existing else {})
        res.meta["spec"] = copy.deepcopy(body)
        arm.store.put(res)
        self.after_put(arm, res, existing is None)
        return self._finish_write(arm, res, existing is None, req)

    def _finish_write(
        self, arm: ArmEmulator, res: Resource, created: bool, req: Request, status: int | None = None
    ) -> Response:
        code = status or (self.put_status_new if created else self.put_status_existing)
        if not (self.lro_put or self.location_style):
            res.properties["provisioningState"] = "Succeeded"
            return Response(code, self.render(arm, res))
        res.properties["provisioningState"] = "Creating" if created else "Updating"

        def done() -> dict | None:
            res.properties["provisioningState"] = "Succeeded"
            error = self.on_provisioned(arm, res)
            if error:  # the provider refused it after accepting the request: a Failed resource stays
                res.properties["provisioningState"] = "Failed"
            return error

        op = self.start_op(
            arm,
            res.id,
            arm.ops.countdown(arm.config.lro_polls, done),
            result=lambda: Response(200, self.render(arm, res)),
        )
        if self.location_style:
            return Response(202, None, arm.ops.headers(op, req.base_url, location=True, async_op=False))
        return Response(code, self.render(arm, res), arm.ops.headers(op, req.base_url))

    def on_provisioned(self, arm: ArmEmulator, res: Resource) -> dict | None:
        """The create/update LRO completed; an ARM error dict fails it (the resource stays, Failed)."""
        return None

    def start_op(self, arm: ArmEmulator, rid: str, poll, result=None, error_status: int = 400) -> Operation:
        namespace = self.type.split("/")[0]
        res = arm.store.get(rid)
        location = (res.body.get("location") if res else None) or arm.config.default_location
        return arm.ops.start(
            ids.subscription_of(rid) or arm.subscription_id,
            namespace,
            poll,
            location=location,
            result=result,
            error_status=error_status,
        )

    def get(self, arm: ArmEmulator, rid: str, req: Request) -> Response:
        res = self.require(arm, rid)
        self.observe(arm, res)
        return Response(200, self.render(arm, res))

    def require(self, arm: ArmEmulator, rid: str) -> Resource:
        res = arm.store.get(rid)
        if res is None:
            raise not_found(rid, self.type)
        return res

    def patch(self, arm: ArmEmulator, rid: str, body: dict[str, Any], req: Request) -> Response:
        res = self.require(arm, rid)
        self.patch_check(arm, res, body)
        merged = deep_merge(res.meta.get("spec") or res.body, body)
        return self.put_merged(arm, res, merged, req)

    def put_merged(self, arm: ArmEmulator, res: Resource, merged: dict[str, Any], req: Request) -> Response:
        self.validate(arm, res.id, merged, res, req)
        stored = self.build(arm, res.id, merged, res)
        res.body = stored
        res.meta["spec"] = merged
        self.after_put(arm, res, False)
        return self._finish_write(arm, res, False, req, status=self.patch_status)

    def delete(self, arm: ArmEmulator, rid: str, req: Request) -> Response:
        res = arm.store.get(rid)
        if res is None:
            return Response(204)
        self.before_delete(arm, res)
        if not self.lro_delete:
            arm.remove(res)
            return Response(self.delete_status, self.render(arm, res) if self.delete_status == 200 else None)
        res.properties["provisioningState"] = "Deleting"

        def done() -> dict | None:
            arm.remove(res)
            return None

        op = self.start_op(arm, res.id, arm.ops.countdown(arm.config.lro_polls, done))
        return Response(202, None, arm.ops.headers(op, req.base_url, location=True))

    def action(self, arm: ArmEmulator, rid: str, name: str, req: Request) -> Response:
        method = {k.lower(): v for k, v in self.actions.items()}.get(name.lower())
        if method is None:
            raise ArmError(
                404,
                "InvalidResourceType",
                f"The resource type '{self.type}/{name}' could not be found "
                f"in the namespace '{self.type.split('/')[0]}'.",
            )
        return getattr(self, method)(arm, self.require(arm, rid), req)
