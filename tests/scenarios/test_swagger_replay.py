"""Microsoft's own example responses (tests/data/rest-api-specs/imagebuilder/2025-10-01/examples) replayed
through the product's read paths: what Azure documents it answers, the product reads without stumbling.
The emulator answers the template's GET with the example body (faults.answer); swaggercheck checks it too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.scenarios.conftest import assert_ok

pytestmark = pytest.mark.emulator

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "rest-api-specs" / "imagebuilder" / "2025-10-01" / "examples"
TEMPLATE_PATH = r"/providers/Microsoft\.VirtualMachineImages/imageTemplates/imgt-[^/]+$"


def example(name: str, code: str = "200") -> dict:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))["responses"][code]["body"]


def test_a_template_as_the_get_example_shows_it_reads_as_never_run(world):
    body = example("GetImageTemplate.json")
    world.arm.faults.answer(200, body, "GET", TEMPLATE_PATH)
    status = world.cli("status", "--output", "json")
    assert_ok(status)
    doc = json.loads(status.stdout)
    assert doc["exists"] is True and doc["run"]["runState"] is None and doc["stagingResourceGroup"] is None
    logs = world.cli("logs")
    assert_ok(logs, 1)
    assert "has not created its staging storage account" in logs.stderr and "Traceback" not in logs.stderr
    what_if = world.cli("deploy", "--what-if", "--output", "json")
    assert_ok(what_if, 1)  # the example is not this plan's template: same name, other content
    change = next(c for c in json.loads(what_if.stdout)["changes"] if c["key"] == "template")
    assert change["action"] == "conflict"


@pytest.mark.parametrize("name", ["CreateImageTemplateLinux.json", "UpdateImageTemplateTags.json"])
def test_other_example_templates_read_through_status(world, name):
    answers = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))["responses"]
    code = next(c for c in ("200", "201") if "body" in answers.get(c, {}))
    world.arm.faults.answer(200, answers[code]["body"], "GET", TEMPLATE_PATH)
    status = world.cli("status", "--output", "json")
    assert_ok(status)
    doc = json.loads(status.stdout)
    assert doc["exists"] is True
    assert doc["provisioningState"] == answers[code]["body"].get("properties", {}).get("provisioningState")
