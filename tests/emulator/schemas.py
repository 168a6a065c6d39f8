"""Validate PUT bodies against Microsoft's ARM JSON schemas (tests/data/arm-schemas).

Uses tests/support/arm_schema.py (its registry and the documented union relaxation). The request's
api-version is used when a schema for it exists. Otherwise the newest schema of the same namespace that
defines the type and is not newer than the request is used (or the oldest newer one); the choice is
recorded in ``Validator.fallbacks`` so a test can see what was checked against what. Types with no
schema at all (storage accounts) are recorded in ``Validator.unchecked``.

Two adjustments keep the check from rejecting what ARM accepts: fields ARM takes from the URL or
computes (id, name, type, etag) are dropped from the body, and a missing ``properties`` object is read
as ``{}`` (the generated schemas mark it required; ARM accepts e.g. an identity PUT without it, while
a template without ``properties`` still fails on its required members).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry

from tests.support import arm_schema

_ENVELOPE_READ_ONLY = ("id", "name", "type", "etag", "systemData")


@functools.cache
def _schema_files(rtype: str, root: Path) -> dict[str, str]:
    """api-version -> schema file name (e.g. Microsoft.Network.NRP.json) that defines ``rtype``."""
    namespace = rtype.split("/")[0]
    key = "_".join(rtype.split("/")[1:])
    found: dict[str, str] = {}
    for path in sorted(root.glob(f"*/{namespace}*.json")):
        if path.stem != namespace and not path.stem.startswith(namespace + "."):
            continue
        defs = json.loads(path.read_text(encoding="utf-8")).get("resourceDefinitions", {})
        if key in defs:
            found[path.parent.name] = path.name
    return found


def schema_version(rtype: str, api_version: str, root: Path = arm_schema.SCHEMA_ROOT) -> str | None:
    versions = sorted(_schema_files(rtype, root))
    if not versions:
        return None
    if api_version in versions:
        return api_version
    older = [v for v in versions if v <= api_version]
    return older[-1] if older else versions[0]


def registry(root: Path) -> Registry:
    """arm_schema's registry: the documented relaxation, with patterns Python's re can compile."""
    return arm_schema.registry(root)


def _is_expression_branch(error: jsonschema.ValidationError) -> bool:
    schema = error.schema if isinstance(error.schema, dict) else {}
    return error.validator == "type" and str(schema.get("pattern", "")).startswith("^\\[")


def validate(rtype: str, version: str, resource: dict[str, Any], root: Path = arm_schema.SCHEMA_ROOT) -> list[str]:
    file = _schema_files(rtype, root)[version]
    key = "_".join(rtype.split("/")[1:])
    ref = f"{arm_schema.BASE}{version}/{file}#/resourceDefinitions/{key}"
    validator = jsonschema.Draft202012Validator({"$ref": ref}, registry=registry(root))
    out = set()
    for error in validator.iter_errors(resource):
        for leaf in arm_schema._leaves(error):  # drops the "ARM expression" alternative's noise
            if _is_expression_branch(leaf):
                continue
            where = "/".join(map(str, leaf.absolute_path))
            out.add(f"{where or '(body)'}: {leaf.message}")
    return sorted(out)


class Validator:
    def __init__(self, root: Path = arm_schema.SCHEMA_ROOT) -> None:
        self.root = root
        self.fallbacks: list[tuple[str, str, str]] = []  # (type, requested api-version, schema used)
        self.unchecked: list[tuple[str, str]] = []  # (type, api-version) without any schema

    def errors(self, rtype: str, api_version: str, name: str, body: dict[str, Any]) -> list[str]:
        version = schema_version(rtype, api_version, self.root)
        if version is None:
            self.unchecked.append((rtype, api_version))
            return []
        if version != api_version:
            self.fallbacks.append((rtype, api_version, version))
        resource = {k: v for k, v in body.items() if k not in _ENVELOPE_READ_ONLY}
        resource.setdefault("properties", {})
        resource.update(type=rtype, apiVersion=version, name=name)
        return validate(rtype, version, resource, self.root)
