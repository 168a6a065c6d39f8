"""GET / PUT / DELETE of each planned resource type through its own SDK client.

Which client serves a type is declared in core/kinds.py (`Kind.client`); this module maps those
names to SDK operations, so core never names an SDK call.

Bodies go to ARM exactly as the plan wrote them (JSON bytes, not re-serialised models), so what
`deploy` sends is what `plan` rendered and what `--what-if` compares. Live state comes back as
plain JSON (camelCase, as ARM returns it).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from aks_jumpbox.azure.clients import Azure
from aks_jumpbox.core import kinds
from aks_jumpbox.core.model import Resource


def to_json(model: Any) -> dict[str, Any] | None:
    """An SDK model (either generation of generated code) as the JSON ARM sent."""
    if model is None:
        return None
    if isinstance(model, Mapping) and hasattr(model, "as_dict"):
        data = model.as_dict()  # typespec "hybrid" models (imagebuilder, resource, storage): REST keys
    elif isinstance(model, Mapping):
        data = dict(model)
    else:
        data = model.serialize(keep_readonly=True)  # msrest models (msi, authorization)
    return json.loads(json.dumps(data, default=_plain))


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return str(value)


def _body(body: dict[str, Any]) -> io.BytesIO:
    return io.BytesIO(json.dumps(body, ensure_ascii=False).encode("utf-8"))


def _rg(r: Resource) -> str:
    rg = r.resource_group
    if rg is None:
        raise ValueError(f"{r.id} is not in a resource group")
    return rg


@dataclass(frozen=True)
class TypeOps:
    get: Callable[[Azure, Resource], Any]
    put: Callable[[Azure, Resource, dict[str, Any]], Any]
    delete: Callable[[Azure, Resource], Any]
    # PATCH of the tags alone (kinds whose write policy is "immutable")
    patch_tags: Callable[[Azure, Resource, dict[str, str]], Any] | None = None


def _role_def_ops() -> TypeOps:
    def get(az: Azure, r: Resource) -> Any:
        return az.authorization.role_definitions.get(r.scope, r.name)

    def put(az: Azure, r: Resource, body: dict[str, Any]) -> Any:
        return az.authorization.role_definitions.create_or_update(r.scope, r.name, _body(body))

    def delete(az: Azure, r: Resource) -> Any:
        return az.authorization.role_definitions.delete(r.scope, r.name)

    return TypeOps(get, put, delete)


def _assignment_ops() -> TypeOps:
    def get(az: Azure, r: Resource) -> Any:
        return az.authorization.role_assignments.get(r.scope, r.name)

    def put(az: Azure, r: Resource, body: dict[str, Any]) -> Any:
        return az.authorization.role_assignments.create(r.scope, r.name, _body(body))

    def delete(az: Azure, r: Resource) -> Any:
        return az.authorization.role_assignments.delete(r.scope, r.name)

    return TypeOps(get, put, delete)


def _identity_ops() -> TypeOps:
    def get(az: Azure, r: Resource) -> Any:
        return az.msi.user_assigned_identities.get(_rg(r), r.name)

    def put(az: Azure, r: Resource, body: dict[str, Any]) -> Any:
        return az.msi.user_assigned_identities.create_or_update(_rg(r), r.name, _body(body))

    def delete(az: Azure, r: Resource) -> Any:
        return az.msi.user_assigned_identities.delete(_rg(r), r.name)

    return TypeOps(get, put, delete)


def _template_ops() -> TypeOps:
    def get(az: Azure, r: Resource) -> Any:
        return az.imagebuilder.virtual_machine_image_templates.get(_rg(r), r.name)

    def put(az: Azure, r: Resource, body: dict[str, Any]) -> Any:
        return az.imagebuilder.virtual_machine_image_templates.begin_create_or_update(
            _rg(r), r.name, _body(body)
        ).result()

    def delete(az: Azure, r: Resource) -> Any:
        return az.imagebuilder.virtual_machine_image_templates.begin_delete(_rg(r), r.name).result()

    def patch_tags(az: Azure, r: Resource, tags: dict[str, str]) -> Any:
        return az.imagebuilder.virtual_machine_image_templates.begin_update(_rg(r), r.name, {"tags": tags}).result()

    return TypeOps(get, put, delete, patch_tags)


def _generic_ops() -> TypeOps:
    """Any other type (galleries, image definitions) through the generic by-ID resource API."""

    def get(az: Azure, r: Resource) -> Any:
        return az.resources.resources.get_by_id(r.id, api_version=r.api_version)

    def put(az: Azure, r: Resource, body: dict[str, Any]) -> Any:
        return az.resources.resources.begin_create_or_update_by_id(
            r.id, _body(body), api_version=r.api_version
        ).result()

    def delete(az: Azure, r: Resource) -> Any:
        return az.resources.resources.begin_delete_by_id(r.id, api_version=r.api_version).result()

    return TypeOps(get, put, delete)


# Kind.client -> operations
CLIENTS: dict[str, TypeOps] = {
    "role_definitions": _role_def_ops(),
    "role_assignments": _assignment_ops(),
    "identities": _identity_ops(),
    "image_templates": _template_ops(),
    "by_id": _generic_ops(),
}


def ops(rtype: str) -> TypeOps:
    return CLIENTS[kinds.of(rtype).client]


def api_version_of(resource_id: str) -> str:
    """The api-version for reading a built image: a managed image or a gallery image version."""
    kind = kinds.GALLERY_IMAGE_VERSION if "/galleries/" in resource_id.lower() else kinds.IMAGE
    return kind.api_version


def read(az: Azure, r: Resource) -> dict[str, Any] | None:
    """Live state of r, or None when it does not exist. Errors other than 404 propagate."""
    try:
        return to_json(ops(r.type).get(az, r))
    except ResourceNotFoundError:
        return None


def resource_group(az: Azure, group_id: str) -> dict[str, Any] | None:
    """A resource group by its ID (name, location, tags), or None when it does not exist."""
    try:
        return to_json(az.resources.resource_groups.get(group_id.rstrip("/").rsplit("/", 1)[-1]))
    except ResourceNotFoundError:
        return None


def exists_by_id(az: Azure, resource_id: str, api_version: str) -> bool:
    try:
        az.resources.resources.get_by_id(resource_id, api_version=api_version)
        return True
    except ResourceNotFoundError:
        return False
