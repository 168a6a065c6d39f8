"""The resource-kind registry (core/kinds.py): complete for every plan, consistent with itself, with
data/azure.yaml and with the Azure side that maps it to SDK operations."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from aks_jumpbox.core import kinds
from aks_jumpbox.core.resource_ids import GUID_RE
from aks_jumpbox.core.spec import azure_facts
from aks_jumpbox.render.arm import inner_resources
from aks_jumpbox.render.output import render_files
from tests.conftest import make_plan, variant

GALLERY = {"resource_group": "rg-images", "name": "gal_aksjb", "image": {"publisher": "Contoso"}}
VARIANTS = {
    "default": {},
    "builtin-roles": {"identity__roles": "builtin"},
    "proxy": {
        "build__container_instance_subnet_id": None,
        "build__container_instance_subnet_address_prefix": None,
        "build__proxy_vm_size": "Standard_A1_v2",
        "build__subnet_address_prefix": None,
    },
    "gallery-beside-managed": {"distribute__gallery": GALLERY},
    "gallery-only": {"distribute": {"gallery": GALLERY}},
    "gallery-not-created": {"distribute": {"gallery": {**GALLERY, "create": False}}},
    "staging": {"build__staging_resource_group": "rg-aib-staging"},
    "staging-builtin-gallery": {
        "build__staging_resource_group": "rg-aib-staging",
        "identity__roles": "builtin",
        "distribute__gallery": GALLERY,
    },
}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def plan(request, default_data, default_lock):
    return make_plan(variant(default_data, **VARIANTS[request.param]), default_lock)


def test_every_planned_resource_has_a_declaration_matching_it(plan):
    for r in plan.resources:
        kind = kinds.of(r.type)
        assert kind.level == r.level, r.key
        assert kind.api_version == r.api_version, r.key
        assert kind.write != "none" and kind.template is not None, f"{r.key}: planned, so deployed, rendered"


def test_an_undeclared_type_is_named_in_the_error():
    with pytest.raises(KeyError, match="Microsoft.KeyVault/vaults"):
        kinds.of("Microsoft.KeyVault/vaults")


def test_cleanup_order_is_a_reverse_of_dependency_order(plan):
    planned = {r.key: r for r in plan.resources}
    for r in plan.resources:
        mine = kinds.of(r.type).cleanup
        for dep in r.depends_on:
            theirs = kinds.of(planned[dep].type).cleanup
            if mine is None:
                # kept by cleanup: what it needs must be kept too, or it would be left dangling
                assert theirs is None, f"{r.key} is kept but {dep}, which it needs, is deleted"
            elif theirs is not None:
                assert mine < theirs, f"{r.key} must be deleted before {dep}, which it needs"


def test_the_plan_lists_resources_in_dependency_order(plan):
    seen: set[str] = set()
    for r in plan.resources:
        assert set(r.depends_on) <= seen, r.key
        seen.add(r.key)


def test_cleanup_deletes_what_deploy_makes_and_never_the_images():
    deleted = {k.arm_type for k in kinds.cleanup_order()}
    assert kinds.GALLERY.arm_type not in deleted and kinds.GALLERY_IMAGE.arm_type not in deleted
    assert kinds.IMAGE.arm_type not in deleted and kinds.GALLERY_IMAGE_VERSION.arm_type not in deleted
    assert [k.cleanup for k in kinds.cleanup_order()] == sorted({k.cleanup for k in kinds.cleanup_order()})


def test_every_api_version_matches_data_azure_yaml_or_replaces_it():
    facts = azure_facts()
    for table in ("api_versions", "preflight_api_versions"):
        for kind in kinds.KINDS.values():
            listed = facts[table].get(kind.arm_type)
            assert listed in (None, kind.api_version), f"{table}.{kind.arm_type}: {listed}"
    # what the plan writes, `outdated` checks against the retirement list through api_versions
    for kind in kinds.KINDS.values():
        if kind.write != "none":
            assert kind.arm_type in facts["api_versions"], kind.arm_type


def test_declarations_are_complete_where_they_are_placed():
    templates = {
        kinds.SUBSCRIPTION_JSON,
        kinds.RESOURCE_GROUP_JSON,
        kinds.NETWORK_SPOKE_JSON,
        kinds.NETWORK_HUB_JSON,
        None,
    }
    for kind in kinds.KINDS.values():
        assert kind.template in templates, kind.arm_type
        assert (kind.nesting != "none") == (kind.deployment_name is not None), kind.arm_type
        if kind.nesting != "none":
            assert kind.template == kinds.RESOURCE_GROUP_JSON, kind.arm_type
        assert (kind.write == "none") == (kind.level == ""), kind.arm_type
        assert kind.label and kind.label == kind.label.lower(), kind.arm_type


def test_each_resource_is_rendered_where_its_kind_says(plan):
    files = render_files(plan)
    placed = {
        path: {(r["type"], r["name"]) for r in inner_resources(json.loads(files[path]))}
        for path in (kinds.SUBSCRIPTION_JSON, kinds.RESOURCE_GROUP_JSON)
    }
    for r in plan.resources:
        where = kinds.of(r.type).template
        assert where is not None
        assert (r.type, r.name) in placed[where], f"{r.key} not in {where}"
        others = [p for p in placed if p != where]
        assert all((r.type, r.name) not in placed[p] for p in others), r.key
    for path in (kinds.NETWORK_SPOKE_JSON, kinds.NETWORK_HUB_JSON):
        network = json.loads(files[path])
        assert {(r["type"], r["apiVersion"]) for r in inner_resources(network)} == {
            (k.arm_type, k.api_version) for k in kinds.KINDS.values() if k.template == path
        }, path


def test_nested_deployments_use_the_declared_deployment_api_version(plan):
    doc = json.loads(render_files(plan)[kinds.RESOURCE_GROUP_JSON])
    nested = [r for r in doc["resources"] if r["type"] == kinds.DEPLOYMENT.arm_type]
    assert nested and {r["apiVersion"] for r in nested} == {kinds.DEPLOYMENT.api_version}


def test_assignment_declarations_name_one_role_each():
    keys = [a.key for a in kinds.ASSIGNMENTS]
    assert len(keys) == len(set(keys)) and all(k.startswith("assignment.") for k in keys)
    for a in kinds.ASSIGNMENTS:
        assert (a.role is None) != (a.builtin_role is None), a.key
        if a.builtin_role is not None:
            assert GUID_RE.match(a.builtin_role) and a.checks, a.key
        else:
            assert a.role in {r.kind for r in kinds.ROLES} and not a.checks, a.key
        assert kinds.assignment(a.key) is a
    with pytest.raises(KeyError, match="assignment.nope"):
        kinds.assignment("assignment.nope")


def test_every_planned_assignment_is_declared(plan):
    for r in plan.resources:
        if r.type == kinds.ROLE_ASSIGNMENT.arm_type:
            declared = kinds.assignment(r.key)
            assert r.scope == declared.scope(plan.spec, plan.subscription)
            assert r.body["properties"]["description"] == declared.description == r.purpose


def test_the_azure_side_maps_every_declared_client():
    from aks_jumpbox.azure import resources as rs

    for kind in kinds.KINDS.values():
        assert kind.client in rs.CLIENTS, kind.arm_type
        if kind.write == "immutable":
            assert rs.ops(kind.arm_type).patch_tags is not None, kind.arm_type


def test_the_registry_names_no_sdk():
    """core/ holds names and strings; azure/ alone imports the SDK."""
    tree = ast.parse(Path(kinds.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    allowed = {"__future__", "aks_jumpbox", "collections", "dataclasses", "typing"}
    assert imported and all(m.split(".")[0] in allowed for m in imported), imported
    assert not any(m.startswith(("aks_jumpbox.azure", "azure")) for m in imported)


def test_progress_shows_the_declared_label_and_title(default_plan):
    from aks_jumpbox.cli.progress import describe

    for r in default_plan.resources:
        kind = kinds.of(r.type)
        text = describe(r)
        assert text.startswith(kind.label + " "), text
        if kind.title:
            assert r.body["properties"]["roleName"].replace("[", "\\[") in text
