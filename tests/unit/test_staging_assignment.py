"""The staging resource group's role assignment: Contributor for the identity on a spec's own staging group
(https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-json#properties-stagingresourcegroup),
declared once in core/kinds.py and planned, rendered, role-checked and cleaned up from there."""

from __future__ import annotations

import json

import pytest

from aks_jumpbox.cli.progress import describe
from aks_jumpbox.core import kinds
from aks_jumpbox.core.naming import stable_guid
from aks_jumpbox.core.resource_ids import resource_group_id
from aks_jumpbox.preflight.permissions import blocks_of_role, missing
from aks_jumpbox.render.output import render_files
from tests.conftest import make_plan, variant
from tests.emulator.rbac import builtin_definition

CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
STAGING = "rg-aib-staging"


@pytest.fixture(scope="module", params=["custom", "builtin"])
def staged(request, default_data, default_lock):
    return make_plan(
        variant(default_data, build__staging_resource_group=STAGING, identity__roles=request.param), default_lock
    )


def test_without_a_staging_group_there_is_no_staging_assignment(default_plan):
    assert "assignment.staging" not in {r.key for r in default_plan.resources}
    assert "stagingResourceGroup" not in default_plan.template.body["properties"]


def test_a_staging_group_gets_contributor_for_the_identity(staged):
    a = staged.resource("assignment.staging")
    identity = staged.resource("identity")
    scope = resource_group_id(staged.subscription, STAGING)
    role_id = f"/subscriptions/{staged.subscription}/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}"
    assert a.scope == scope == staged.template.body["properties"]["stagingResourceGroup"]
    assert a.body["properties"]["roleDefinitionId"] == role_id  # whatever identity.roles says
    assert a.name == stable_guid(scope, identity.id, role_id)  # a UUIDv5, like the other assignments
    assert a.id == f"{scope}/providers/Microsoft.Authorization/roleAssignments/{a.name}"
    assert a.body["properties"]["principalId"].resource_key == "identity"
    assert a.depends_on == ("identity",)
    assert "assignment.staging" in staged.template.depends_on


def test_it_is_rendered_as_a_nested_deployment_into_the_staging_group(staged):
    doc = json.loads(render_files(staged)["arm/resource-group.json"])
    a = staged.resource("assignment.staging")
    (nested,) = [r for r in doc["resources"] if r["name"] == f"aks-jumpbox-assignment-staging-{a.name[:8]}"]
    assert nested["resourceGroup"] == STAGING
    assert nested["dependsOn"] == [staged.resource("identity").id]
    (inner,) = nested["properties"]["template"]["resources"]
    assert inner["type"] == "Microsoft.Authorization/roleAssignments" and inner["name"] == a.name
    assert "scope" not in inner  # the group itself
    template = doc["resources"][-1]
    assert any("aks-jumpbox-assignment-staging-" in d for d in template["dependsOn"])


def test_it_is_cleaned_up_after_the_template_and_labelled_as_a_role_assignment(staged):
    a = staged.resource("assignment.staging")
    kind = kinds.of(a.type)
    assert kind.cleanup is not None and kind.cleanup > kinds.TEMPLATE.cleanup
    assert describe(a).startswith("role assignment ")
    assert not kinds.assignment("assignment.staging").just_in_time  # the template needs it at creation


def test_preflight_checks_actions_contributor_grants_and_lesser_roles_lack(staged):
    actions = kinds.assignment("assignment.staging").actions(staged.spec)
    assert actions and "Microsoft.Resources/subscriptions/resourceGroups/read" in actions
    for guid, lacking in (
        (CONTRIBUTOR, False),
        ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", False),  # Owner
        ("acdd72a7-3385-48ef-bd42-f606fba81ae7", True),  # Reader
        ("17d1049b-9a84-46fb-8f53-869881c3d3ab", True),
    ):  # Storage Account Contributor
        grants = blocks_of_role(builtin_definition(guid, staged.subscription))
        assert bool(missing(grants, actions)) is lacking, guid
