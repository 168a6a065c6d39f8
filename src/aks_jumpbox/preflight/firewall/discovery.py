"""A firewall policy's documents: the policy, its rule collection groups, its parent chain, IP groups.

The parent chain (``basePolicy``) is walked once, by :func:`read_policy_docs`, whether the documents
come from a folder or are read one by one from Azure; each :class:`FirewallPolicyDocs` carries the
chain it ends, so compiling walks nothing again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aks_jumpbox.preflight._arm import ResourceFormatError, id_of, props

Doc = Mapping[str, Any]


@dataclass(frozen=True)
class FirewallPolicyDocs:
    """A firewall policy's ARM document, its rule collection groups, and its parent's, if known."""

    policy: Mapping[str, Any]
    groups: tuple[Mapping[str, Any], ...] = ()
    parent: FirewallPolicyDocs | None = None
    # Root-most policy first, this one last: the parent's chain plus this policy, built with it.
    chain: tuple[FirewallPolicyDocs, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "chain", (*(self.parent.chain if self.parent else ()), self))

    @property
    def base_policy_id(self) -> str | None:
        return _base_policy_id(self.policy)

    @property
    def missing_parent(self) -> str:
        """The ID of the parent this policy names but that was not supplied ("" when none)."""
        base = self.base_policy_id
        return base if base and self.parent is None else ""


def _base_policy_id(policy: Doc) -> str | None:
    base = props(policy, "firewall policy").get("basePolicy")
    return base.get("id") if isinstance(base, dict) and isinstance(base.get("id"), str) else None


def read_policy_docs(
    policy_id: str,
    read_policy: Callable[[str], Doc | None],
    read_groups: Callable[[str, Doc], Iterable[Doc]],
) -> FirewallPolicyDocs | None:
    """Walk the chain from ``policy_id`` up its parents, once.

    ``read_policy``: a policy's document by ID, None when it is not there (a parent that cannot be read
    ends the chain; the evaluator then counts its rules as unknown). ``read_groups``: documents that
    may be the policy's rule collection groups; those under the policy document's ID are. None when
    the policy itself cannot be read.
    """
    found: list[tuple[Doc, tuple[Doc, ...]]] = []
    seen: set[str] = set()
    pid: str | None = policy_id
    while pid and pid.lower() not in seen:
        seen.add(pid.lower())
        policy = read_policy(pid)
        if policy is None:
            break
        prefix = id_of(dict(policy)).lower() + "/rulecollectiongroups/"
        groups = tuple(g for g in read_groups(pid, policy) if id_of(dict(g)).lower().startswith(prefix))
        found.append((policy, groups))
        pid = _base_policy_id(policy)
    docs: FirewallPolicyDocs | None = None
    for policy, groups in reversed(found):
        docs = FirewallPolicyDocs(policy, groups, docs)
    return docs


def policy_docs_from_resources(resources: Iterable[Mapping[str, Any]], policy_id: str) -> FirewallPolicyDocs:
    """Pick a policy, its groups and its parent chain out of a folder's worth of ARM documents."""
    docs = [r for r in resources if isinstance(r, Mapping)]
    by_id = {id_of(dict(r)).lower(): r for r in docs}
    out = read_policy_docs(policy_id, lambda pid: by_id.get(pid.lower()), lambda _pid, _policy: docs)
    if out is None:
        raise ResourceFormatError(f"firewall policy {policy_id} is not among the resources given")
    return out


def ip_groups_from_resources(resources: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """IP group ID -> addresses, from ``Microsoft.Network/ipGroups`` documents."""
    out: dict[str, tuple[str, ...]] = {}
    for r in resources:
        if str(r.get("type", "")).lower() == "microsoft.network/ipgroups":
            ips = props(r, "IP group").get("ipAddresses") or []
            out[id_of(dict(r))] = tuple(str(x) for x in ips)
    return out
