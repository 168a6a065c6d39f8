"""A firewall policy's parent chain: walked once as its documents are read, carried to the compiler,
and worded in evidence exactly as before the evaluator became a package."""

from __future__ import annotations

from typing import Any

import pytest

from aks_jumpbox.preflight.firewall import (
    FirewallFlow,
    FirewallPolicyDocs,
    Verdict,
    compile_policy,
    evaluate,
    policy_docs_from_resources,
    read_policy_docs,
)
from tests.unit.preflight.builders import POLICY_ID, app_rule, collection, group, net_rule, policy

SUBNET = "10.0.1.0/24"
Doc = dict[str, Any]


def https(fqdn: str) -> FirewallFlow:
    return FirewallFlow.https(SUBNET, fqdn)


def three_levels() -> list[Doc]:
    """child -> parent -> root; each level decides one name, and the root denies what the child allows."""
    return [
        policy("root"),
        group("root", "r", 100, collection("r-deny", 100, "Deny", app_rule("no-gh", ["github.com"]))),
        policy("parent", base="root"),
        group("parent", "p", 100, collection("p-allow", 100, "Allow", app_rule("k8s", ["dl.k8s.io"]))),
        policy("child", base="parent"),
        group("child", "c", 100, collection("c-allow", 100, "Allow", app_rule("gh", ["github.com"]))),
        group("child", "c-net", 200, collection("c-net", 100, "Allow", net_rule("ntp", ports=["123"]))),
    ]


class Reader:
    """Reads documents by ID as a live source would, and records every read."""

    def __init__(self, docs: list[Doc], absent: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.by_id = {d["id"].lower(): d for d in docs if d["name"] not in absent}
        self.reads: list[str] = []

    def policy(self, pid: str) -> Doc | None:
        self.reads.append(pid.rsplit("/", 1)[-1])
        return self.by_id.get(pid.lower())

    def groups(self, pid: str, _policy: Doc) -> list[Doc]:
        return [d for k, d in self.by_id.items() if k.startswith(pid.lower() + "/rulecollectiongroups/")]


def test_the_chain_is_read_once_child_first_and_carried_root_first() -> None:
    reader = Reader(three_levels())
    docs = read_policy_docs(POLICY_ID + "child", reader.policy, reader.groups)
    assert reader.reads == ["child", "parent", "root"]
    assert docs is not None
    assert [d.policy["name"] for d in docs.chain] == ["root", "parent", "child"]
    assert [len(d.groups) for d in docs.chain] == [1, 1, 2]
    assert docs.chain[1] is docs.parent and docs.chain[-1] is docs
    assert all(d.missing_parent == "" for d in docs.chain)


def test_the_compiled_policy_takes_the_chain_in_processing_order() -> None:
    compiled = compile_policy(policy_docs_from_resources(three_levels(), POLICY_ID + "child"))
    names = [(r.ref.policy, r.ref.rule, r.ref.inherited) for r in compiled.rules if r.ref]
    assert names == [
        ("child", "ntp", False),  # every network rule before the first application rule
        ("root", "no-gh", True),
        ("parent", "k8s", True),
        ("child", "gh", False),
    ]
    r = evaluate(compiled, https("github.com"))
    assert r.verdict is Verdict.DENY
    assert r.evidence == (
        "denied by application rule 'no-gh' in collection 'r-deny' (priority 100) "
        "of group 'r' (priority 100) in policy root, inherited"
    )


def test_a_parent_that_cannot_be_read_ends_the_chain_and_leaves_its_rules_unknown() -> None:
    reader = Reader(three_levels(), absent={"parent"})
    docs = read_policy_docs(POLICY_ID + "child", reader.policy, reader.groups)
    assert reader.reads == ["child", "parent"]
    assert docs is not None and [d.policy["name"] for d in docs.chain] == ["child"]
    assert docs.missing_parent == POLICY_ID + "parent"
    compiled = compile_policy(docs)
    r = evaluate(compiled, https("github.com"))
    assert r.verdict is Verdict.UNKNOWN
    # The stand-in heads both rule kinds, so it is named once per kind (as before the split).
    gap = "the rules of parent policy parent (the parent policy parent was not supplied)"
    assert r.evidence == (
        f"cannot decide: {gap} / {gap} may decide first; otherwise allowed by application rule 'gh' in "
        "collection 'c-allow' (priority 100) of group 'c' (priority 100) in policy child"
    )
    assert compiled.notes == (
        f"policy child inherits from {POLICY_ID}parent, which was not supplied: its rules come first",
    )


def test_a_policy_that_cannot_be_read_gives_no_chain() -> None:
    reader = Reader(three_levels(), absent={"child"})
    assert read_policy_docs(POLICY_ID + "child", reader.policy, reader.groups) is None
    assert reader.reads == ["child"]


def test_a_cycle_of_parents_is_read_once_and_its_repeat_counts_as_not_supplied() -> None:
    docs = [
        policy("a", base="b"),
        policy("b", base="a"),
        group("a", "g", 100, collection("allow", 100, "Allow", app_rule("gh", ["github.com"]))),
    ]
    reader = Reader(docs)
    walked = read_policy_docs(POLICY_ID + "a", reader.policy, reader.groups)
    assert reader.reads == ["a", "b"]
    assert walked is not None and [d.policy["name"] for d in walked.chain] == ["b", "a"]
    assert walked.chain[0].missing_parent == POLICY_ID + "a"
    from_folder = policy_docs_from_resources(docs, POLICY_ID + "a")
    assert [d.policy["name"] for d in from_folder.chain] == ["b", "a"]
    assert evaluate(compile_policy(from_folder), https("github.com")).verdict is Verdict.UNKNOWN


def test_only_documents_under_a_policy_are_its_groups() -> None:
    stray = group("other", "g", 100, collection("deny", 100, "Deny", app_rule("x", ["github.com"])))
    docs = read_policy_docs(POLICY_ID + "child", Reader(three_levels()).policy, lambda _pid, _pol: [stray])
    assert docs is not None and all(d.groups == () for d in docs.chain)


def test_hand_built_documents_carry_their_chain_too() -> None:
    root = FirewallPolicyDocs(policy("root"))
    child = FirewallPolicyDocs(policy("child", base="root"), (), root)
    assert child.chain == (root, child) and root.chain == (root,)
    orphan = FirewallPolicyDocs(policy("child", base="root"))
    assert orphan.chain == (orphan,) and orphan.missing_parent == POLICY_ID + "root"


def test_a_read_error_for_the_policy_itself_reaches_the_caller() -> None:
    def fail(pid: str) -> Doc | None:
        raise LookupError(pid)

    with pytest.raises(LookupError):
        read_policy_docs(POLICY_ID + "child", fail, lambda _pid, _pol: [])
