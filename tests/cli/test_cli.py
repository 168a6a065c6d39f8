from __future__ import annotations

import itertools
import json

import yaml

from tests.conftest import ROOT, run_cli, run_without_importing


def test_help_lists_commands_without_loading_the_azure_sdk():
    result = run_without_importing(["--help"], ("azure", "pydantic", "rich"))
    assert result.returncode == 0, result.stderr
    assert "plan" in result.stdout and "Render scripts" in result.stdout


def test_plan_does_not_load_the_azure_sdk(tmp_path):
    result = run_without_importing(["plan", "--out", str(tmp_path / "o")])
    assert result.returncode == 0, result.stderr + result.stdout


def test_plan_is_byte_identical_across_processes_and_time(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_cli("plan", "--out", str(a), env={"TZ": "UTC", "PYTHONHASHSEED": "1"}).returncode == 0
    assert run_cli("plan", "--out", str(b), env={"TZ": "Pacific/Kiritimati", "PYTHONHASHSEED": "2"}).returncode == 0
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files_a == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert len(files_a) >= 9
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    assert (a / "provision.sh").stat().st_mode & 0o111


def test_plan_json_is_machine_readable():
    result = run_cli("plan", "--no-write", "--output", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema"] == "aks-jumpbox/plan/v1" and len(doc["hash"]) == 64
    assert [r["key"] for r in doc["resources"]][-1] == "template"
    assert {a["verification"] for a in doc["artifacts"]} == {"pinned", "upstream-checksum-file-at-build-time"}


def test_init_writes_an_editable_spec_that_plans(tmp_path):
    result = run_cli("init", "--dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    spec = tmp_path / "jumpbox.yaml"
    data = yaml.safe_load(spec.read_text())
    data["build"]["vm_size"] = "Standard_D4ds_v5"
    spec.write_text(yaml.safe_dump(data))
    planned = run_cli("plan", "--out", "out", cwd=tmp_path)  # ./jumpbox.yaml and the lock beside it
    assert planned.returncode == 0, planned.stderr
    assert "Standard_D4ds_v5" in (tmp_path / "out" / "arm" / "resource-group.json").read_text()
    again = run_cli("init", "--dir", str(tmp_path))
    assert again.returncode == 2 and "already exists" in again.stderr and "--force" in again.stderr


def test_missing_spec_file_is_bad_input(tmp_path):
    result = run_cli("plan", "-f", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2 and "no such file" in result.stderr


def test_bad_lock_file_is_bad_input(tmp_path):
    lock = tmp_path / "jumpbox.lock.json"
    lock.write_text(
        '{"schema": "aks-jumpbox/lock/v1", "tools": {"helm": [{"version": "4.3.0", "artifacts": '
        '{"amd64": {"url": "http://x/helm.tgz", "sha256": null, "checksumUrl": "https://x/s"}}}]}}'
    )
    result = run_cli("plan", "--lock", str(lock), "--no-write")
    assert result.returncode == 2 and "must be an https:// URL" in result.stderr


def test_unknown_option_is_a_usage_error():
    result = run_cli("plan", "--frobnicate")
    assert result.returncode == 2 and "frobnicate" in result.stderr


def test_readme_quick_start_names_the_commands_ci_runs():
    readme = (ROOT / "README.md").read_text()
    assert "uv run aks-jumpbox plan" in readme and "uv run pytest" in readme
    assert "uv run pytest" in (ROOT / ".ci" / "run").read_text()


def test_plan_ends_with_the_next_step():
    from aks_jumpbox.cli.commands.plan import _next_step

    assert "aks-jumpbox init" in _next_step("<embedded default jumpbox.yaml>")
    assert "aks-jumpbox check" in _next_step("jumpbox.yaml") and "build" in _next_step("jumpbox.yaml")


def test_plan_summary_folds_long_types_names_and_ids_at_80_columns(tmp_path):
    r = run_cli("plan", "--out", str(tmp_path / "o"), env={"COLUMNS": "80"})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines if not line.startswith("  az "))  # commands are left whole
    assert "…" not in "\n".join(lines[: lines.index(next(x for x in lines if x.startswith("Tools")))])
    # A folded cell reads back whole, column by column.
    header = next(i for i, line in enumerate(lines) if line.startswith("#  type"))
    end = next(i for i, line in enumerate(lines) if line.startswith("Tools"))
    cols = [lines[header].index(c) for c in ("type", "name", "scope")] + [None]
    column = ["".join(line[a:b].strip() for line in lines[header + 1 : end]) for a, b in itertools.pairwise(cols)]
    for col, whole in (
        (0, "Microsoft.VirtualMachineImages/imageTemplates"),
        (0, "Microsoft.ManagedIdentity/userAssignedIdentities"),
        (1, json.loads(run_cli("plan", "--no-write", "-o", "json").stdout)["names"]["identity"]),
        (
            2,
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-enterprise-networking-spokes-eastus2",
        ),
    ):
        assert whole in column[col], whole
    az = [line.strip() for line in lines if line.startswith("  az deployment group create")]
    assert len(az) == 2 and "-g rg-enterprise-networking-spokes-eastus2" in az[0]
    assert az[0].endswith(f"-f {tmp_path}/o/arm/network-spoke.json") and "network-hub.json" in az[1]


def test_plan_svg_draws_the_network_diagram(tmp_path):
    r = run_cli("plan", "--out", str(tmp_path / "o"), "--svg")
    assert r.returncode == 0, r.stderr
    svg = (tmp_path / "o/network/contract.svg").read_text()
    assert svg.startswith("<svg") and "snet-imagebuilder-aci" in svg and "management.azure.com" in svg
    assert "<script" not in svg and "javascript:" not in svg


def test_plan_svg_without_the_extra_is_one_message(monkeypatch):
    import importlib.util

    import pytest

    from aks_jumpbox.cli.commands import plan
    from aks_jumpbox.core.errors import UserError

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(UserError, match=r"--svg: .*mermaidx") as e:
        plan._need_svg()
    assert "aks-jumpbox[svg]" in str(e.value.fix)


def test_shell_completion_as_the_readme_documents_it():
    r = run_cli(env={"_AKS_JUMPBOX_COMPLETE": "bash_source"})
    assert r.returncode == 0 and "_aks_jumpbox_completion()" in r.stdout and "complete " in r.stdout
    words = {"_AKS_JUMPBOX_COMPLETE": "bash_complete", "COMP_WORDS": "aks-jumpbox pl", "COMP_CWORD": "1"}
    assert run_cli(env=words).stdout.split() == ["plain,plan"]
    words |= {"COMP_WORDS": "aks-jumpbox check --dia", "COMP_CWORD": "2"}
    assert run_cli(env=words).stdout.split() == ["plain,--diagram"]


def test_keep_on_error_help_says_what_it_does_on_each_command():
    # build/deploy make the abort template; the others only name it (finding 14 of issue 12).
    for name, says in (("build", "Keep the build VM"), ("deploy", "Keep the build VM"), ("status", "Act on the")):
        r = run_cli(name, "--help", env={"COLUMNS": "200"})
        assert r.returncode == 0 and says in r.stdout, (name, r.stdout)


def test_init_with_an_empty_dir_writes_nothing(tmp_path):
    r = run_cli("init", "--dir", "", cwd=tmp_path)
    assert r.returncode == 2 and "--dir is empty" in r.stderr
    assert list(tmp_path.iterdir()) == []
