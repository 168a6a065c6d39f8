"""Check JSON bodies against an Azure OpenAPI 2.0 (swagger) document, as Azure's model validation reads it.

The subset Azure's resource-manager specs use: local ``$ref``s, ``allOf`` inheritance, polymorphism by
``discriminator`` with ``x-ms-discriminator-value``, ``additionalProperties`` maps, ``readOnly``,
``required``, types, enums, patterns and integer bounds. A property a model does not define is an
error (the specs leave ``additionalProperties`` unset on models, and ARM rejects or drops what a model
does not define). A request must not carry a ``readOnly`` property; a response may.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOCAL = "#/definitions/"
# The ARM envelope of a tracked resource, which the specs take from common-types (not vendored):
# specification/common-types/resource-management/v3/types.json#/definitions/TrackedResource in
# Azure/azure-rest-api-specs; the same fields on an image template:
# https://learn.microsoft.com/en-us/rest/api/imagebuilder/virtual-machine-image-templates/create-or-update
TRACKED_RESOURCE = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "readOnly": True},
        "name": {"type": "string", "readOnly": True},
        "type": {"type": "string", "readOnly": True},
        "systemData": {"type": "object", "readOnly": True},
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        "location": {"type": "string"},
    },
    "required": ["location"],
}
# ProxyResource (run outputs, triggers): the same envelope without location and tags.
PROXY_RESOURCE = {
    "type": "object",
    "properties": {
        k: v for k, v in TRACKED_RESOURCE["properties"].items() if k in ("id", "name", "type", "systemData")
    },
}
EXTERNAL = {
    "../../../../../../common-types/resource-management/v3/types.json#/definitions/TrackedResource": TRACKED_RESOURCE,
    "../../../../../../common-types/resource-management/v3/types.json#/definitions/ProxyResource": PROXY_RESOURCE,
}
PYTHON_TYPES = {"string": str, "boolean": bool, "array": list, "object": dict, "number": (int, float)}


@dataclass
class Swagger:
    doc: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> Swagger:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    @property
    def definitions(self) -> dict[str, Any]:
        return self.doc["definitions"]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The schema a ``$ref`` points at (sibling keys such as description do not change validation)."""
        ref = schema.get("$ref")
        if ref is None:
            return schema
        if ref.startswith(LOCAL):
            return self.definitions[ref[len(LOCAL) :]]
        if ref in EXTERNAL:
            return EXTERNAL[ref]
        raise KeyError(f"unresolvable $ref {ref}")

    def ref_name(self, schema: dict[str, Any]) -> str | None:
        ref = schema.get("$ref", "")
        return ref[len(LOCAL) :] if ref.startswith(LOCAL) else None

    def _chain(self, schema: dict[str, Any]) -> list[dict[str, Any]]:
        """schema and every schema it inherits from through allOf, nearest first."""
        out = [schema]
        for parent in schema.get("allOf", []):
            out += self._chain(self.resolve(parent))
        return out

    def _discriminator(self, schema: dict[str, Any]) -> tuple[str, str] | None:
        """(property, base model name) when schema is polymorphic, else None."""
        for name, model in self.definitions.items():
            if model is schema and "discriminator" in model:
                return model["discriminator"], name
        return None

    def _subtype(self, base: str, value: str) -> dict[str, Any] | None:
        for name, model in self.definitions.items():
            tag = model.get("x-ms-discriminator-value", name)
            if tag == value and any(self.ref_name(p) == base for p in self._ancestors_refs(model)):
                return model
        return self.definitions[base] if value == base else None

    def _ancestors_refs(self, model: dict[str, Any]) -> list[dict[str, Any]]:
        refs = list(model.get("allOf", []))
        for parent in model.get("allOf", []):
            if self.ref_name(parent):
                refs += self._ancestors_refs(self.resolve(parent))
        return refs

    def errors(self, value: Any, schema: dict[str, Any], *, request: bool, where: str = "") -> list[str]:
        """Every mismatch of value against schema, each as '<json path>: <what>'."""
        schema = self.resolve(schema)
        here = where or "(body)"
        poly = self._discriminator(schema)
        if poly and isinstance(value, dict):
            prop, base = poly
            if prop not in value:
                return [f"{here}: '{prop}' is required"]
            sub = self._subtype(base, value[prop])
            if sub is None:
                return [f"{here}/{prop}: {value[prop]!r} is not a kind of {base}"]
            schema = sub
        out = self._scalar_errors(value, schema, here)
        if out:
            return out
        chain = self._chain(schema)
        # A model (it has properties) is closed; an object with neither properties nor
        # additionalProperties (systemData here, Operation.properties) is free-form.
        if isinstance(value, dict) and any("properties" in s for s in chain):
            props: dict[str, Any] = {}
            for link in reversed(chain):
                props.update(link.get("properties", {}))
            for name in sorted({r for link in chain for r in link.get("required", [])} - set(value)):
                out.append(f"{where}/{name}: is required")
            for name, item in value.items():
                path = f"{where}/{name}"
                if name not in props:
                    if "additionalProperties" in schema and isinstance(schema["additionalProperties"], dict):
                        out += self.errors(item, schema["additionalProperties"], request=request, where=path)
                    else:
                        known = ", ".join(sorted(props))
                        out.append(f"{path}: not a property of this model (known: {known})")
                    continue
                if request and props[name].get("readOnly"):
                    out.append(f"{path}: is read-only; a request must not set it")
                out += self.errors(item, props[name], request=request, where=path)
        elif isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
            for name, item in value.items():
                path = f"{where}/{name}"
                out += self.errors(item, schema["additionalProperties"], request=request, where=path)
        elif isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                out += self.errors(item, schema["items"], request=request, where=f"{where}/{i}")
        return out

    def _scalar_errors(self, value: Any, schema: dict[str, Any], here: str) -> list[str]:
        kind = schema.get("type") or ("object" if "properties" in schema or "allOf" in schema else None)
        if kind == "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                return [f"{here}: {value!r} is not an integer"]
        elif kind in PYTHON_TYPES:
            wanted = PYTHON_TYPES[kind]
            if not isinstance(value, wanted) or (kind == "number" and isinstance(value, bool)):
                return [f"{here}: {value!r} is not of type {kind}"]
        out = []
        if "enum" in schema and value not in schema["enum"]:
            out.append(f"{here}: {value!r} is not one of {schema['enum']}")
        if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(f"{here}: {value!r} does not match {schema['pattern']}")
        if isinstance(value, int) and "minimum" in schema and value < schema["minimum"]:
            out.append(f"{here}: {value} is below the minimum {schema['minimum']}")
        if isinstance(value, int) and "maximum" in schema and value > schema["maximum"]:
            out.append(f"{here}: {value} is above the maximum {schema['maximum']}")
        return out
