"""A spec's footprint key, the names and tags that carry it, and whose a live resource is."""

from __future__ import annotations

import pytest

from aks_jumpbox.core import kinds
from aks_jumpbox.core.errors import SpecError
from aks_jumpbox.core.footprint import Found, footprint_key, ownership
from aks_jumpbox.core.naming import SPEC_TAG, role_name, role_owner
from aks_jumpbox.render.arm import resource_group_template
from tests.conftest import make_plan, spec_from, variant

GALLERY = {"resource_group": "rg-images", "name": "gal", "image": {"publisher": "Contoso"}}


def test_the_key_is_name_and_environment(default_data):
    assert footprint_key(spec_from(variant(default_data, environment="prod"))) == "aksjb-prod"
    assert footprint_key(spec_from(variant(default_data, name="jb", environment="dev"))) == "jb-dev"


def test_without_an_environment_the_key_follows_where_the_spec_builds_and_distributes(default_data):
    key = footprint_key(spec_from(default_data))
    assert key.startswith("aksjb-") and len(key) == len("aksjb-") + 6
    # What it builds does not move it: a tool bump, another VM size, other tags are the same environment.
    same = variant(default_data, tools__helm="4.3.0", build__vm_size="Standard_D4ds_v5", tags={"team": "x"})
    assert footprint_key(spec_from(same)) == key
    assert footprint_key(spec_from(variant(default_data, build__resource_group="RG-IMAGEBUILDERS-EASTUS2"))) == key
    # Where it builds or distributes does.
    elsewhere = [
        variant(default_data, build__resource_group="rg-other"),
        variant(default_data, distribute__managed_image__resource_group="rg-prod-images"),
        variant(default_data, distribute__managed_image__name="img-fixed"),
        variant(default_data, distribute__gallery=GALLERY),
        variant(default_data, name="other"),
    ]
    keys = [footprint_key(spec_from(d)) for d in elsewhere]
    assert key not in keys and len(set(keys)) == len(keys)


@pytest.mark.parametrize("bad", ["Prod", "-dev", "dev-", "dev_1", "a" * 13, "", "dé"])
def test_an_environment_is_a_short_lowercase_word(default_data, bad):
    with pytest.raises(SpecError) as err:
        spec_from(variant(default_data, environment=bad))
    assert "environment" in str(err.value) and "dev or prod" in str(err.value)


def test_every_name_and_tag_carries_the_key(default_data, default_lock):
    plan = make_plan(variant(default_data, environment="prod", distribute__gallery=GALLERY), default_lock)
    assert plan.names.spec == "aksjb-prod"
    assert plan.names.identity == "id-aksjb-prod-imagebuilder"
    assert plan.names.template == f"imgt-aksjb-prod-{plan.hash[:10]}"
    assert plan.names.image == f"img-aksjb-prod-{plan.hash[:10]}"
    for r in plan.resources:
        kind = kinds.of(r.type)
        if kind.write == "create-if-absent":  # the gallery and image definition: shared, so no one spec's
            assert SPEC_TAG not in r.body["tags"], r.key
        elif kind.tags:
            assert r.body["tags"][SPEC_TAG] == "aksjb-prod", r.key
        else:  # role definitions and assignments take none
            assert "tags" not in r.body, r.key
    props = plan.template.body["properties"]
    assert props["managedResourceTags"][SPEC_TAG] == "aksjb-prod"
    assert {d["artifactTags"][SPEC_TAG] for d in props["distribute"]} == {"aksjb-prod"}
    for key in ("role.network", "role.image"):
        assert role_owner(plan.resource(key).body["properties"]["roleName"]) == "aksjb-prod"
    nested = [r for r in resource_group_template(plan)["resources"] if r["type"] == kinds.DEPLOYMENT.arm_type]
    assert nested and all(r["tags"] == {SPEC_TAG: "aksjb-prod"} for r in nested)


def test_dev_and_prod_share_nothing_but_the_gallery(default_data, default_lock):
    dev = make_plan(variant(default_data, environment="dev", distribute__gallery=GALLERY), default_lock)
    prod = make_plan(variant(default_data, environment="prod", distribute__gallery=GALLERY), default_lock)
    shared = {r.id.lower() for r in dev.resources} & {r.id.lower() for r in prod.resources}
    assert shared == {r.id.lower() for r in dev.resources if r.key.startswith("gallery")}
    # What either writes to the shared gallery and image definition is the same, in the plan and rendered
    # (ARM has no create-if-absent: resource-group.json PUTs them), each from a nested deployment of its own.
    for key in ("gallery", "gallery.image"):
        assert dev.resource(key).body == prod.resource(key).body, key
    rendered = {}
    for plan in (dev, prod):
        nested = [r for r in resource_group_template(plan)["resources"] if r["type"] == kinds.DEPLOYMENT.arm_type]
        (gallery,) = [r for r in nested if r["name"].startswith("aks-jumpbox-gallery-")]
        assert gallery["name"] == f"aks-jumpbox-gallery-{plan.names.spec}"
        rendered[plan.names.spec] = gallery["properties"]["template"]["resources"]
    assert rendered["aksjb-dev"] == rendered["aksjb-prod"]
    roles = {r.body["properties"]["roleName"] for p in (dev, prod) for r in p.resources if r.key.startswith("role.")}
    assert len(roles) == 4  # no RoleDefinitionWithSameNameExists between environments


def test_a_user_tag_cannot_claim_another_spec(default_data, default_lock):
    plan = make_plan(variant(default_data, environment="dev", tags={SPEC_TAG: "aksjb-prod"}), default_lock)
    assert plan.resource("identity").body["tags"][SPEC_TAG] == "aksjb-dev"


def test_role_names_say_whose_they_are():
    name = role_name("Image Builder Image Writer", "aksjb-prod", "6f2b4a7e-0000-0000-0000-000000000000")
    assert name == "[aks-jumpbox] Image Builder Image Writer (aksjb-prod, 6f2b4a7e)"
    assert role_owner(name) == "aksjb-prod"
    assert role_owner("[aks-jumpbox] Image Writer (aksjb, 00000000)") == "aksjb"  # before footprint keys
    for other in ("Contributor", "[aks-jumpbox] no owner", "[aks-jumpbox] x (y)", "Reader (a, b)"):
        assert role_owner(other) is None


@pytest.mark.parametrize(
    "doc, looks, expected",
    [
        ({"tags": {SPEC_TAG: "aksjb-dev"}}, False, "ours"),
        ({"tags": {SPEC_TAG: "aksjb-prod"}}, False, "foreign"),
        ({"tags": {"workload": "x"}}, True, "untagged"),
        ({"tags": None}, True, "untagged"),
        ({}, False, "unrelated"),
    ],
)
def test_whose_a_tagged_resource_is(doc, looks, expected):
    assert ownership(kinds.IDENTITY, doc, "aksjb-dev", looks) == expected


def test_whose_a_role_is_by_its_name():
    def role(name: str) -> dict:
        return {"properties": {"roleName": name}}

    assert ownership(kinds.ROLE_DEFINITION, role(role_name("T", "aksjb-dev", "00000000")), "aksjb-dev", True) == "ours"
    assert ownership(kinds.ROLE_DEFINITION, role(role_name("T", "jb-prod", "0")), "aksjb-dev", False) == "foreign"
    assert ownership(kinds.ROLE_DEFINITION, role("Contributor"), "aksjb-dev", True) == "unrelated"


def test_one_line_names_the_resource_and_its_owner():
    foreign = Found("managed identity", "id-aksjb-prod-imagebuilder", "/x", "aksjb-prod", "tag")
    line = foreign.line("aksjb-dev")
    assert "\n" not in line
    assert line.startswith("managed identity id-aksjb-prod-imagebuilder belongs to spec aksjb-prod")
    assert "left alone" in line
    untagged = Found("image template", "imgt-aksjb-0123456789", "/y", None, "tag").line("aksjb-dev")
    assert "no aks-jumpbox.spec tag" in untagged and "left alone" in untagged
    planned = Found("managed identity", "id-shared", "/z", "aksjb-prod", "tag", planned=True).line("aksjb-dev")
    assert "not taken over" in planned and "environment:" in planned


def test_the_gallery_deployment_name_fits_azures_limit_with_the_longest_key(default_data, default_lock):
    data = variant(default_data, name="a" * 24, environment="e" * 12, distribute__gallery=GALLERY)
    plan = make_plan(data, default_lock)
    names = [r["name"] for r in resource_group_template(plan)["resources"] if r["type"] == kinds.DEPLOYMENT.arm_type]
    # At most 64 characters: https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
    assert f"aks-jumpbox-gallery-{'a' * 24}-{'e' * 12}" in names and all(len(n) <= 64 for n in names)
