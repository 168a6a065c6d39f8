"""The corpus of bad inputs: each gives one clear, located message and exit code 2.

Each file in tests/bad_specs starts with `# expect: <text in the message>` and `# field: <field>`.
Grow the corpus whenever a user trips over a message that was not clear.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import run_cli

CORPUS = sorted((Path(__file__).parents[1] / "bad_specs").glob("*.yaml"))


def _expectations(path: Path) -> tuple[str, str]:
    head = path.read_text().splitlines()[:2]
    return head[0].removeprefix("# expect: "), head[1].removeprefix("# field: ").strip()


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_bad_spec_is_reported_clearly(path, tmp_path):
    expect, field = _expectations(path)
    out = tmp_path / "out"
    result = run_cli("plan", "-f", str(path), "--out", str(out))
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one message, got:\n{result.stderr}"
    message = lines[0]
    assert message.startswith(f"error: {path}:"), message
    assert re.match(rf"error: {re.escape(str(path))}:\d+: ", message), f"no line number in {message!r}"
    assert expect in message, message
    if field:
        assert f": {field}: " in message, message
    assert "Traceback" not in result.stderr
    assert not out.exists(), "a rejected spec must leave nothing on disk"


def test_corpus_is_not_empty():
    assert len(CORPUS) >= 20
