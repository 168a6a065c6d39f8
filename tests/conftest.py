"""Shared fixtures: the default spec/lock, plans for variants, and a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aks_jumpbox.core.catalog import load_catalog
from aks_jumpbox.core.lock import load_lock
from aks_jumpbox.core.plan import build_plan
from aks_jumpbox.core.spec import default_spec_text, parse_spec
from aks_jumpbox.core.yamlfile import load_yaml

ROOT = Path(__file__).resolve().parents[1]
CATALOG = load_catalog()  # what the CLI hands the core; tests pass it the same way

# The ARM emulator, Azurite and their fixtures (arm_emulator, azurite, azure_env, ...): tests/emulator/README.md
pytest_plugins = ["tests.emulator.plugin"]


def spec_from(data: dict):
    return parse_spec(load_yaml(yaml.safe_dump(data, sort_keys=False), "test.yaml"), CATALOG)


@pytest.fixture(scope="session")
def default_data() -> dict:
    return yaml.safe_load(default_spec_text())


@pytest.fixture(scope="session")
def default_lock():
    return load_lock(None, CATALOG)[0]


def make_plan(data: dict, lock):
    return build_plan(spec_from(data), lock, catalog=CATALOG)


@pytest.fixture(scope="session")
def default_plan(default_data, default_lock):
    return make_plan(default_data, default_lock)


def variant(data: dict, **changes) -> dict:
    """A deep copy of data with dotted-path changes applied (value None deletes the key)."""
    import copy

    out = copy.deepcopy(data)
    for dotted, value in changes.items():
        node = out
        *parents, last = dotted.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return out


def run_cli(
    *args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "aks_jumpbox.cli.main", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_without_importing(args: list[str], forbidden: tuple[str, ...] = ("azure",)) -> subprocess.CompletedProcess:
    """Run the CLI in a fresh interpreter; it fails (non-zero) if the command failed or imported a
    module whose name starts with one of `forbidden` (e.g. the Azure SDK for an offline command)."""
    code = (
        "import sys; from aks_jumpbox.cli.main import main\n"
        f"rc = main({list(args)!r})\n"
        "assert rc == 0, rc\n"
        f"heavy = sorted(m for m in sys.modules if m.startswith({tuple(forbidden)!r}))\n"
        "assert not heavy, f'imported {heavy[:5]}'\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
