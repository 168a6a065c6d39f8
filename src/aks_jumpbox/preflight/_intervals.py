"""Sets of integers as sorted, disjoint, inclusive intervals, and the port sets both evaluators use.

Ports and IP addresses both become integers, so one small set algebra serves NSG and firewall ports,
protocols, address prefixes and ranges. Exact set arithmetic is what lets the evaluators tell a rule
that covers a whole flow from one that covers only part of it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any


@dataclass(frozen=True)
class Intervals:
    """An immutable set of integers; ``spans`` are sorted, disjoint, non-adjacent ``(lo, hi)``."""

    spans: tuple[tuple[int, int], ...] = ()

    @staticmethod
    def of(spans: Iterable[tuple[int, int]]) -> Intervals:
        ordered = sorted((lo, hi) for lo, hi in spans if lo <= hi)
        merged: list[tuple[int, int]] = []
        for lo, hi in ordered:
            if merged and lo <= merged[-1][1] + 1:
                if hi > merged[-1][1]:
                    merged[-1] = (merged[-1][0], hi)
            else:
                merged.append((lo, hi))
        return Intervals(tuple(merged))

    @staticmethod
    def span(lo: int, hi: int) -> Intervals:
        return Intervals(((lo, hi),)) if lo <= hi else Intervals()

    def __bool__(self) -> bool:
        return bool(self.spans)

    def __len__(self) -> int:
        """Number of integers in the set."""
        return sum(hi - lo + 1 for lo, hi in self.spans)

    def __or__(self, other: Intervals) -> Intervals:
        if not other.spans:
            return self
        if not self.spans:
            return other
        return Intervals.of(self.spans + other.spans)

    def __and__(self, other: Intervals) -> Intervals:
        out: list[tuple[int, int]] = []
        a, b = self.spans, other.spans
        i = j = 0
        while i < len(a) and j < len(b):
            lo = max(a[i][0], b[j][0])
            hi = min(a[i][1], b[j][1])
            if lo <= hi:
                out.append((lo, hi))
            if a[i][1] < b[j][1]:
                i += 1
            else:
                j += 1
        return Intervals(tuple(out))

    def __sub__(self, other: Intervals) -> Intervals:
        if not self.spans or not other.spans:
            return self
        out: list[tuple[int, int]] = []
        b = other.spans
        j = 0
        for lo, hi in self.spans:
            cur = lo
            while j < len(b) and b[j][1] < cur:
                j += 1
            k = j
            while k < len(b) and b[k][0] <= hi:
                if b[k][0] > cur:
                    out.append((cur, b[k][0] - 1))
                cur = max(cur, b[k][1] + 1)
                if cur > hi:
                    break
                k += 1
            if cur <= hi:
                out.append((cur, hi))
        return Intervals(tuple(out))

    def split(self, value: Intervals) -> tuple[Intervals | None, Intervals | None]:
        """(value & self, value - self), with None for empty parts.

        Rules are small (a few spans) while a flow's undecided remainder can fragment into thousands
        of spans; each rule span is therefore located by bisection and the remainder rebuilt by
        slicing, instead of walking every span.
        """
        if not value.spans:
            return None, None
        if not self.spans or value.spans[-1][1] < self.spans[0][0] or value.spans[0][0] > self.spans[-1][1]:
            return None, value
        if len(self.spans) > 8:
            common = value & self
            if not common:
                return None, value
            return common, (value - common) or None
        inside: list[tuple[int, int]] = []
        rest = value.spans
        for lo, hi in self.spans:
            got, rest = _cut(rest, lo, hi)
            inside.extend(got)
            if not rest:
                break
        if not inside:
            return None, value
        return Intervals(tuple(inside)), (Intervals(rest) if rest else None)

    def covers(self, other: Intervals) -> bool:
        """True when every element of ``other`` is in this set."""
        return not (other - self)

    def overlaps(self, other: Intervals) -> bool:
        return bool(self & other)

    def __contains__(self, value: int) -> bool:
        return any(lo <= value <= hi for lo, hi in self.spans)


_START = itemgetter(0)


def _cut(
    spans: tuple[tuple[int, int], ...], lo: int, hi: int
) -> tuple[list[tuple[int, int]], tuple[tuple[int, int], ...]]:
    """Split sorted disjoint ``spans`` by ``[lo, hi]``: (the parts inside, the spans outside)."""
    i = bisect_right(spans, lo, key=_START) - 1
    if i < 0 or spans[i][1] < lo:
        i += 1  # first span ending at or after lo
    j = bisect_right(spans, hi, key=_START)  # spans[i:j] overlap [lo, hi]
    if i >= j:
        return [], spans
    inside = list(spans[i:j])
    left: tuple[tuple[int, int], ...] = ()
    right: tuple[tuple[int, int], ...] = ()
    a, b = inside[0]
    if a < lo:
        left = ((a, lo - 1),)
        inside[0] = (lo, b)
    a, b = inside[-1]
    if b > hi:
        right = ((hi + 1, b),)
        inside[-1] = (a, hi)
    return inside, spans[:i] + left + right + spans[j:]


# ---- ports, as NSG rules, firewall rules and flows write them

ALL_PORTS = Intervals.span(0, 65535)


def parse_ports(items: Iterable[str]) -> Intervals:
    """``*``, ``443``, ``60000-60001`` and lists of them as a port set."""
    spans: list[tuple[int, int]] = []
    for item in items:
        s = str(item).strip()
        if s in ("*", "Any", "any"):
            return ALL_PORTS
        lo_s, sep, hi_s = s.partition("-")
        try:
            lo = int(lo_s)
            hi = int(hi_s) if sep else lo
        except ValueError:
            raise ValueError(f"{item!r} is not a port, a port range a-b, or *") from None
        if not (0 <= lo <= hi <= 65535):
            raise ValueError(f"{item!r} is not a port range within 0-65535")
        spans.append((lo, hi))
    return Intervals.of(spans)


def parse_port_arg(value: int | str) -> Intervals:
    """A flow's port: an int, ``"a-b"``, a comma list of them, or ``"*"``."""
    return parse_ports(str(value).split(","))


def spans_text(iv: Intervals) -> str:
    """``80,443,8000-8080``: the set as a rule would list it."""
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in iv.spans)


def exact_split(rule: Intervals, value: Intervals) -> tuple[Any, Any, Any]:
    """A rule's split of a flow's dimension where nothing is unknown (protocols, ports), in the
    (inside, possibly inside, outside) shape first-match evaluation takes."""
    inside, out = rule.split(value)
    return inside, None, out
