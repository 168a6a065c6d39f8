"""report/whatif.py: property changes per path, arrays diffed by item, GUID-named resources named."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from aks_jumpbox.core.drift import differences
from aks_jumpbox.core.model import Ref
from aks_jumpbox.report.whatif import array_changes, property_changes, render_line, text_lines, what_if_result

items = st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), max_size=8)


def _lcs_length(x: list, y: list) -> int:
    table = [[0] * (len(y) + 1) for _ in range(len(x) + 1)]
    for i in range(len(x)):
        for j in range(len(y)):
            table[i + 1][j + 1] = table[i][j] + 1 if x[i] == y[j] else max(table[i][j + 1], table[i + 1][j])
    return table[-1][-1]


@given(items, items)
def test_ordered_item_changes_turn_the_live_list_into_the_planned_one(planned, live):
    changes = array_changes(planned, live)
    touched_live = {c.before_index for c in changes if c.change_type in ("Delete", "Modify")}
    touched_planned = {int(c.path) for c in changes if c.change_type in ("Create", "Modify")}
    kept_live = [v for j, v in enumerate(live) if j not in touched_live]
    kept_planned = [p for i, p in enumerate(planned) if i not in touched_planned]
    assert kept_live == kept_planned  # what is not touched is the same, in the same order
    assert len(kept_live) == _lcs_length(planned, live)  # and as much as can stay: only differences listed
    for c in changes:
        if c.change_type in ("Create", "Modify"):
            assert c.after == planned[int(c.path)]
        if c.change_type in ("Delete", "Modify"):
            assert c.before == live[c.before_index]
    assert (changes == ()) == (planned == live)


@given(items, items)
def test_set_like_item_changes_are_what_was_added_and_removed(planned, live):
    changes = array_changes(planned, live, ordered=False)
    assert {c.after for c in changes if c.change_type == "Create"} == set(planned) - set(live)
    assert {c.before for c in changes if c.change_type == "Delete"} == set(live) - set(planned)


def test_an_item_inserted_at_the_start_of_a_long_array_is_one_create_not_the_whole_array():
    live = [f"step-{i}" for i in range(40)]
    planned = ["new", *live]
    (change,) = property_changes(differences({"steps": planned}, {"steps": live}))
    assert change.change_type == "Array"
    assert [(c.change_type, c.path, c.after) for c in change.children] == [("Create", "0", "new")]


def test_a_changed_object_in_an_array_shows_its_own_property_changes():
    live = [{"name": "a", "size": 1}, {"name": "b", "size": 2}]
    planned = [{"name": "a", "size": 1}, {"name": "b", "size": 3}, {"name": "c", "size": 4}]
    (change,) = property_changes(differences({"x": planned}, {"x": live}))
    modify, create = change.children
    assert (modify.change_type, modify.path, create.change_type, create.path) == ("Modify", "1", "Create", "2")
    assert [(c.path, c.before, c.after) for c in modify.children] == [("size", 2, 3)]


def test_scalars_are_modify_with_before_and_after_and_missing_ones_create():
    diffs = differences({"a": 2, "b": "new"}, {"a": 1})
    assert [(c.path, c.change_type, c.before, c.after) for c in property_changes(diffs)] == [
        ("a", "Modify", 1, 2),
        ("b", "Create", None, "new"),
    ]
    assert property_changes(diffs, no_effect=True)[0].change_type == "NoEffect"


def test_role_definitions_and_assignments_are_named(default_plan):
    role = default_plan.resource("role.image")
    assignment = default_plan.resource("assignment.image")
    identity = default_plan.resource("identity")
    live_assignment = {"properties": {**assignment.body["properties"], "principalId": "1111"}}
    changes = [
        SimpleNamespace(resource=role, action="differs", note=None, differences=differences(role.body, {})),
        SimpleNamespace(
            resource=assignment,
            action="replace",
            note="immutable",
            differences=differences(assignment.body, live_assignment),
        ),
        SimpleNamespace(resource=identity, action="unchanged", note=None, differences=[]),
    ]
    result = what_if_result(default_plan, changes)
    by_key = {c.key: c for c in result.changes}
    role_name = role.body["properties"]["roleName"]
    assert by_key["role.image"].display == f'custom role "{role_name}"'
    named = by_key["assignment.image"]
    assert named.role == role_name and named.principal == f"managed identity {identity.name}"
    assert named.scope == f"resource group {default_plan.spec.distribute.managed_image.resource_group}"
    assert result.changed and result.counts()["Deploy"] == 1 and result.counts()["NoChange"] == 1
    text = [render_line(line) for line in text_lines(default_plan, result)]
    assert any(role_name in line and line.startswith("! role assignment") for line in text)
    assert any("(known after apply): principalId of managed identity" in line for line in text)
    assert not any(identity.name in line and line.startswith("=") for line in text)  # unchanged: counted only
    assert text[-1] == "Resource changes: 1 to modify, 1 to replace, 1 no change."
    assert isinstance(assignment.body["properties"]["principalId"], Ref)


def test_nothing_to_change_is_not_changed(default_plan):
    identity = default_plan.resource("identity")
    result = what_if_result(
        default_plan, [SimpleNamespace(resource=identity, action="unchanged", note=None, differences=[])]
    )
    assert not result.changed and result.summary() == "Resource changes: 1 no change."
