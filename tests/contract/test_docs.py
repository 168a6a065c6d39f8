"""The README's claims that a test can keep true: the files "Where things go" names exist, every
catalog tool is in the shipped lock with an example its regex reads, every command has its help."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest

from aks_jumpbox.cli.main import COMMANDS
from aks_jumpbox.core.catalog import load_catalog
from aks_jumpbox.core.lock import default_lock_text

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"### {title}\n")
    end = README.find("\n#", start + 1)
    return README[start:] if end < 0 else README[start:end]


def _named_paths(text: str) -> list[str]:
    return sorted({p for p in re.findall(r"`((?:src|tests)/[^`*]+)`", text)})


def test_where_things_go_names_only_files_that_exist() -> None:
    paths = _named_paths(_section("Where things go"))
    assert len(paths) >= 10  # the section is there and names its files
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert missing == []


def test_the_readme_checker_sees_a_missing_file() -> None:
    assert _named_paths("touch `src/aks_jumpbox/nowhere.py` and `tests/x/`") == [
        "src/aks_jumpbox/nowhere.py",
        "tests/x/",
    ]
    assert not (ROOT / "src/aks_jumpbox/nowhere.py").exists()


@pytest.mark.parametrize("name", sorted(load_catalog().tools))
def test_every_catalog_tool_is_locked_and_its_example_reads(name: str) -> None:
    tool = load_catalog().tools[name]
    locked = json.loads(default_lock_text())["tools"]
    assert name in locked, f"{name}: add its artifacts to src/aks_jumpbox/data/jumpbox.lock.json"
    versions = {entry["version"] for entry in locked[name]}
    assert tool.version.parse(tool.version.example) is not None
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in versions)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_a_module_and_help(name: str) -> None:
    module = importlib.import_module(f"aks_jumpbox.cli.commands.{COMMANDS[name][0]}")
    assert module.command.help or module.command.short_help
    assert COMMANDS[name][1].endswith(".")
