"""ARM strings: every string of every rendered template is a literal, except the expressions the
renderer writes on purpose, and the template path stores the same literal `deploy` PUTs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aks_jumpbox.core.arm_strings import Expression, arm_literal, arm_value, escape_template, is_expression, quote_arg
from aks_jumpbox.core.errors import SpecError
from aks_jumpbox.render.output import render_files
from tests.conftest import make_plan, variant
from tests.support.rendered import OWN_EXPRESSIONS, arm_strings

PAYLOAD = "[subscription().id]"
# The expressions the renderer writes itself, and nothing else.
OWN = OWN_EXPRESSIONS  # tests/support/rendered.py: the renderer's own


@pytest.mark.parametrize(
    "literal, written",
    [
        ("[subscription().id]", "[[subscription().id]"),
        ("[[x]", "[[[x]"),
        ("[]", "[[]"),
        ("[x] y", "[x] y"),  # not an expression: must not be escaped
        ("[aks-jumpbox] Image Writer (aksjb, 00000000)", "[aks-jumpbox] Image Writer (aksjb, 00000000)"),
        ("x [y]", "x [y]"),
        ("[", "["),
        ("]", "]"),
        ("", ""),
        (" [x]", " [x]"),
    ],
)
def test_arm_literal(literal, written):
    assert arm_literal(literal) == written
    assert arm_value(written) == literal
    assert not is_expression(written)


def test_escape_template_walks_keys_and_values_and_keeps_own_expressions():
    doc = {"tags": {PAYLOAD: PAYLOAD}, "list": [PAYLOAD, ("[a]",)], "n": 1, "e": Expression("[reference('x')]")}
    assert escape_template(doc) == {
        "tags": {"[[subscription().id]": "[[subscription().id]"},
        "list": ["[[subscription().id]", ["[[a]"]],
        "n": 1,
        "e": "[reference('x')]",
    }


def test_quote_arg_doubles_quotes():
    assert quote_arg("it's") == "'it''s'"


def _templates(plan) -> dict[str, Any]:
    files = render_files(plan)
    return {rel: json.loads(text) for rel, text in files.items() if rel.startswith("arm/")}


def assert_no_foreign_expression(plan) -> int:
    """Walk every string of every rendered template; return how many expressions were the renderer's."""
    own = 0
    for rel, doc in _templates(plan).items():
        for where, s in arm_strings(doc):
            if is_expression(s):
                assert s.startswith(OWN), f"{rel}{where}: ARM would evaluate {s!r}"
                assert "subscription()" not in s and "list" not in s, f"{rel}{where}: {s!r}"
                own += 1
    return own


def test_the_default_plans_templates_hold_only_the_renderers_expressions(default_plan):
    assert assert_no_foreign_expression(default_plan) > 0


GALLERY = {
    "resource_group": "rg-images",
    "name": "gal_aksjumpbox",
    "image": {"name": "aks-jumpbox", "publisher": "Contoso", "description": "[listKeys('x', '2020-01-01')]"},
}


@pytest.fixture(scope="module")
def hostile_plan(default_data, default_lock):
    data = variant(default_data, tags={PAYLOAD: PAYLOAD, "team": "[concat('a', 'b')]"}, distribute__gallery=GALLERY)
    return make_plan(data, default_lock)


def test_expressions_in_tags_and_descriptions_are_written_as_literals(hostile_plan):
    assert_no_foreign_expression(hostile_plan)
    rg = _templates(hostile_plan)["arm/resource-group.json"]
    template = next(r for r in rg["resources"] if r["type"] == "Microsoft.VirtualMachineImages/imageTemplates")
    assert template["tags"]["[[subscription().id]"] == "[[subscription().id]"
    text = json.dumps(rg)
    assert "[[listKeys('x', '2020-01-01')]" in text


def test_deploy_and_the_template_mean_the_same_literal(hostile_plan):
    """deploy PUTs resource.body as it is (no template language): the literal is unescaped there, and
    ARM reads the template's escaped string back as that same literal."""
    body_tags = hostile_plan.template.body["tags"]
    assert body_tags[PAYLOAD] == PAYLOAD  # what deploy sends
    rg = _templates(hostile_plan)["arm/resource-group.json"]
    written = next(r for r in rg["resources"] if r["type"] == "Microsoft.VirtualMachineImages/imageTemplates")["tags"]
    assert {arm_value(k): arm_value(v) for k, v in written.items()} == body_tags
    definition = hostile_plan.resource("gallery.image").body["properties"]["description"]
    assert definition == "[listKeys('x', '2020-01-01')]"


def test_an_inline_script_line_that_looks_like_an_expression_is_escaped(default_data, default_lock, monkeypatch):
    import aks_jumpbox.core.plan as plan_module

    original = plan_module.render_validate
    monkeypatch.setattr(plan_module, "render_validate", lambda *a, **k: original(*a, **k) + f": <<'X'\n{PAYLOAD}\nX\n")
    plan = make_plan(default_data, default_lock)
    lines = plan.template.body["properties"]["validate"]["inVMValidations"][0]["inline"]
    assert PAYLOAD in lines  # the VM must receive the line as it is
    assert_no_foreign_expression(plan)
    rg = _templates(plan)["arm/resource-group.json"]
    template = next(r for r in rg["resources"] if r["type"] == "Microsoft.VirtualMachineImages/imageTemplates")
    written = template["properties"]["validate"]["inVMValidations"][0]["inline"]
    assert "[[subscription().id]" in written and [arm_value(s) for s in written] == lines


def test_a_region_that_is_an_expression_is_refused(default_data, default_lock):
    data = variant(default_data, distribute__managed_image={"resource_group": "rg-x", "location": PAYLOAD})
    with pytest.raises(SpecError, match="managed_image.location"):
        make_plan(data, default_lock)


@pytest.mark.parametrize("name", ["../..", "a/b", "img/../../x", "[x]", "a b", "-a", "a."])
def test_managed_image_names_follow_azures_rule(default_data, default_lock, name):
    data = variant(default_data, distribute__managed_image={"resource_group": "rg-x", "name": name})
    with pytest.raises(SpecError, match="managed image name"):
        make_plan(data, default_lock)


SUBNET = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-net/providers/"
    "Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}"
)


@pytest.mark.parametrize(
    "vnet, subnet, what",
    [
        ("..", "snet", "virtual network"),
        ("vnet", "..", "subnet"),
        ("vnet", ".", "subnet"),
        ("v", "snet", "virtual network"),
        ("vnet", "a b", "subnet"),
        ("vnet", "a'b", "subnet"),
        ("vnet", "x" * 81, "subnet"),
        ("vnet-", "snet", "virtual network"),
    ],
)
def test_subnet_ids_are_parsed_strictly(default_data, default_lock, vnet, subnet, what):
    data = variant(
        default_data,
        build__subnet_id=SUBNET.format(vnet=vnet, subnet=subnet),
        build__container_instance_subnet_id=None,
        build__container_instance_subnet_address_prefix=None,
    )
    with pytest.raises(SpecError, match=f"build.subnet_id: names an invalid {what}"):
        make_plan(data, default_lock)
