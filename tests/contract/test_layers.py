"""The layers contract (tests/support/layers.py): cli -> azure/render/preflight/report -> core ->
adapters -> core.errors, the Azure SDK only under aks_jumpbox/azure/, no cycles between packages.
It runs in `uv run pytest`, so CI fails on an import against the direction."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import aks_jumpbox
from tests.support import layers

SRC = Path(aks_jumpbox.__file__).parent


def test_the_source_tree_keeps_its_layers():
    assert layers.violations(SRC) == []


def test_the_contract_reads_the_whole_tree_deferred_imports_included():
    """Guards against a vacuous pass: the reader sees the imports the contract is about."""
    found = {(i.importer, i.target) for i in layers.imports(SRC)}
    assert len({i for i, _ in found}) >= 90  # every module of the package
    assert ("aks_jumpbox.cli.commands.check", "aks_jumpbox.azure.preflight") in found  # inside a function
    assert ("aks_jumpbox.azure.preflight", "azure.core.rest") in found  # the SDK, deferred
    assert ("aks_jumpbox.core.plan", "aks_jumpbox.core.scripts") in found


@pytest.fixture
def tree(tmp_path) -> Path:
    """A copy of the real package to break on purpose."""
    root = tmp_path / "aks_jumpbox"
    shutil.copytree(SRC, root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    assert layers.violations(root) == []
    return root


def _append(file: Path, code: str) -> None:
    file.write_text(file.read_text(encoding="utf-8") + "\n\n" + code + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("file", "code", "says"),
    [
        # the cycle this contract was written against: preflight reaching for the live source itself
        (
            "preflight/checks.py",
            "def live(az):\n    from aks_jumpbox.azure.preflight import LiveSource\n    return LiveSource(az)",
            "preflight imports aks_jumpbox.azure.preflight (azure)",
        ),
        ("core/plan.py", "from aks_jumpbox.render import arm", "core imports aks_jumpbox.render.arm (render)"),
        ("core/spec.py", "from ..cli import present", "core imports aks_jumpbox.cli.present (cli)"),
        ("core/spec.py", "from aks_jumpbox import cli", "core imports aks_jumpbox.cli (cli)"),
        ("render/arm.py", "from aks_jumpbox.report.sbom import x", "render imports aks_jumpbox.report.sbom"),
        (
            "azure/apply.py",
            "from aks_jumpbox.preflight.checks import run_checks",
            "of preflight it may import only aks_jumpbox.preflight.source",
        ),
        ("adapters/files.py", "from aks_jumpbox.core.spec import Spec", "adapters imports aks_jumpbox.core.spec"),
        ("core/errors.py", "from aks_jumpbox.adapters import files", "errors imports aks_jumpbox.adapters.files"),
        (
            "report/sbom.py",
            "if TYPE_CHECKING:\n    from aks_jumpbox.cli.context import Ctx",
            "report imports aks_jumpbox.cli.context",
        ),
        (
            "cli/main.py",
            "import importlib\nimportlib.import_module('aks_jumpbox.nowhere.x')",
            "'nowhere' is not a layer of the contract",
        ),
        (
            "preflight/source.py",
            "def sdk():\n    import azure.mgmt.network",
            "imports the Azure SDK (azure.mgmt.network)",
        ),
        ("render/output.py", "from azure.identity import DefaultAzureCredential", "imports the Azure SDK"),
    ],
)
def test_a_wrong_import_breaks_the_contract(tree, file, code, says):
    _append(tree / file, code)
    found = layers.violations(tree)
    assert found, f"{file} + {code!r} passed the contract"
    assert any(says in v and v.startswith(f"aks_jumpbox/{file}:") for v in found), found


def test_the_sdk_is_allowed_under_azure(tree):
    _append(tree / "azure" / "clients.py", "def f():\n    import azure.mgmt.compute")
    assert layers.violations(tree) == []


def test_a_cycle_between_packages_is_named(tree):
    """With a table that allowed both directions, the cycle itself still fails."""
    allowed = {**layers.ALLOWED, "core": layers.ALLOWED["core"] | {"render"}}
    _append(tree / "core" / "plan.py", "def f():\n    from aks_jumpbox.render.arm import render_arm")
    found = layers.violations(tree, allowed=allowed)
    assert "import cycle between packages: core -> render -> core" in found
    assert len(found) == 1


def test_cycles_are_found_in_a_graph():
    assert layers.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert layers.cycles({"a": {"b"}, "b": {"c"}, "d": {"a"}}) == []
