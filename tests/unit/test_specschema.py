"""`aks-jumpbox schema`: the JSON Schema editors use agrees with the spec's models on good and bad specs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from aks_jumpbox.core.catalog import load_catalog
from aks_jumpbox.core.spec import Spec, allowed_keys
from aks_jumpbox.core.specschema import spec_json_schema
from tests.conftest import run_cli, spec_from, variant

CATALOG = load_catalog()
SCHEMA = spec_json_schema(CATALOG)
BAD = Path(__file__).parents[1] / "bad_specs"


def _as_editor_sees(data):
    return json.loads(json.dumps(data, default=str))  # YAML dates are strings to a language server


def _valid(data) -> bool:
    return jsonschema.Draft202012Validator(SCHEMA).is_valid(_as_editor_sees(data))


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_the_default_spec_and_its_short_and_long_forms_are_valid(default_data):
    assert _valid(default_data)
    long_form = variant(
        default_data,
        tools={"helm": {"version": "4.3.0", "reason": "pinned", "review_by": "2027-03-01"}},
        azure_cli={"version": "2.90.0", "extensions": [{"name": "aks-preview", "version": "18.0.0b7"}]},
        mirror={"artifacts": "https://mirror.contoso.internal/m", "azure_cli_key_fingerprints": "AB" * 20},
    )
    spec_from(long_form)  # the models accept it ...
    assert _valid(long_form)  # ... and so does the schema


@pytest.mark.parametrize(
    "name",
    [
        "unknown-top-key",
        "unknown-nested-key",
        "did-you-mean-top-key",
        "did-you-mean-nested-key",
        "did-you-mean-pin-key",
        "did-you-mean-tool",
        "did-you-mean-base-image",
        "did-you-mean-architecture",
        "unknown-tool",
        "missing-build",
    ],
)
def test_bad_specs_the_schema_can_judge_are_flagged_in_the_editor(name):
    assert not _valid(yaml.safe_load((BAD / f"{name}.yaml").read_text()))


def _paths(schema, node, path=()):
    """Every object path of the schema with its property names, following $refs."""
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    for arm in node.get("anyOf", ()):
        yield from _paths(schema, arm, path)
    if "properties" in node:
        yield path, set(node["properties"])
        for key, sub in node["properties"].items():
            yield from _paths(schema, sub, (*path, key))


def test_every_model_field_is_in_the_schema():
    found = dict(_paths(SCHEMA, SCHEMA))
    assert found[()] == set(Spec.model_fields)
    for path, keys in found.items():
        assert keys == set(allowed_keys(path)), path
    assert ("build",) in found and ("hardening", "sshd") in found


def test_the_command_prints_the_schema(tmp_path):
    r = run_cli("schema")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == SCHEMA
