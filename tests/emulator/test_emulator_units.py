"""Property tests of the emulator's pure parts: ID parsing, RBAC matching, LRO countdown, Packer logs."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from tests.emulator import ids, packerlog, rbac
from tests.emulator.faults import StepFailure
from tests.emulator.lro import Operations

segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", min_size=1, max_size=12)
name = segment.filter(lambda s: s.lower() != "providers")
namespace = st.builds(lambda a, b: f"{a}.{b}", st.sampled_from(["Microsoft", "Contoso"]), name)


def build(scope: str, ns: str, types: tuple[str, ...], names: tuple[str, ...]) -> str:
    return f"{scope}/providers/{ns}/" + "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=True))


@st.composite
def resource_ids(draw, depth: int = 2):
    scope = draw(st.sampled_from(["", "/subscriptions/s", "/subscriptions/s/resourceGroups/rg"]))
    if depth and draw(st.booleans()):  # an extension resource on another resource
        scope = build(*draw(resource_ids(depth=depth - 1)))
    ns = draw(namespace)
    n = draw(st.integers(1, 3))
    types, names = draw(st.lists(name, min_size=n, max_size=n)), draw(st.lists(name, min_size=n, max_size=n))
    return scope, ns, tuple(types), tuple(names)


@given(resource_ids())
def test_parse_round_trips_resource_ids(parts):
    scope, ns, types, names = parts
    rid = build(*parts)
    p = ids.parse(rid)
    assert (p.scope, p.namespace, p.types, p.names, p.tail) == (scope, ns, types, names, None)
    assert p.resource_id == rid
    assert p.full_type == "/".join((ns, *types))
    # A trailing segment is a collection (or an action) of/on that resource.
    q = ids.parse(rid + "/run")
    assert q.resource_id == rid and q.tail == "run"


@given(resource_ids(), name)
def test_contains_is_segment_wise_and_case_insensitive(parts, child):
    rid = build(*parts)
    assert ids.contains(rid.upper(), f"{rid}/{child}".lower())
    assert not ids.contains(f"{rid}/{child}", rid)
    assert not ids.contains(rid, rid + "x")  # a sibling with a longer name is not below
    assert ids.contains("", rid)


action_text = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ./", min_size=1, max_size=40)


@given(action_text)
def test_actions_match_themselves_case_insensitively_and_star_matches_all(action):
    assert rbac.matches(action, action.swapcase())
    assert rbac.matches("*", action)
    assert rbac.matches("*/read", action + "/read")


@given(action_text, action_text, action_text)
def test_a_wildcard_stands_for_any_text(prefix, filler, suffix):
    assert rbac.matches(f"{prefix}*{suffix}", prefix + filler + suffix)
    assert rbac.matches(f"{prefix}*", prefix + filler)


@given(action_text)
def test_not_actions_win_over_actions(action):
    block = {"actions": ["*"], "notActions": [action]}
    assert not rbac.block_allows(block, action)
    assert rbac.block_allows({"actions": ["*"], "notActions": []}, action)
    assert not rbac.block_allows(block, action, data=True)  # actions never grant data actions


@given(st.integers(0, 10))
def test_countdown_reports_in_progress_exactly_n_times(n):
    done = []
    poll = Operations.countdown(n, lambda: done.append(1))
    states = [poll()[0] for _ in range(n + 1)]
    assert states == ["InProgress"] * n + ["Succeeded"] and done == [1]


@given(st.lists(st.lists(st.text(alphabet="abc xyz", max_size=8), max_size=6), min_size=1, max_size=4), st.data())
def test_a_failing_step_stops_the_log_at_its_marker(outputs, data):
    steps = [{"type": "Shell", "name": f"s{i}", "inline": ["true"]} for i in range(len(outputs))]
    marked = [[f"line {i}.{k} {t}" for k, t in enumerate(out)] + [f"MARK {i}"] for i, out in enumerate(outputs)]
    target = data.draw(st.integers(0, len(steps) - 1))
    log = packerlog.steps({}, steps, lambda tpl, step, i: marked[i], StepFailure(at=rf"MARK {target}$"))
    text = "\n".join(log.lines)
    assert log.failed_step == f"s{target}" and log.error
    assert re.search(rf"azure-arm: MARK {target}$", text, re.M)
    assert all(f"MARK {later}" not in text for later in range(target + 1, len(steps)))
    assert text.count("(telemetry) Starting provisioner") == target + 1
    ok = packerlog.steps({}, steps, lambda tpl, step, i: marked[i], None)
    assert ok.error is None and ok.failed_step is None
    assert "\n".join(ok.lines).count("MARK") == len(steps)
