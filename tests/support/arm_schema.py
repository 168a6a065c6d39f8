"""Validate ARM resources against Microsoft's ARM JSON schemas, vendored in tests/data/arm-schemas.

The generated schemas write discriminated unions as
``allOf: [{additionalProperties: false, properties: {type}}, {oneOf: [...]}]``, which read literally
rejects every valid variant. As the schemas' README prescribes, that ``additionalProperties``
is dropped, ``unevaluatedProperties: false`` goes on the union, and a draft 2020-12 validator runs.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

# Inside the repository (tests/data/arm-schemas/PROVENANCE.md says where from), so a fresh clone tests.
SCHEMA_ROOT = Path(__file__).resolve().parents[1] / "data" / "arm-schemas"
BASE = "https://schema.management.azure.com/schemas/"
# Keys of a template's resource envelope that the deployment template schema defines, not the
# resource type's own schema.
ENVELOPE_KEYS = ("dependsOn", "condition", "copy", "comments", "scope")


def _relax(node: Any) -> Any:
    if isinstance(node, dict):
        all_of = node.get("allOf")
        if (
            isinstance(all_of, list)
            and len(all_of) == 2
            and isinstance(all_of[0], dict)
            and all_of[0].get("additionalProperties") is False
            and isinstance(all_of[1], dict)
            and "oneOf" in all_of[1]
        ):
            del all_of[0]["additionalProperties"]
            node["unevaluatedProperties"] = False
        for value in node.values():
            _relax(value)
    elif isinstance(node, list):
        for value in node:
            _relax(value)
    return node


def _python_pattern(pattern: str) -> str:
    """ECMA-262 reads ``[\\w-.]`` as a class with a literal '-'; Python's re rejects it (such a pattern
    names galleries and firewall policies), so escape a '-' that follows a class shorthand."""
    try:
        re.compile(pattern)
        return pattern
    except re.error:
        return re.sub(r"(\\[wdsWDS])-", r"\1\\-", pattern)


def _fix_patterns(node: Any) -> Any:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            node["pattern"] = _python_pattern(node["pattern"])
        for value in node.values():
            _fix_patterns(value)
    elif isinstance(node, list):
        for value in node:
            _fix_patterns(value)
    return node


@functools.cache
def registry(root: Path = SCHEMA_ROOT) -> Registry:
    reg = Registry()
    for path in sorted(root.rglob("*.json")):
        doc = _fix_patterns(_relax(json.loads(path.read_text(encoding="utf-8"))))
        doc.pop("$schema", None)
        doc.pop("id", None)
        uri = BASE + path.relative_to(root).as_posix()
        reg = reg.with_resource(uri, Resource.from_contents(doc, default_specification=DRAFT202012))
    return reg


def schema_file(rtype: str, api_version: str, root: Path = SCHEMA_ROOT) -> Path | None:
    """The schema file defining rtype at api_version (a namespace may be split: Microsoft.Network.NRP.json)."""
    namespace, *types = rtype.split("/")
    name = "_".join(types)
    for path in sorted((root / api_version).glob(f"{namespace}*.json")):
        if name in json.loads(path.read_text(encoding="utf-8")).get("resourceDefinitions", {}):
            return path
    return None


def has_schema(rtype: str, api_version: str, root: Path = SCHEMA_ROOT) -> bool:
    return schema_file(rtype, api_version, root) is not None


def _leaves(error: jsonschema.ValidationError):
    if not error.context:
        yield error
        return
    for child in error.context:
        # Every property may also be an ARM expression string; that branch's misses are noise.
        if child.validator == "pattern" and str(child.validator_value).startswith("^\\["):
            continue
        yield from _leaves(child)


def validate_resource(resource: dict[str, Any], root: Path = SCHEMA_ROOT) -> list[str]:
    """Error messages for one ARM resource ([] when it is valid)."""
    body = {k: v for k, v in resource.items() if k not in ENVELOPE_KEYS}
    rtype, api = resource["type"], resource["apiVersion"]
    path = schema_file(rtype, api, root)
    if path is None:
        return [f"{rtype}: no schema for api-version {api} in {root}"]
    ref = f"{BASE}{path.relative_to(root).as_posix()}#/resourceDefinitions/{'_'.join(rtype.split('/')[1:])}"
    validator = jsonschema.Draft202012Validator({"$ref": ref}, registry=registry(root))
    out = []
    for error in validator.iter_errors(body):
        for leaf in _leaves(error):
            where = "/".join(map(str, leaf.absolute_path))
            out.append(f"{rtype} {where}: {leaf.message}")
    return sorted(set(out))
