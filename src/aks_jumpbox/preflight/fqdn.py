"""FQDN patterns as Azure Firewall matches them, and exact sets of names built from them.

Matching is case-insensitive and ignores a trailing dot. ``*`` matches every name; a leading ``*``
matches any (possibly empty) run of characters before the rest, so ``*.contoso.com`` matches
``a.contoso.com`` and ``a.b.contoso.com`` but never the bare ``contoso.com``. Anything else is an exact
name. A ``*`` elsewhere is rejected, as Azure rejects it.

Because every pattern is "all names ending in S" or one name, two patterns are always either nested
or disjoint. That makes set arithmetic on them exact with a simple representation: a union of pieces,
each a pattern minus some narrower patterns. A flow for ``*.blob.core.windows.net`` (any storage
account) can then be split by rules naming single accounts, and what remains is known exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Pattern:
    """``*`` (``suffix=""``, wildcard), ``*<suffix>`` (wildcard) or an exact name."""

    suffix: str
    wildcard: bool

    @staticmethod
    def parse(text: str) -> Pattern:
        s = text.strip().lower().rstrip(".")
        if not s:
            raise ValueError("an empty FQDN")
        if s.startswith("*"):
            rest = s[1:]
            if "*" in rest:
                raise ValueError(f"{text!r}: a wildcard is allowed only as the leftmost character")
            return Pattern(rest, True)
        if "*" in s:
            raise ValueError(f"{text!r}: a wildcard is allowed only as the leftmost character")
        return Pattern(s, False)

    def matches(self, name: str) -> bool:
        n = name.strip().lower().rstrip(".")
        return n.endswith(self.suffix) if self.wildcard else n == self.suffix

    def covers(self, other: Pattern) -> bool:
        """Every name ``other`` matches, this pattern matches too."""
        if not self.wildcard:
            return not other.wildcard and other.suffix == self.suffix
        return other.suffix.endswith(self.suffix)

    def __str__(self) -> str:
        return f"*{self.suffix}" if self.wildcard else self.suffix


@dataclass(frozen=True)
class Piece:
    pattern: Pattern
    excluded: tuple[Pattern, ...] = ()

    def __str__(self) -> str:
        if not self.excluded:
            return str(self.pattern)
        return f"{self.pattern} except {', '.join(str(e) for e in self.excluded)}"


@dataclass(frozen=True)
class FqdnSet:
    """A set of names: a union of disjoint pieces."""

    pieces: tuple[Piece, ...]

    @staticmethod
    def of(pattern: str) -> FqdnSet:
        return FqdnSet((Piece(Pattern.parse(pattern)),))

    def __bool__(self) -> bool:
        return bool(self.pieces)

    def __or__(self, other: FqdnSet) -> FqdnSet:
        return FqdnSet(self.pieces + other.pieces)

    def split(self, patterns: Iterable[Pattern]) -> tuple[FqdnSet | None, FqdnSet | None]:
        """(names some pattern matches, names none matches)."""
        inside: list[Piece] = []
        outside = list(self.pieces)
        for r in patterns:
            nxt: list[Piece] = []
            for piece in outside:
                p, excl = piece.pattern, piece.excluded
                if r.covers(p):
                    inside.append(piece)
                elif p.covers(r) and not any(e.covers(r) for e in excl):
                    inside.append(Piece(r, tuple(e for e in excl if r.covers(e))))
                    nxt.append(Piece(p, (*(e for e in excl if not r.covers(e)), r)))
                else:
                    nxt.append(piece)
            outside = nxt
        return (FqdnSet(tuple(inside)) or None), (FqdnSet(tuple(outside)) or None)

    def contains(self, name: str) -> bool:
        return any(pc.pattern.matches(name) and not any(e.matches(name) for e in pc.excluded) for pc in self.pieces)

    def __str__(self) -> str:
        return "; ".join(str(p) for p in self.pieces)
