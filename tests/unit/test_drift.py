"""What-if's comparison of planned and live bodies."""

from __future__ import annotations

import copy

from hypothesis import given
from hypothesis import strategies as st

from aks_jumpbox.core.drift import MISSING, differences, dig, has_refs, resolve_refs
from aks_jumpbox.core.plan import Ref

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(min_size=1, max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)
bodies = st.dictionaries(st.text(min_size=1, max_size=5), json_values, max_size=4)


@given(bodies, bodies)
def test_a_body_never_differs_from_itself_plus_what_azure_adds(planned, extra):
    live = copy.deepcopy(planned)
    for k, v in extra.items():
        live.setdefault(k, v)
    assert differences(planned, live) == []


@given(bodies, st.text(min_size=1, max_size=5), json_scalars, json_scalars)
def test_a_changed_planned_field_is_reported_at_its_path(planned, key, old, new):
    planned = {**planned, key: new}
    live = {**planned, key: old}
    diffs = differences(planned, live)
    # JSON distinguishes true from 1; Python's == does not, the comparison must.
    same = old == new and isinstance(old, bool) == isinstance(new, bool)
    if same:
        assert diffs == []
    else:
        assert [d.path for d in diffs] == [key]
        assert diffs[0].planned == new and diffs[0].live == old


def test_ids_and_locations_compare_without_case_and_map_keys_too():
    rid = "/subscriptions/S/resourceGroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID"
    planned = {
        "location": "westeurope",
        "identity": {"userAssignedIdentities": {rid: {}}},
        "properties": {"roleDefinitionId": rid},
    }
    live = {
        "location": "WestEurope",
        "identity": {"userAssignedIdentities": {rid.lower(): {"principalId": "p"}}},
        "properties": {"roleDefinitionId": rid.lower(), "createdOn": "now"},
    }
    assert differences(planned, live) == []
    assert [d.path for d in differences({"name": "Abc"}, {"name": "abc"})] == ["name"]  # other strings keep case


def test_action_lists_compare_as_sets_other_lists_in_order():
    perms = {"permissions": [{"actions": ["a/read", "a/write"], "notActions": []}]}
    assert differences(perms, {"permissions": [{"actions": ["a/write", "a/read"], "notActions": []}]}) == []
    d = differences(perms, {"permissions": [{"actions": ["a/read"], "notActions": []}]})
    assert [x.path for x in d] == ["permissions[0].actions"]
    assert "a/write" in d[0].describe()
    assert [x.path for x in differences({"inline": ["a", "b"]}, {"inline": ["b", "a"]})] == ["inline[0]", "inline[1]"]


def test_missing_fields_and_type_changes():
    d = differences({"properties": {"description": "x", "n": 1}}, {"properties": {"n": True}})
    assert [(x.path, x.live) for x in d] == [("properties.description", MISSING), ("properties.n", True)]
    assert "(not set)" in d[0].describe()


def test_refs_resolve_and_unresolved_refs_always_differ():
    ref = Ref("identity", "properties.principalId")
    body = {"properties": {"principalId": ref, "roleDefinitionId": "/subscriptions/s/r"}}
    assert has_refs(body)
    live = {"properties": {"principalId": "p-1", "roleDefinitionId": "/subscriptions/s/r"}}
    assert [d.path for d in differences(body, live)] == ["properties.principalId"]
    assert "(known after apply)" in differences(body, live)[0].describe()
    resolved = resolve_refs(body, {("identity", "properties.principalId"): "p-1"})
    assert not has_refs(resolved) and differences(resolved, live) == []
    assert [d.path for d in differences(resolve_refs(body, {("identity", "properties.principalId"): "p-2"}), live)] == [
        "properties.principalId"
    ]


def test_dig():
    assert dig({"properties": {"PrincipalId": "x"}}, "properties.principalId") == "x"
    assert dig({"properties": {}}, "properties.principalId") is MISSING
    assert dig(None, "a") is MISSING
