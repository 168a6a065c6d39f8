"""The Azure commands' surface that needs no Azure: lazy imports, help, the preflight hook."""

from __future__ import annotations

import subprocess
import sys

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
    result = subprocess.run(
        [sys.executable, "-m", "aks_jumpbox.cli.main", "build", "--help"], capture_output=True, text=True
    )
    for flag in ("--skip-check", "--force", "--no-wait", "--keep-on-error", "--remove-image-role"):
        assert flag in result.stdout


class _Report:
    def __init__(self, ok: bool) -> None:
        self.ok = ok

    def __str__(self) -> str:
        return "subnet snet-imagebuilder: NSG denies AzureLoadBalancer -> 60001"


def test_preflight_hook_runs_checks_and_stops_the_build_when_they_fail(default_plan, capsys, monkeypatch):
    from aks_jumpbox.cli.commands.build import run_preflight
    from aks_jumpbox.preflight import checks

    seen, result = [], [True]

    def run_checks(plan, source):
        seen.append((plan, source))
        return _Report(result[0])

    monkeypatch.setattr(checks, "run_checks", run_checks)
    assert run_preflight(default_plan, "source", "text").ok
    result[0] = False
    with pytest.raises(OperationFailed, match="--skip-check"):
        run_preflight(default_plan, "source", "text")
    assert "NSG denies" in capsys.readouterr().out
    assert seen == [(default_plan, "source")] * 2


def test_preflight_hook_stops_the_build_on_a_real_failing_check(tmp_path, capsys):
    """The hook reads the real checks against any Source it is handed (here a snapshot folder)."""
    from aks_jumpbox.cli.commands.build import run_preflight
    from aks_jumpbox.preflight.snapshot import load_snapshot
    from tests.preflight.world import World

    w = World.upstream()
    w.docs["nsg.json"]["properties"]["securityRules"] = [r for r in w.nsg_rules() if r["name"] != "AllowVNet22InBound"]
    with pytest.raises(OperationFailed, match="preflight checks failed"):
        run_preflight(w.plan, load_snapshot(w.write(tmp_path / "snap")), "text")
    assert "FAIL nsg.build-in-ssh-from-proxy" in capsys.readouterr().out
