"""Azure Compute Gallery distribution: spec, plan, least privilege and Microsoft's ARM schemas."""

from __future__ import annotations

import json

import pytest

from aks_jumpbox.core.errors import SpecError
from aks_jumpbox.core.gallery import content_version
from aks_jumpbox.core.plan import GALLERY_ACTIONS
from aks_jumpbox.render.arm import inner_resources
from aks_jumpbox.render.output import render_files
from tests.conftest import CATALOG, make_plan, variant
from tests.support.arm_schema import validate_resource

GALLERY = {
    "resource_group": "rg-images",
    "name": "gal_aksjb",
    "image": {"publisher": "Contoso"},
    "target_regions": [
        {"name": "eastus2", "replicas": 1},
        {"name": "West Europe", "replicas": 2, "storage_account_type": "Standard_ZRS"},
    ],
}
VARIANTS = {
    "beside-managed": {"distribute__gallery": GALLERY},
    "gallery-only-semver": {"distribute": {"gallery": {**GALLERY, "version": "1.4.0"}}},
    "arm64-no-create": {
        "architecture": "arm64",
        "base_image": "ubuntu-22.04",
        "tools": {"kubectl": "1.37.1", "helm": "4.3.0"},
        "distribute": {"gallery": {**GALLERY, "create": False, "exclude_from_latest": False}},
    },
    "builtin-roles": {"identity__roles": "builtin", "distribute__gallery": GALLERY},
}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def planned(request, default_data, default_lock):
    return request.param, make_plan(variant(default_data, **VARIANTS[request.param]), default_lock)


def test_every_rendered_resource_validates_against_microsofts_schema(planned):
    name, plan = planned
    files = render_files(plan)
    types = []
    for path in ("arm/subscription.json", "arm/resource-group.json"):
        for resource in inner_resources(json.loads(files[path])):
            assert validate_resource(resource) == [], f"{name} {path} {resource['type']}"
            types.append(resource["type"])
    assert ("Microsoft.Compute/galleries/images" in types) is plan.gallery.created


def test_the_schema_check_can_fail(default_data, default_lock):
    plan = make_plan(variant(default_data, **VARIANTS["beside-managed"]), default_lock)
    rg = json.loads(render_files(plan)["arm/resource-group.json"])
    definition = next(r for r in inner_resources(rg) if r["type"] == "Microsoft.Compute/galleries/images")
    definition["properties"]["osType"] = "Plan9"
    assert validate_resource(definition)
    template = inner_resources(rg)[-1]
    template["properties"]["distribute"][1]["targetRegions"][0]["storageAccountType"] = "Cold_LRS"
    assert validate_resource(template)


def test_shared_image_distribution(default_data, default_lock):
    plan = make_plan(variant(default_data, **VARIANTS["beside-managed"]), default_lock)
    managed, shared = plan.template.body["properties"]["distribute"]
    assert managed["type"] == "ManagedImage"
    assert shared["type"] == "SharedImage" and shared["excludeFromLatest"] is True
    assert shared["galleryImageId"] == plan.gallery.version_id
    assert shared["galleryImageId"].endswith(f"/galleries/gal_aksjb/images/aks-jumpbox/versions/{plan.gallery.version}")
    assert shared["targetRegions"] == [
        {"name": "eastus2", "replicaCount": 1, "storageAccountType": "Standard_LRS"},
        {"name": "westeurope", "replicaCount": 2, "storageAccountType": "Standard_ZRS"},
    ]
    definition = plan.resource("gallery.image").body["properties"]
    assert (
        definition["osType"],
        definition["osState"],
        definition["hyperVGeneration"],
        definition["architecture"],
    ) == ("Linux", "Generalized", "V2", "x64")
    assert definition["identifier"] == {"publisher": "Contoso", "offer": "aks-jumpbox", "sku": "ubuntu-24.04"}
    assert definition["features"] == [{"name": "SecurityType", "value": "TrustedLaunchSupported"}]
    assert plan.image_id == managed["imageId"]


def test_arm64_definitions_and_existing_galleries(default_data, default_lock):
    plan = make_plan(variant(default_data, **VARIANTS["arm64-no-create"]), default_lock)
    assert not [r for r in plan.resources if r.key.startswith("gallery")]
    assert plan.resource("assignment.gallery").depends_on == ("identity", "role.image")
    assert plan.template.body["properties"]["distribute"][0]["excludeFromLatest"] is False
    # Not created here, but the same definition a created one would be:
    created = make_plan(
        variant(default_data, **{**VARIANTS["arm64-no-create"], "distribute": {"gallery": GALLERY}}), default_lock
    )
    props = created.resource("gallery.image").body["properties"]
    assert props["architecture"] == "Arm64" and "features" not in props


def test_image_writer_gains_exactly_the_gallery_actions(default_plan, default_data, default_lock):
    before = default_plan.resource("role.image").body["properties"]["permissions"][0]["actions"]
    plan = make_plan(variant(default_data, **VARIANTS["beside-managed"]), default_lock)
    after = plan.resource("role.image").body["properties"]["permissions"][0]["actions"]
    assert after == before + GALLERY_ACTIONS
    assert set(GALLERY_ACTIONS) == {
        "Microsoft.Compute/galleries/read",
        "Microsoft.Compute/galleries/images/read",
        "Microsoft.Compute/galleries/images/versions/read",
        "Microsoft.Compute/galleries/images/versions/write",
    }
    gallery_assignment = plan.resource("assignment.gallery")
    assert gallery_assignment.scope == plan.gallery.gallery_id
    assert gallery_assignment.body["properties"]["roleDefinitionId"] == plan.resource("role.image").id
    assert {"gallery", "gallery.image", "assignment.gallery"} <= set(plan.template.depends_on)


def test_gallery_only_plans_have_no_managed_image_assignment(default_data, default_lock):
    plan = make_plan(variant(default_data, **VARIANTS["gallery-only-semver"]), default_lock)
    keys = [r.key for r in plan.resources]
    assert "assignment.image" not in keys and keys.index("gallery") < keys.index("assignment.gallery")
    assert plan.gallery.version == "1.4.0" and plan.gallery.version_source == "spec"
    assert plan.image_id == plan.gallery.version_id
    rg = json.loads(render_files(plan)["arm/resource-group.json"])
    nested = {r["name"]: r for r in rg["resources"] if r["type"] == "Microsoft.Resources/deployments"}
    gallery_deployment = next(n for n in nested if n.startswith("aks-jumpbox-gallery-"))
    assignment = next(r for n, r in nested.items() if n.startswith("aks-jumpbox-assignment-gallery-"))
    assert any(gallery_deployment in d for d in assignment["dependsOn"])
    assert assignment["properties"]["template"]["resources"][0]["scope"] == "Microsoft.Compute/galleries/gal_aksjb"


def test_versions_come_from_the_spec_or_the_content(default_data, default_lock):
    derived = make_plan(variant(default_data, **VARIANTS["beside-managed"]), default_lock)
    assert derived.gallery.version_source == "content" and derived.gallery.version == content_version(derived.hash)
    assert all(int(p) < 2**31 for p in derived.gallery.version.split("."))
    again = make_plan(variant(default_data, **VARIANTS["beside-managed"]), default_lock)
    assert again.gallery.version == derived.gallery.version
    bumped = make_plan(
        variant(default_data, **VARIANTS["beside-managed"], build__vm_size="Standard_D4ds_v5"), default_lock
    )
    assert bumped.gallery.version != derived.gallery.version
    v1 = make_plan(variant(default_data, distribute={"gallery": {**GALLERY, "version": "1.0.0"}}), default_lock)
    v2 = make_plan(variant(default_data, distribute={"gallery": {**GALLERY, "version": "1.0.1"}}), default_lock)
    assert v1.names.template != v2.names.template, "a new version is a new (immutable) template"
    assert json.loads(render_files(v2)["plan.json"])["gallery"]["imageVersion"] == "1.0.1"


def test_default_plan_is_unchanged_by_gallery_support(default_plan):
    assert default_plan.gallery is None
    assert [d["type"] for d in default_plan.template.body["properties"]["distribute"]] == ["ManagedImage"]
    assert json.loads(render_files(default_plan)["plan.json"])["gallery"] is None


@pytest.mark.parametrize(
    "change,message",
    [
        ({"name": "gal-x"}, "no hyphens"),
        ({"image": {"publisher": "Contoso", "name": "-bad"}}, "image definition name"),
        ({"version": "1.0.2147483648"}, "below 2147483648"),
        ({"target_regions": [{"name": "eastus2"}, {"name": "eastus2", "replicas": 3}]}, "lists a region twice"),
        ({"target_regions": [{"name": "eastus2", "replicas": 0}]}, "greater than or equal to 1"),
        ({"location": "UK South"}, "include the gallery's region uksouth"),
        ({"location": "uk-south"}, "not an Azure region name"),
    ],
)
def test_bad_gallery_specs_are_located(default_data, default_lock, change, message):
    with pytest.raises(SpecError) as err:
        make_plan(variant(default_data, distribute__gallery={**GALLERY, **change}), default_lock)
    assert message in str(err.value)


def test_reports_name_the_gallery_version(default_data, default_lock):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    from aks_jumpbox.report.sbom import sbom_json
    from aks_jumpbox.report.software import report_markdown, software_report

    plan = make_plan(variant(default_data, **VARIANTS["gallery-only-semver"]), default_lock)
    report = software_report(plan, catalog=CATALOG)
    assert report["image"]["galleryVersion"] == "1.4.0"
    assert "- Gallery image version: 1.4.0" in report_markdown(report)
    sbom = sbom_json(report)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(sbom) is None
    assert json.loads(sbom)["metadata"]["component"]["version"] == "1.4.0"
