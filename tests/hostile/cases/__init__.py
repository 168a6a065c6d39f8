"""The hostile-input corpus: every case, from the modules of this package (see tests/hostile/README.md)."""

from __future__ import annotations

from collections import Counter

from tests.hostile.cases import azure, ci, files, locks, mirror, spec_values

ALL = [*spec_values.CASES, *locks.CASES, *files.CASES, *azure.CASES, *mirror.CASES, *ci.CASES]

_dupes = [k for k, n in Counter(c.id for c in ALL).items() if n > 1]
assert not _dupes, f"duplicate case ids: {_dupes}"
