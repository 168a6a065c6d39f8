"""The Azure commands' surface that needs no Azure: lazy imports, help, the preflight hook."""

from __future__ import annotations

import importlib.machinery
import subprocess
import sys
import types

import pytest

from aks_jumpbox.core.errors import OperationFailed
from tests.conftest import run_without_importing

AZURE_COMMANDS = ["deploy", "build", "status", "watch", "cancel", "logs", "cleanup"]


@pytest.mark.parametrize("name", AZURE_COMMANDS)
def test_help_of_azure_commands_does_not_load_the_sdk(name):
    result = run_without_importing([name, "--help"])
    assert result.returncode == 0, result.stderr
    assert "--arm-endpoint" in result.stdout and "--output" in result.stdout


def test_build_has_the_preflight_escape_hatch():
    result = subprocess.run([sys.executable, "-m", "aks_jumpbox.cli.main", "build", "--help"], capture_output=True,
                            text=True)
    for flag in ("--skip-check", "--force", "--no-wait", "--keep-on-error", "--remove-image-role"):
        assert flag in result.stdout


class _Report:
    def __init__(self, ok: bool) -> None:
        self.ok = ok

    def __str__(self) -> str:
        return "subnet snet-imagebuilder: NSG denies AzureLoadBalancer -> 60001"


@pytest.fixture
def fake_checks(monkeypatch):
    """Stands in for the preflight helper's module until it lands: same name, same contract."""
    seen = []
    module = types.ModuleType("aks_jumpbox.preflight.checks")
    module.__spec__ = importlib.machinery.ModuleSpec(module.__name__, None)
    module.result = True

    def run_checks(plan, source):
        seen.append((plan, source))
        return _Report(module.result)

    module.run_checks = run_checks
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module, seen


def test_preflight_hook_runs_checks_and_stops_the_build_when_they_fail(fake_checks, default_plan, capsys):
    from aks_jumpbox.cli.commands.build import run_preflight

    module, seen = fake_checks
    assert run_preflight(default_plan, "source", "text").ok
    module.result = False
    with pytest.raises(OperationFailed, match="--skip-check"):
        run_preflight(default_plan, "source", "text")
    assert "NSG denies" in capsys.readouterr().out
    assert seen == [(default_plan, "source")] * 2


def test_preflight_hook_is_skipped_while_the_module_is_absent(default_plan, monkeypatch):
    from aks_jumpbox.cli.commands import build

    monkeypatch.setattr(build, "PREFLIGHT", "aks_jumpbox.preflight.not_there")
    assert build.run_preflight(default_plan, "source", "text") is None
