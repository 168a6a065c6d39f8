"""The JSON Schema of jumpbox.yaml, from the spec's pydantic models, for editors (completion, inline errors).

The models are the source; this adds what they check in code: the catalog's tool names and base images as
choices, the short forms the spec accepts (`helm: 4.3.0` for `helm: {version: 4.3.0}`, an extension by name),
and Image Builder's regions as completions. The schema helps while typing; `aks-jumpbox plan` stays the judge.
"""

from __future__ import annotations

from typing import Any

from aks_jumpbox.core.catalog import Catalog
from aks_jumpbox.core.spec import Spec, azure_facts


def spec_json_schema(catalog: Catalog) -> dict[str, Any]:
    schema = Spec.model_json_schema(mode="validation")
    defs = schema["$defs"]
    props = schema["properties"]
    version = {"type": "string", "pattern": r"^[vV]?[0-9]+\.[0-9]+\.[0-9]+$", "description": "MAJOR.MINOR.PATCH"}
    tools = sorted(catalog.tools)
    props["tools"] = {
        "type": "object",
        "description": "Exact versions of catalog tools: `name: 1.2.3`, or `name: {version, reason, review_by}`.",
        "propertyNames": {"enum": tools},
        "additionalProperties": {"anyOf": [version, {"$ref": "#/$defs/ToolPin"}]},
    }
    defs["ToolPin"]["properties"]["version"] = version
    defs["ToolPin"]["properties"]["review_by"] = {"type": "string", "format": "date"}
    props["base_image"] = {**props["base_image"], "enum": list(catalog.base_images)}
    ext = defs["AzureCliSpec"]["properties"]["extensions"]
    ext["items"] = {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/Extension"}]}
    fingerprints = defs["MirrorSpec"]["properties"]["azure_cli_key_fingerprints"]
    defs["MirrorSpec"]["properties"]["azure_cli_key_fingerprints"] = {"anyOf": [{"type": "string"}, fingerprints]}
    regions = sorted({r for names in azure_facts()["image_builder_regions"].values() for r in names})
    defs["BuildSpec"]["properties"]["location"] = {
        **defs["BuildSpec"]["properties"]["location"],
        "examples": regions,  # completions, not a rule: the spec also accepts "East US 2"
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "jumpbox.yaml (aks-jumpbox spec)",
        **{k: v for k, v in schema.items() if k != "title"},
    }
