"""Sets of integers as sorted, disjoint, inclusive intervals.

Ports and IP addresses both become integers, so one small set algebra serves NSG ports, NSG and
firewall address prefixes and ranges. Exact set arithmetic is what lets the evaluators tell a rule
that covers a whole flow from one that covers only part of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


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

    def covers(self, other: Intervals) -> bool:
        """True when every element of ``other`` is in this set."""
        return not (other - self)

    def overlaps(self, other: Intervals) -> bool:
        return bool(self & other)

    def __contains__(self, value: int) -> bool:
        return any(lo <= value <= hi for lo, hi in self.spans)
