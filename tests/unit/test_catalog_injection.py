"""The catalog is passed in: the CLI loads it once, the core uses the one it is given."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
import yaml

import aks_jumpbox
from aks_jumpbox.core.errors import SpecError
from aks_jumpbox.core.lock import load_lock
from aks_jumpbox.core.mirror import mirror_items
from aks_jumpbox.core.plan import build_plan
from aks_jumpbox.core.spec import Spec, parse_spec
from aks_jumpbox.core.yamlfile import load_yaml
from aks_jumpbox.report.software import software_report
from tests.conftest import CATALOG

PACKAGE = Path(aks_jumpbox.__file__).parent


def _uses_of_load_catalog(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == "load_catalog" for a in node.names):
            lines.append(node.lineno)
        elif isinstance(node, ast.Name) and node.id == "load_catalog":
            lines.append(node.lineno)
        elif isinstance(node, ast.Attribute) and node.attr == "load_catalog":
            lines.append(node.lineno)
    return lines


def test_only_the_cli_loads_the_catalog():
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("cli/") or rel == "core/catalog.py":
            continue
        if lines := _uses_of_load_catalog(path):
            offenders[rel] = lines
    assert not offenders, f"load the catalog in the CLI and pass it down: {offenders}"


def test_the_ast_check_finds_a_load(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text("from aks_jumpbox.core import catalog\n\n\ndef f():\n    return catalog.load_catalog().tools\n")
    assert _uses_of_load_catalog(sample) == [5]


@pytest.fixture
def no_global_catalog(monkeypatch):
    """Every load_catalog the package's modules hold now fails the test."""

    def refuse():
        raise AssertionError("the core loaded the catalog itself")

    for name, module in list(sys.modules.items()):
        if name.startswith("aks_jumpbox") and hasattr(module, "load_catalog"):
            monkeypatch.setattr(module, "load_catalog", refuse)


def _spec(data: dict, catalog) -> Spec:
    return parse_spec(load_yaml(yaml.safe_dump(data, sort_keys=False), "jumpbox.yaml"), catalog)


def test_the_whole_offline_path_runs_on_the_given_catalog(no_global_catalog, default_data):
    spec = _spec(default_data, CATALOG)
    lock, _ = load_lock(None, CATALOG)
    plan = build_plan(spec, lock, catalog=CATALOG)
    assert software_report(plan, catalog=CATALOG)["tools"]
    assert mirror_items(spec, lock, CATALOG)


def test_the_plan_uses_the_catalog_it_is_given(default_data, default_lock):
    helm = CATALOG.tool("helm")
    helm = helm.model_copy(update={"hosts": (*helm.hosts, "cdn.helm.example")})
    other = CATALOG.model_copy(update={"tools": {**CATALOG.tools, "helm": helm}})
    spec = _spec(default_data, CATALOG)
    assert "cdn.helm.example" not in build_plan(spec, default_lock, catalog=CATALOG).network.fqdns
    assert "cdn.helm.example" in build_plan(spec, default_lock, catalog=other).network.fqdns


def test_the_spec_is_checked_against_the_catalog_it_is_given(default_data):
    fewer = CATALOG.model_copy(update={"tools": {k: v for k, v in CATALOG.tools.items() if k != "helm"}})
    with pytest.raises(SpecError, match="unknown tool 'helm'"):
        _spec(default_data, fewer)


def test_a_spec_validated_without_a_catalog_says_how():
    with pytest.raises(TypeError, match="context=.*catalog"):
        Spec.model_validate({"tools": {}, "base_image": "ubuntu-24.04"})
