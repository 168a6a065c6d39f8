"""The image template we render, read against Microsoft's Image Builder REST API spec (2025-10-01).

A second, upstream witness beside the ARM JSON schemas of test_rendered.py: the swagger in
tests/data/rest-api-specs (PROVENANCE.md there) is what the ARM schemas are generated from. Its own
examples must validate first, which proves the checker reads the spec as Microsoft means it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aks_jumpbox.render.arm import inner_resources
from aks_jumpbox.render.output import render_files
from tests.conftest import make_plan, variant
from tests.contract.test_rendered import VARIANTS
from tests.support.swagger import Swagger

SPEC_DIR = Path(__file__).resolve().parents[1] / "data" / "rest-api-specs" / "imagebuilder" / "2025-10-01"
SWAGGER = Swagger.load(SPEC_DIR / "imagebuilder.json")
IMAGE_TEMPLATE = {"$ref": "#/definitions/ImageTemplate"}
# Keys of a template's resource that ARM's deployment engine reads (the URL carries type, name, api-version).
TEMPLATE_ONLY = ("type", "apiVersion", "name", "dependsOn", "condition", "copy", "comments", "scope")
IMAGE_TEMPLATE_MODELS = {"ImageTemplate", "ImageTemplateListResult", "ImageTemplateUpdateParameters"}


def image_template_examples() -> list[tuple[str, str, str, dict, dict]]:
    """(operationId, example file, what, schema, value) for every request and response body of the
    operations on image templates themselves, as the swagger's x-ms-examples name them."""
    out = []
    for item in SWAGGER.doc["paths"].values():
        for op in item.values():
            body = next((p for p in op.get("parameters", []) if p.get("in") == "body"), None)
            responses = op["responses"].items()
            schemas = {code: r["schema"] for code, r in responses if "schema" in r and code != "default"}
            names = {SWAGGER.ref_name(s) for s in [*schemas.values(), *([body["schema"]] if body else [])]}
            if not names & IMAGE_TEMPLATE_MODELS:
                continue
            for ref in op["x-ms-examples"].values():
                file = ref["$ref"].removeprefix("./")
                example = json.loads((SPEC_DIR / file).read_text(encoding="utf-8"))
                op_id, answers = op["operationId"], example["responses"]
                if body:
                    out.append((op_id, file, "request", body["schema"], example["parameters"][body["name"]]))
                for code, schema in schemas.items():
                    if "body" in answers.get(code, {}):
                        out.append((op_id, file, f"response {code}", schema, answers[code]["body"]))
    return out


EXAMPLES = image_template_examples()


def test_the_examples_cover_every_image_template_operation():
    operations = {op for op, *_ in EXAMPLES}
    names = ("List", "ListByResourceGroup", "CreateOrUpdate", "Update", "Get")
    assert operations == {f"VirtualMachineImageTemplates_{n}" for n in names}
    assert len(EXAMPLES) >= 15


@pytest.mark.parametrize(
    ("operation", "file", "what", "schema", "value"),
    EXAMPLES,
    ids=[f"{f.removeprefix('examples/')}:{w}" for _, f, w, _, _ in EXAMPLES],
)
def test_microsofts_examples_validate_against_the_swagger(operation, file, what, schema, value):
    assert SWAGGER.errors(value, schema, request=what == "request") == [], f"{operation} {file} {what}"


def rendered_image_template(default_data, default_lock, changes: dict) -> dict:
    files = render_files(make_plan(variant(default_data, **changes), default_lock))
    resources = inner_resources(json.loads(files["arm/resource-group.json"]))
    return next(r for r in resources if r["type"] == "Microsoft.VirtualMachineImages/imageTemplates")


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_the_rendered_image_template_is_a_valid_request_body(name, default_data, default_lock):
    resource = rendered_image_template(default_data, default_lock, VARIANTS[name])
    assert resource["apiVersion"] == SWAGGER.doc["info"]["version"], (
        "the template's api-version moved: vendor that version's spec (tests/data/refresh.py)"
    )
    body = {k: v for k, v in resource.items() if k not in TEMPLATE_ONLY}
    assert SWAGGER.errors(body, IMAGE_TEMPLATE, request=True) == [], name


def test_the_swagger_check_can_fail(default_data, default_lock):
    resource = rendered_image_template(default_data, default_lock, {})
    body = {k: v for k, v in resource.items() if k not in TEMPLATE_ONLY}
    props = body["properties"]
    props["vmProfile"]["bogus"] = 1
    props["vmProfile"]["osDiskSizeGB"] = "32"
    props["customize"][0]["type"] = "Ansible"
    props["errorHandling"]["onCustomizerError"] = "ignore"
    props["provisioningState"] = "Succeeded"
    del props["distribute"][0]["runOutputName"]
    props["validate"]["inVMValidations"][0]["inlne"] = props["validate"]["inVMValidations"][0].pop("inline")
    errors = "\n".join(SWAGGER.errors(body, IMAGE_TEMPLATE, request=True))
    for expected in (
        "/properties/vmProfile/bogus: not a property",
        "/properties/vmProfile/osDiskSizeGB: '32' is not an integer",
        "/properties/customize/0/type: 'Ansible' is not a kind of ImageTemplateCustomizer",
        "/properties/errorHandling/onCustomizerError: 'ignore' is not one of",
        "/properties/provisioningState: is read-only",
        "/properties/distribute/0/runOutputName: is required",
        "/properties/validate/inVMValidations/0/inlne: not a property",
    ):
        assert expected in errors, errors
    # A response may carry read-only properties, but the envelope (from common-types) is still checked.
    example = json.loads((SPEC_DIR / "examples" / "GetImageTemplate.json").read_text(encoding="utf-8"))
    response = example["responses"]["200"]["body"]
    response["properties"]["provisioningState"] = "Succeeded"
    assert SWAGGER.errors(response, IMAGE_TEMPLATE, request=False) == []
    del response["location"]
    assert SWAGGER.errors(response, IMAGE_TEMPLATE, request=False) == ["/location: is required"]
