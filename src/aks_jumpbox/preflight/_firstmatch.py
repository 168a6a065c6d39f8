"""First-match-wins evaluation over regions of a flow, with rules that may match only in part.

A flow is a *box*: a tuple of dimension values (protocol, addresses, ports, names...). Rules are
visited in processing order. For each remaining region a rule's matcher returns the part it certainly
covers (decided by that rule), the parts it *may* cover (its content is unknown: an ASG, a service
tag without a table), and the parts it does not cover. Uncertain parts go on with the rule noted as a
possible decider. At the end every part of the flow has one deciding rule (or the default action)
and a list of rules that might have decided it first; the verdict follows from those.

This keeps partial overlaps exact: a rule denying half a source prefix decides that half only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

R = TypeVar("R")
Box = tuple[Any, ...]
# Per dimension: (certainly inside, possibly inside, outside); None means empty.
DimSplit = tuple[Any, Any, Any]
# A rule's match on a box: (certain core or None, uncertain boxes, untouched boxes); None = no overlap.
BoxSplit = tuple[Box | None, list[Box], list[Box]]


class Verdict(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    UNKNOWN = "unknown"


def _union(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return a | b


def split_box(box: Box, parts: Sequence[DimSplit]) -> BoxSplit | None:
    """Combine per-dimension splits into the rule's split of the whole box."""
    possible = []
    for inside, unknown, _ in parts:
        p = _union(inside, unknown)
        if p is None:
            return None
        possible.append(p)
    rest: list[Box] = []
    for d, (_, _, outside) in enumerate(parts):
        if outside is not None:
            rest.append((*possible[:d], outside, *box[d + 1 :]))
    uncertain: list[Box] = []
    core: list[Any] = []
    for d, (inside, unknown, _) in enumerate(parts):
        if unknown is not None:
            uncertain.append((*core, unknown, *possible[d + 1 :]))
        if inside is None:
            return None, uncertain, rest
        core.append(inside)
    return tuple(core), uncertain, rest


@dataclass(frozen=True)
class Outcome(Generic[R]):
    """One part of the flow, the rule that decides it (None: the default action), and the rules
    before it that may apply to that part but could not be resolved."""

    box: Box
    rule: R | None
    maybe: tuple[R, ...]


def first_match(
    rules: Sequence[R], box: Box, match: Callable[[R, Box], BoxSplit | None]
) -> tuple[list[Outcome[R]], bool]:
    """(outcomes in processing order, whether doubts had to be pooled)."""
    pieces: list[tuple[Box, tuple[R, ...]]] = [(box, ())]
    outcomes: list[Outcome[R]] = []
    pooled = False
    for rule in rules:
        if not pieces:
            break
        nxt: list[tuple[Box, tuple[R, ...]]] = []
        for b, maybe in pieces:
            res = match(rule, b)
            if res is None:
                nxt.append((b, maybe))
                continue
            core, uncertain, rest = res
            if core is not None:
                outcomes.append(Outcome(core, rule, maybe))
            nxt.extend((u, (*maybe, rule)) for u in uncertain)
            nxt.extend((r, maybe) for r in rest)
        if len(nxt) > MAX_PIECES:
            nxt = _pool(nxt)
            pooled = True
        pieces = nxt
    outcomes.extend(Outcome(b, None, maybe) for b, maybe in pieces)
    return outcomes, pooled


# Past this many undecided pieces, pieces that differ in one dimension only are pooled (see
# ``_pool``). Real flows stay far below it; it bounds the cost of pathological ones.
MAX_PIECES = 64
# What evidence says when pooling happened (``first_match`` returned True).
POOLED_NOTE = "the flow was cut into very many parts; doubts were pooled, so 'unknown' may be pessimistic"


def _pool(pieces: list[tuple[Box, tuple[R, ...]]]) -> list[tuple[Box, tuple[R, ...]]]:
    """Join pieces that differ in one dimension only, keeping the union of their doubts.

    Sound but coarser: a joined piece carries every doubt of its parts, so a verdict can only move
    towards UNKNOWN, never between ALLOW and DENY. Later rules still split the joined piece exactly.
    """
    for d in range(len(pieces[0][0])):
        groups: dict[tuple[Any, ...], list[tuple[Box, tuple[R, ...]]]] = {}
        for piece in pieces:
            box = piece[0]
            groups.setdefault((*box[:d], *box[d + 1 :]), []).append(piece)
        if len(groups) == len(pieces):
            continue
        joined_all: list[tuple[Box, tuple[R, ...]]] = []
        for members in groups.values():
            values = [b[d] for b, _ in members]
            if len(members) == 1 or not all(hasattr(v, "__or__") and type(v) is type(values[0]) for v in values):
                joined_all.extend(members)
                continue
            joined = values[0]
            for v in values[1:]:
                joined = joined | v
            doubts = tuple(dict.fromkeys(m for _, maybe in members for m in maybe))
            box = members[0][0]
            joined_all.append(((*box[:d], joined, *box[d + 1 :]), doubts))
        pieces = joined_all
        if len(pieces) <= MAX_PIECES // 4:
            break
    return pieces


@dataclass(frozen=True)
class Conclusion(Generic[R]):
    verdict: Verdict
    outcomes: tuple[Outcome[R], ...]
    # The outcome the evidence leads with: first certain deny, else first uncertain, else first allow.
    lead: Outcome[R]
    partial: bool

    def certain(self, access: Callable[[R | None], Verdict | None]) -> list[Outcome[R]]:
        return [o for o in self.outcomes if is_certain(o, access)]


def is_certain(o: Outcome[R], access: Callable[[R | None], Verdict | None]) -> bool:
    decided = access(o.rule)
    return decided is not None and all(access(m) == decided for m in o.maybe)


def conclude(outcomes: Sequence[Outcome[R]], access: Callable[[R | None], Verdict | None]) -> Conclusion[R]:
    """ALLOW when every part is certainly allowed; DENY when some part is certainly denied (the flow
    cannot fully pass); otherwise UNKNOWN."""
    certain_deny = [o for o in outcomes if is_certain(o, access) and access(o.rule) is Verdict.DENY]
    uncertain = [o for o in outcomes if not is_certain(o, access)]
    if certain_deny:
        return Conclusion(Verdict.DENY, tuple(outcomes), certain_deny[0], len(certain_deny) < len(outcomes))
    if uncertain:
        return Conclusion(Verdict.UNKNOWN, tuple(outcomes), uncertain[0], False)
    return Conclusion(Verdict.ALLOW, tuple(outcomes), outcomes[0], False)
