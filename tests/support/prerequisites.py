"""Tests that need something of the machine (root, mmdebstrap, QEMU, tmux): skipped with the reason where it
is missing, but a failure under CI=true, where .ci/run installs every prerequisite and these must run."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import NoReturn, TypeVar

import pytest

T = TypeVar("T")


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def prepared(what: str, missing: Callable[[], str | None], build: Callable[[], T], failure: type[Exception]) -> T:
    """build() (a cached image or disk), or unavailable() with why: a missing prerequisite or a `failure`."""
    reason = missing()
    if reason:
        unavailable(reason)
    started = time.monotonic()
    try:
        made = build()
    except failure as exc:
        unavailable(str(exc))
    print(f"\n{what} ready in {time.monotonic() - started:.1f}s")
    return made
