"""Azure RBAC semantics of the permission evaluator: wildcards, notActions, several roles, scopes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aks_jumpbox.preflight._arm import ResourceFormatError
from aks_jumpbox.preflight.permissions import (
    Grant,
    action_matches,
    allowed,
    blocks_of_role,
    missing,
    scope_covers,
)

segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ.", min_size=1, max_size=8)
actions = st.lists(segment, min_size=2, max_size=5).map("/".join)


@given(actions, st.data())
def test_a_star_in_place_of_any_slice_matches(action, data):
    i = data.draw(st.integers(0, len(action)))
    j = data.draw(st.integers(i, len(action)))
    assert action_matches(action[:i] + "*" + action[j:], action)
    assert action_matches(action.upper(), action.lower())  # case-insensitive


@given(actions, actions)
def test_without_a_star_only_the_same_action_matches(a, b):
    assert action_matches(a, b) == (a.lower() == b.lower())


@given(actions, st.lists(actions, max_size=3), st.lists(actions, max_size=3), st.lists(actions, max_size=3))
def test_roles_add_up_and_not_actions_only_take_from_their_own_role(action, a1, n1, a2):
    g1, g2 = Grant(tuple(a1), tuple(n1)), Grant(tuple(a2), ())
    assert (allowed([g1, g2], action) is not None) == (g1.allows(action) or g2.allows(action))
    assert Grant(tuple(a1) + (action,), (action,)).allows(action) is False


def test_known_role_shapes():
    contributor = Grant(
        ("*",),
        (
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
        ),
    )
    assert contributor.allows("Microsoft.Compute/images/write")
    assert not contributor.allows("Microsoft.Authorization/roleAssignments/write")
    reader = Grant(("*/read",), ())
    assert reader.allows("Microsoft.Network/virtualNetworks/read")
    assert not reader.allows("Microsoft.Network/virtualNetworks/subnets/join/action")
    network = Grant(("Microsoft.Network/*",), ())
    assert missing(
        [network, reader], ["Microsoft.Network/virtualNetworks/subnets/join/action", "Microsoft.Compute/images/write"]
    ) == ["Microsoft.Compute/images/write"]
    assert contributor.matching("Microsoft.Compute/images/write") == "*"


def test_role_definitions_in_rest_and_cli_shapes():
    rest = {
        "id": "/providers/Microsoft.Authorization/roleDefinitions/x",
        "properties": {"roleName": "R", "permissions": [{"actions": ["a/b"], "notActions": []}]},
    }
    flat = {
        "id": "/providers/Microsoft.Authorization/roleDefinitions/x",
        "roleName": "R",
        "permissions": [{"actions": ["a/b"], "notActions": []}],
    }
    assert blocks_of_role(rest) == blocks_of_role(flat)
    assert blocks_of_role(rest)[0].origin == "role 'R'"
    with pytest.raises(ResourceFormatError, match="role definition R: permissions"):
        blocks_of_role({"properties": {"roleName": "R"}})
    with pytest.raises(ResourceFormatError, match=r"permissions\[0\]\.actions"):
        blocks_of_role({"properties": {"roleName": "R", "permissions": [{"actions": "a/b"}]}})


@given(st.lists(segment, min_size=1, max_size=4), st.lists(segment, max_size=3))
def test_an_assignment_covers_its_scope_and_everything_below_only(parts, more):
    scope = "/" + "/".join(parts)
    below = scope + "".join("/" + m for m in more)
    assert scope_covers(scope, below)
    assert scope_covers(scope.upper() + "/", below.lower())
    assert not scope_covers(scope + "x", scope + "/y") or scope == ""
    if more:
        assert not scope_covers(below, scope)
    assert scope_covers("/", below)
