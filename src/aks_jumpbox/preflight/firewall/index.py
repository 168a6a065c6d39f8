"""A compiled policy: its rules in processing order, and an index of the rules a flow can meet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from aks_jumpbox.preflight._firstmatch import Box
from aks_jumpbox.preflight._intervals import Intervals
from aks_jumpbox.preflight.firewall.model import FirewallContext, NamedDest, Rule
from aks_jumpbox.preflight.fqdn import FqdnSet


@dataclass(frozen=True)
class CompiledPolicy:
    name: str
    network_rules: tuple[Rule, ...]
    application_rules: tuple[Rule, ...]
    notes: tuple[str, ...]
    context: FirewallContext
    # Candidate lists per (protocol, port, app protocol): filled on first use.
    _by_ports: dict[tuple[Any, ...], tuple[int, ...]] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule in processing order: all network rules, then all application rules."""
        return (*self.network_rules, *self.application_rules)

    @cached_property
    def _names(self) -> _NameIndex:
        return _NameIndex.build(self.rules)

    def candidates(self, box: Box, app_protocol: str | None) -> tuple[Rule, ...]:
        """The rules that can match ``box`` at all, in processing order.

        A policy of thousands of rules mostly holds rules for other ports and other names; skipping
        them up front (by protocol and port, then by name) leaves the evaluation exact and fast.
        """
        _, proto, port, dest = box
        key = (proto.spans, port.spans, app_protocol)
        ids = self._by_ports.get(key)
        if ids is None:
            ids = tuple(i for i, r in enumerate(self.rules) if _may_match_ports(r, proto, port, app_protocol))
            self._by_ports[key] = ids
        if isinstance(dest, NamedDest):
            by_name = self._names.candidates(dest.names)
            ids = tuple(i for i in ids if not self.rules[i].is_app or i in by_name)
        return tuple(self.rules[i] for i in ids)


def _may_match_ports(rule: Rule, proto: Intervals, port: Intervals, app_protocol: str | None) -> bool:
    if rule.missing_parent:
        return True
    if rule.is_app:
        assert rule.app_ports is not None
        ports = rule.app_ports.get(app_protocol) if app_protocol else None
        return ports is not None and ports.overlaps(port) and rule.protocols.overlaps(proto)
    return rule.ports.overlaps(port) and rule.protocols.overlaps(proto)


@dataclass(frozen=True)
class _NameIndex:
    """Application rules by the names they target; ``always``: rules that may match any name."""

    exact: dict[str, list[int]]
    wild: dict[str, list[int]]  # "*.contoso.com" is filed under ".contoso.com"
    always: frozenset[int]

    @staticmethod
    def build(rules: Sequence[Rule]) -> _NameIndex:
        exact: dict[str, list[int]] = {}
        wild: dict[str, list[int]] = {}
        always: set[int] = set()
        for i, r in enumerate(rules):
            if not r.is_app:
                continue
            if r.unknown_names or r.dest_addresses is not None:
                always.add(i)
            for p in r.patterns:
                if p.wildcard and not p.suffix:
                    always.add(i)
                else:
                    (wild if p.wildcard else exact).setdefault(p.suffix, []).append(i)
        return _NameIndex(exact, wild, frozenset(always))

    def candidates(self, names: FqdnSet) -> set[int]:
        out = set(self.always)
        for piece in names.pieces:
            s = piece.pattern.suffix
            if not piece.pattern.wildcard:
                out.update(self.exact.get(s, ()))
                for k in range(len(s) + 1):  # wildcard rules whose suffix ends the name
                    out.update(self.wild.get(s[k:], ()))
            else:  # nested patterns either way round
                for name, ids in self.exact.items():
                    if name.endswith(s):
                        out.update(ids)
                for t, ids in self.wild.items():
                    if t.endswith(s) or s.endswith(t):
                        out.update(ids)
        return out
