"""The ARM emulator: routing, the checks every ARM request gets, request counting, seeding helpers.

``ArmEmulator.handle(Request) -> Response`` is what the HTTPS transport calls. State lives in memory:
``store`` (resources), ``ops`` (long-running operations), ``rbac``, ``providers``, ``faults``,
``imagebuilder`` (run engine) and ``blobs`` (where storage accounts keep blobs: Azurite or memory).
"""

from __future__ import annotations

import base64
import collections
import copy
import json
import re
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from . import authorization, ids, imagebuilder, resources, swaggercheck
from .blobs import MemoryBlobs
from .faults import Faults
from .handlers import TypeHandler, not_found
from .lro import Operations
from .marketplace import Marketplace
from .providers import Providers
from .rbac import OWNER, ROLE_ASSIGNMENTS, Rbac
from .schemas import Validator, schema_version
from .store import Resource, Store
from .wire import ArmError, DropConnection, Request, Response, new_guid

RESOURCE_GROUPS = "Microsoft.Resources/resourceGroups"
_OP_RE = re.compile(
    r"^/subscriptions/([^/]+)/providers/([^/]+)/locations/([^/]+)/(operations|operationresults)/([^/]+)$",
    re.IGNORECASE,
)


@dataclass
class EmulatorConfig:
    subscription_id: str = "6f2b4a7e-3c1d-4e5f-9a8b-0c1d2e3f4a5b"
    tenant_id: str = "a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
    # The caller when a token carries no ``oid`` (the fake az's tokens carry this one).
    caller_principal_id: str = "0c3c5f3e-8f4a-4d7b-9a51-5d1f0b7e2a10"
    default_location: str = "westeurope"
    lro_polls: int = 1  # InProgress answers before an LRO (other than a build) completes
    poll_delay_ms: int = 10  # retry-after-ms on LRO responses
    enforce_caller_rbac: bool = True  # 403 AuthorizationFailed when the caller's roles lack the action
    caller_permissions: list[dict] | None = None  # override what the permissions API reports for the caller
    enforce_blob_data_rbac: bool = True  # bearer-token blob access needs a data role (Azurite via BlobGateway)
    page_size: int | None = None  # split lists into pages with nextLink
    validate_schemas: bool = True


@dataclass
class RequestRecord:
    method: str
    path: str
    kind: str  # resource type (+ "/action" or " (list)"), "operations", "providers", ...
    status: int = 0  # 0: connection dropped
    fault: str | None = None
    query: dict[str, str] = field(default_factory=dict)


class ArmEmulator:
    def __init__(self, config: EmulatorConfig | None = None, blobs: Any = None) -> None:
        self.config = config or EmulatorConfig()
        self.subscription_id = self.config.subscription_id
        self.tenant_id = self.config.tenant_id
        self.subscriptions = {self.subscription_id.lower(): self.subscription_id}
        self.store = Store()
        self.rbac = Rbac(self.store)
        self.ops = Operations(self.config.poll_delay_ms)
        self.providers = Providers(self.subscription_id)
        self.marketplace = Marketplace()
        self.faults = Faults()
        self.validator = Validator()
        self.blobs = blobs or MemoryBlobs()
        self.imagebuilder = imagebuilder.ImageBuilder(self)
        self.lock = threading.RLock()
        self.requests: list[RequestRecord] = []
        self.internal_errors: list[str] = []  # emulator bugs (answered 500); tests should keep this empty
        # image template requests and answers the REST API spec rejects (swaggercheck.py); kept empty too
        self.swagger_violations: list[str] = []
        self.token_audiences: set[str] = set()
        self.principals: dict[str, str] = {self.config.caller_principal_id.lower(): "User"}
        self.current_caller = self.config.caller_principal_id
        self.base_url = ""
        self._handlers: dict[str, TypeHandler] = {}
        for cls in resources.ALL + authorization.ALL + imagebuilder.ALL:
            self._handlers[cls.type.lower()] = cls()
        # The caller owns the subscription, as a fresh `az login` user typically does.
        self.assign_role(self.config.caller_principal_id, f"/subscriptions/{self.subscription_id}", OWNER, "User")

    # ------------------------------------------------------------------ public helpers for tests

    def handler(self, rtype: str) -> TypeHandler:
        h = self._handlers.get(rtype.lower())
        if h is None:
            namespace = rtype.split("/")[0]
            if not any(k.startswith(namespace.lower() + "/") for k in self._handlers):
                raise ArmError(
                    400,
                    "NoRegisteredProviderFound",
                    f"No registered resource provider found for type '{rtype}'.",
                )
            raise ArmError(
                400,
                "InvalidResourceType",
                f"The resource type '{'/'.join(rtype.split('/')[1:])}' could not be found in the "
                f"namespace '{namespace}'.",
            )
        return h

    def get(self, rid: str) -> dict[str, Any] | None:
        """The resource as GET would show it (without advancing builds), or None."""
        with self.lock:
            res = self.store.get(rid)
            return self.handler(res.type).render(self, res) if res else None

    def seed(self, rid: str, body: dict[str, Any], api_version: str | None = None) -> dict[str, Any]:
        """Create a resource as if its LRO had completed, after the same validation as a PUT."""
        with self.lock:
            rtype = self._type_of(rid)
            if self.config.validate_schemas:
                self._schema_check(rtype, api_version or schema_version(rtype, "9999") or "", rid, body)
            return self.put_internal(rid, body)

    def seed_resource_group(self, name: str, location: str | None = None) -> dict[str, Any]:
        return self.seed(ids.rg_id(self.subscription_id, name), {"location": location or self.config.default_location})

    def seed_build_network(
        self,
        resource_group: str,
        vnet: str = "vnet-build",
        *,
        location: str | None = None,
        isolated: bool = True,
        address_space: str = "10.40.0.0/16",
    ) -> dict[str, str]:
        """A VNet ready for Image Builder: build subnet plus (isolated) a delegated ACI subnet, or (proxy
        model) a build subnet with privateLinkServiceNetworkPolicies Disabled. Returns the IDs."""
        location = location or self.config.default_location
        if self.store.get(ids.rg_id(self.subscription_id, resource_group)) is None:
            self.seed_resource_group(resource_group, location)
        base = address_space.split("/")[0].rsplit(".", 2)[0]
        build = {"name": "build", "properties": {"addressPrefix": f"{base}.1.0/24"}}
        subnets = [build]
        if isolated:
            subnets.append(
                {
                    "name": "aci",
                    "properties": {
                        "addressPrefix": f"{base}.2.0/24",
                        "delegations": [
                            {
                                "name": "aci",
                                "properties": {"serviceName": "Microsoft.ContainerInstance/containerGroups"},
                            }
                        ],
                    },
                }
            )
        else:
            build["properties"]["privateLinkServiceNetworkPolicies"] = "Disabled"
        vid = f"{ids.rg_id(self.subscription_id, resource_group)}/providers/Microsoft.Network/virtualNetworks/{vnet}"
        self.seed(
            vid,
            {
                "location": location,
                "properties": {"addressSpace": {"addressPrefixes": [address_space]}, "subnets": subnets},
            },
        )
        out = {"vnet": vid, "build_subnet": f"{vid}/subnets/build"}
        if isolated:
            out["aci_subnet"] = f"{vid}/subnets/aci"
        return out

    def assign_role(
        self,
        principal_id: str,
        scope: str,
        role_definition: str,
        principal_type: str | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Add a role assignment directly (no RBAC check on the caller). ``role_definition``: GUID or ID."""
        guid = ids.name_of(role_definition)
        sub = ids.subscription_of(scope) or self.subscription_id
        body = {
            "properties": {
                "roleDefinitionId": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
                "principalId": principal_id,
            }
        }
        if principal_type:
            body["properties"]["principalType"] = principal_type
        rid = f"{scope.rstrip('/')}/providers/Microsoft.Authorization/roleAssignments/{name or new_guid()}"
        return self.put_internal(rid, body)

    def remove_assignments(self, principal_id: str) -> int:
        gone = self.rbac.assignments(principal_id)
        for ra in gone:
            self.store.delete(ra.id)
        return len(gone)

    def count(self, method: str | None = None, kind: str | None = None, path: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method.upper())
            and (kind is None or r.kind.lower() == kind.lower())
            and (path is None or re.search(path, r.path, re.IGNORECASE))
        )

    def counts(self) -> collections.Counter:
        """Requests per "METHOD kind", e.g. ``GET operations`` or ``PUT Microsoft.Authorization/roleAssignments``."""
        return collections.Counter(f"{r.method} {r.kind}" for r in self.requests)

    def reset_counts(self) -> None:
        self.requests.clear()

    # ------------------------------------------------------------------ internal state changes

    def put_internal(self, rid: str, body: dict[str, Any]) -> dict[str, Any]:
        """PUT through the type's handler with no caller checks, completing its LRO at once."""
        with self.lock:
            rtype = self._type_of(rid)
            handler = self.handler(rtype)
            req = Request("PUT", rid, {}, {}, json.dumps(body).encode(), self.base_url)
            handler.put(self, rid, copy.deepcopy(body), req)
            res = self.store.get(rid)
            assert res is not None
            if res.properties.get("provisioningState") != "Succeeded":
                res.properties["provisioningState"] = "Succeeded"
                if handler.on_provisioned(self, res):
                    res.properties["provisioningState"] = "Failed"
            return handler.render(self, res)

    def remove(self, res: Resource) -> None:
        """Delete a resource with its children and extension resources, running their delete hooks."""
        for gone in self.store.delete_under(res.id):
            h = self._handlers.get(gone.type.lower())
            if h is not None:
                h.after_delete(self, gone)

    def _type_of(self, rid: str) -> str:
        p = ids.parse(rid)
        if p is None:
            if ids.resource_group_of(rid) and ids.same(rid, ids.rg_id(*ids.resource_group_of(rid))):
                return RESOURCE_GROUPS
            raise ArmError(400, "InvalidResourceId", f"'{rid}' is not a resource ID.")
        return p.full_type

    # ------------------------------------------------------------------ transport entry point

    def handle(self, req: Request) -> Response:
        record = RequestRecord(req.method, req.path, self._classify(req), query=dict(req.query))
        with self.lock:
            self.requests.append(record)
        rule = self.faults.take(req)
        try:
            if rule is not None:
                record.fault = rule.kind if rule.kind in ("drop", "answer") else str(rule.status)
                self.faults.fire_before(rule)
            if rule is not None and rule.kind == "answer":
                resp = Response(rule.status, copy.deepcopy(rule.body))
            else:
                with self.lock:
                    resp = self.dispatch(req)
            if rule is not None and rule.kind == "drop":
                raise DropConnection()
        except ArmError as exc:
            resp = exc.response()
        except DropConnection:
            record.status = 0
            raise
        except Exception:  # an emulator bug: answer like ARM would, and keep the trace for the test
            self.internal_errors.append(traceback.format_exc())
            resp = Response(
                500,
                {
                    "error": {
                        "code": "InternalServerError",
                        "message": "The emulator failed; see arm_emulator.internal_errors.",
                    }
                },
            )
        try:
            self.swagger_violations += swaggercheck.check(req, resp)
        except Exception:  # a check that cannot read the body is a finding too
            last = traceback.format_exc().splitlines()[-1]
            self.swagger_violations.append(f"{req.method} {req.path}: {last}")
        resp.headers.setdefault("x-ms-request-id", new_guid())
        resp.headers.setdefault("x-ms-correlation-request-id", req.headers.get("x-ms-client-request-id", new_guid()))
        record.status = resp.status
        return resp

    def _classify(self, req: Request) -> str:
        path = req.path
        if m := _OP_RE.match(path):
            return "operations" if m[4].lower() == "operations" else "operationResults"
        segs = path.strip("/").split("/")
        low = [s.lower() for s in segs]
        if low[:1] == ["subscriptions"] and len(segs) <= 2:
            return "subscriptions"
        if low[:1] == ["subscriptions"] and len(segs) >= 3 and low[2] == "providers" and len(segs) <= 5:
            return "providers"
        if low[:1] == ["subscriptions"] and len(segs) in (3, 4) and low[2] == "resourcegroups":
            return RESOURCE_GROUPS + (" (list)" if len(segs) == 3 else "")
        p = ids.parse(path)
        if p is None:
            return "resources (list)" if low[-1:] == ["resources"] else "other"
        if p.tail and p.names:
            return f"{p.full_type}/{p.tail}" if req.method == "POST" else f"{p.collection_type} (list)"
        if p.tail:
            return f"{p.full_type} (list)"
        return p.full_type

    # ------------------------------------------------------------------ routing

    def dispatch(self, req: Request) -> Response:
        self._authenticate(req)
        if m := _OP_RE.match(req.path):
            if m[4].lower() == "operations":
                return self.ops.status_response(m[5])
            return self.ops.result_response(m[5], req.base_url)
        if not req.api_version:
            raise ArmError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        segs = req.path.strip("/").split("/")
        low = [s.lower() for s in segs]
        if low[0] != "subscriptions" and low[0] != "providers":
            raise ArmError(404, "NotFound", f"No HTTP resource was found that matches the request URI '{req.path}'.")
        if low[0] == "subscriptions":
            if len(segs) == 1:
                return self._list_response(req, [self._subscription_body(s) for s in self.subscriptions.values()])
            sub = self.subscriptions.get(low[1])
            if sub is None:
                raise ArmError(404, "SubscriptionNotFound", f"The subscription '{segs[1]}' could not be found.")
            if len(segs) == 2:
                return Response(200, self._subscription_body(sub))
            if low[2] == "resourcegroups" and len(segs) <= 5:
                return self._resource_groups(req, sub, segs)
            if low[2] == "resources" and len(segs) == 3:
                return self._list_resources(req, f"/subscriptions/{sub}")
            if low[2] == "providers" and (len(segs) <= 4 or (len(segs) == 5 and low[4] in ("register", "unregister"))):
                return self._providers(req, segs)
        p = ids.parse(req.path)
        if p is None:
            raise ArmError(404, "NotFound", f"No HTTP resource was found that matches the request URI '{req.path}'.")
        return self._generic(req, p)

    def _authenticate(self, req: Request) -> None:
        auth = req.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
        claims = _jwt_claims(auth[7:].strip())
        if claims.get("aud"):
            self.token_audiences.add(str(claims["aud"]))
        self.current_caller = str(claims.get("oid") or self.config.caller_principal_id)

    def _require(self, action: str, scope: str) -> None:
        if self.config.enforce_caller_rbac and not self.rbac.allowed(self.current_caller, scope, action):
            raise ArmError(
                403,
                "AuthorizationFailed",
                imagebuilder._auth_message(self.current_caller, self.current_caller, action, scope),
            )

    @staticmethod
    def _verb(method: str) -> str:
        return {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}[method]

    def _subscription_body(self, sub: str) -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{sub}",
            "subscriptionId": sub,
            "tenantId": self.tenant_id,
            "displayName": "aks-jumpbox emulator subscription",
            "state": "Enabled",
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "PayAsYouGo_2014-09-01",
                "spendingLimit": "Off",
            },
            "authorizationSource": "RoleBased",
        }

    def _resource_groups(self, req: Request, sub: str, segs: list[str]) -> Response:
        handler = self.handler(RESOURCE_GROUPS)
        if len(segs) == 3:
            self._require("Microsoft.Resources/subscriptions/resourceGroups/read", f"/subscriptions/{sub}")
            items = [handler.render(self, r) for r in self.store.of_type(RESOURCE_GROUPS, f"/subscriptions/{sub}")]
            return self._list_response(req, items)
        rid = ids.rg_id(sub, segs[3])
        if len(segs) == 5:
            if segs[4].lower() != "resources":
                raise ArmError(
                    404, "NotFound", f"No HTTP resource was found that matches the request URI '{req.path}'."
                )
            if self.store.get(rid) is None:
                raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{segs[3]}' could not be found.")
            return self._list_resources(req, rid)
        verb = self._verb(req.method) if req.method in ("GET", "HEAD", "PUT", "PATCH", "DELETE") else None
        if verb is None:
            raise ArmError(405, "MethodNotAllowed", f"The method '{req.method}' is not allowed on resource groups.")
        self._require(f"Microsoft.Resources/subscriptions/resourceGroups/{verb}", rid)
        if req.method == "HEAD":
            return Response(204 if self.store.get(rid) else 404)
        if req.method == "GET":
            if self.store.get(rid) is None:
                raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{segs[3]}' could not be found.")
            return handler.get(self, rid, req)
        if req.method == "PUT":
            return handler.put(self, rid, self._body(req), req)
        if req.method == "PATCH":
            if self.store.get(rid) is None:
                raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{segs[3]}' could not be found.")
            return handler.patch(self, rid, self._body(req), req)
        return handler.delete(self, rid, req)

    def _list_resources(self, req: Request, scope: str) -> Response:
        self._require("Microsoft.Resources/subscriptions/resources/read", scope)
        wanted = None
        if f := req.q("$filter"):
            m = re.search(r"resourceType\s+eq\s+'([^']+)'", f, re.IGNORECASE)
            wanted = m[1].lower() if m else None
        items = []
        for res in self.store:
            if (
                res.type in (RESOURCE_GROUPS, ROLE_ASSIGNMENTS)
                or not ids.contains(scope, res.id)
                or ids.same(res.id, scope)
            ):
                continue
            if wanted and res.type.lower() != wanted:
                continue
            item = {k: res.body[k] for k in ("id", "name", "type", "location", "tags") if k in res.body}
            # $expand=createdTime adds when the resource was made
            # (https://learn.microsoft.com/rest/api/resources/resources/list-by-resource-group).
            if "createdtime" in (req.q("$expand") or "").lower() and res.meta.get("created_time"):
                item["createdTime"] = res.meta["created_time"]
            items.append(item)
        return self._list_response(req, items)

    def _providers(self, req: Request, segs: list[str]) -> Response:
        if len(segs) == 3:
            return self._list_response(req, self.providers.all())
        if len(segs) == 4:
            return Response(200, self.providers.body(segs[3]))
        if req.method != "POST":
            raise ArmError(405, "MethodNotAllowed", "Use POST to register a resource provider.")
        self._require(f"{segs[3]}/register/action", f"/subscriptions/{segs[1]}")
        return Response(200, self.providers.register(segs[3], segs[4].lower() == "register"))

    def _generic(self, req: Request, p: ids.ArmPath) -> Response:
        if (
            p.namespace.lower() == "microsoft.compute"
            and tuple(t.lower() for t in p.types) == ("locations", "publishers", "artifacttypes", "offers", "skus")
            and (p.tail or "").lower() == "versions"
            and req.method == "GET"
        ):
            region, publisher, _, offer, sku = p.names
            self._require("Microsoft.Compute/locations/publishers/artifacttypes/offers/skus/versions/read", p.scope)
            return self.marketplace.versions(ids.subscription_of(p.scope) or "", region, publisher, offer, sku)
        if p.namespace.lower() == "microsoft.authorization":
            if (p.tail or "").lower() == "permissions" and not p.names and req.method == "GET":
                return authorization.permissions_response(self, p.scope or "/")
            if (
                p.tail
                and not p.names
                and req.method == "GET"
                and p.tail.lower() in ("roleassignments", "roledefinitions")
            ):
                handler = self.handler(p.full_type)
                self._require(f"{handler.type}/read", p.scope or "/")
                return self._list_response(req, handler.list_response(self, p.scope, req))
        if (
            p.full_type.lower() == "microsoft.containerinstance/containergroups/containers"
            and (p.tail or "").lower() == "logs"
            and req.method == "GET"
        ):
            group = ids.parent_of(p.resource_id)
            self._check_scope_exists(p.scope)
            self._require("Microsoft.ContainerInstance/containerGroups/containers/logs/read", group)
            return self.imagebuilder.container_logs_response(group, p.names[-1], req)
        if p.tail and p.names:
            if req.method == "POST":  # an action on a resource
                handler = self.handler(p.full_type)
                self._check_parents(p.resource_id, handler)
                self._require(f"{handler.type}/{p.tail}/action", p.resource_id)
                self._check_registered(p.namespace)
                return handler.action(self, p.resource_id, p.tail, req)
            if req.method != "GET":
                raise ArmError(405, "MethodNotAllowed", f"The method '{req.method}' is not allowed here.")
            handler = self.handler(p.collection_type)
            parent = self.store.get(p.resource_id)
            if parent is None:
                raise not_found(p.resource_id, p.full_type)
            self._require(f"{handler.type}/read", p.resource_id)
            parent_handler = self._handlers.get(parent.type.lower())
            if parent_handler is not None:
                parent_handler.observe(self, parent)
            items = [handler.render(self, r) for r in self.store.children(parent.id, handler.type)]
            return self._list_response(req, items)
        if p.tail:  # a collection at a scope: list by resource group or subscription
            if req.method != "GET":
                raise ArmError(405, "MethodNotAllowed", f"The method '{req.method}' is not allowed here.")
            handler = self.handler(p.full_type)
            self._check_scope_exists(p.scope)
            self._require(f"{handler.type}/read", p.scope or "/")
            items = [handler.render(self, r) for r in handler.list_items(self, p.scope, req)]
            return self._list_response(req, items)
        handler = self.handler(p.full_type)
        rid = p.resource_id
        if req.method == "HEAD":  # check_existence
            return Response(204 if self.store.get(rid) else 404)
        if req.method not in ("GET", "PUT", "PATCH", "DELETE"):
            raise ArmError(405, "MethodNotAllowed", f"The method '{req.method}' is not allowed here.")
        self._check_parents(rid, handler)
        self._require(f"{handler.type}/{self._verb(req.method)}", rid)
        if req.method == "GET":
            return handler.get(self, rid, req)
        if req.method == "DELETE":
            return handler.delete(self, rid, req)
        self._check_registered(p.namespace)
        body = self._body(req)
        if req.method == "PATCH":
            return handler.patch(self, rid, body, req)
        if self.config.validate_schemas:
            self._schema_check(handler.type, req.api_version or "", rid, body)
        return handler.put(self, rid, body, req)

    # ------------------------------------------------------------------ checks

    def _body(self, req: Request) -> dict[str, Any]:
        body = req.json()
        if not isinstance(body, dict):
            raise ArmError(
                400,
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: expected a JSON object.",
            )
        return body

    def _schema_check(self, rtype: str, api_version: str, rid: str, body: dict[str, Any]) -> None:
        errors = self.validator.errors(rtype, api_version, ids.name_of(rid), body)
        if errors:
            raise ArmError(
                400,
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: " + "; ".join(errors),
                details=[{"code": "InvalidRequestContent", "message": e} for e in errors],
            )

    def _check_registered(self, namespace: str) -> None:
        if (
            namespace.lower() not in ("microsoft.authorization", "microsoft.resources")
            and self.providers.state(namespace) != "Registered"
        ):
            raise self.providers.missing_registration(namespace)

    def _check_scope_exists(self, scope: str) -> None:
        rg = ids.resource_group_of(scope)
        if rg and ids.same(scope, ids.rg_id(*rg)):
            if self.store.get(scope) is None:
                raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg[1]}' could not be found.")
        elif scope and ids.parse(scope) is not None and self.store.get(scope) is None:
            raise ArmError(
                404,
                "ParentResourceNotFound",
                f"Can not perform requested operation on nested resource. Parent resource "
                f"'{ids.name_of(scope)}' not found.",
            )

    def _check_parents(self, rid: str, handler: TypeHandler) -> None:
        p = ids.parse(rid)
        assert p is not None
        self._check_scope_exists(p.scope)
        if len(p.types) > 1 and self.store.get(ids.parent_of(rid)) is None:
            raise ArmError(
                404,
                "ParentResourceNotFound",
                f"Can not perform requested operation on nested resource. Parent resource "
                f"'{'/'.join(p.names[:-1])}' not found.",
            )

    def _list_response(self, req: Request, items: list[dict[str, Any]]) -> Response:
        size = self.config.page_size
        if not size:
            return Response(200, {"value": items})
        start = int(req.q("$skiptoken") or 0)
        body: dict[str, Any] = {"value": items[start : start + size]}
        if start + size < len(items):
            query = {k: v for k, v in req.query.items() if k.lower() != "$skiptoken"}
            query["$skiptoken"] = str(start + size)
            body["nextLink"] = f"{req.base_url}{quote(req.path)}?{urlencode(query)}"
        return Response(200, body)


def _jwt_claims(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
        return claims if isinstance(claims, dict) else {}
    except ValueError:
        return {}
