"""Generated pipelines, checked structurally (parsed with PyYAML)."""

from __future__ import annotations

import json
import re
import shlex

import click
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from aks_jumpbox.cli.main import COMMANDS, cli
from aks_jumpbox.render.ci import CiOptions, azure_devops_pipeline, cron_problem, github_workflow
from tests.conftest import run_cli

GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def _walk(node):
    if isinstance(node, dict):
        for k, v in node.items():
            yield k, v
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def _no_secrets(text: str, doc) -> None:
    assert not GUID.search(text), "an identifier is written inline"
    assert "secrets." not in text and "client-secret" not in text and "creds" not in text
    for expr in EXPRESSION.findall(text):
        assert expr.split(".")[0] in ("vars", "steps", "needs", "github"), expr
    for key, _ in _walk(doc):
        assert not re.search(r"secret|password|key", str(key), re.I), key


def _commands(steps):
    """Every `aks-jumpbox ...` command line in the steps' scripts."""
    for step in steps:
        script = step.get("run") or step.get("script") or step.get("inputs", {}).get("inlineScript") or ""
        for line in script.splitlines():
            for part in line.split("|"):
                part = part.strip().removeprefix("version=$(")
                if part.startswith("aks-jumpbox "):
                    yield shlex.split(part.replace("${{ needs.build.outputs.version }}", "1.0.0"))[1:]


def _parses(args: list[str]) -> None:
    """The command line parses against the real CLI (commands another branch adds are skipped)."""
    if args[0] not in COMMANDS:
        return
    cmd = cli.get_command(click.Context(cli), args[0])
    while isinstance(cmd, click.Group):
        args = args[1:]
        cmd = cmd.get_command(click.Context(cmd), args[0])
    cmd.make_context(args[0], list(args[1:]))


@pytest.mark.parametrize("gallery", [False, True])
def test_github_workflow_structure(gallery):
    text = github_workflow(CiOptions(gallery=gallery, spec_file="images/jumpbox.yaml"))
    doc = yaml.safe_load(text)
    triggers = doc["on"]
    assert cron_problem(triggers["schedule"][0]["cron"]) is None and "workflow_dispatch" in triggers
    assert triggers["push"]["paths"] == ["images/jumpbox.yaml", "images/jumpbox.lock.json"]
    assert doc["permissions"] == {"contents": "read"}
    assert doc["concurrency"]["cancel-in-progress"] is False
    jobs = doc["jobs"]
    expected = ["check", "build", "canary", "promote", "outdated"] if gallery else ["check", "build", "outdated"]
    assert list(jobs) == expected
    assert jobs["build"]["needs"] == "check"
    if gallery:
        assert jobs["canary"]["needs"] == "build" and jobs["promote"]["needs"] == ["build", "canary"]
        assert jobs["promote"]["environment"] == "production"
        assert jobs["build"]["outputs"]["version"] == "${{ steps.version.outputs.version }}"
    for name, job in jobs.items():
        uses = [s.get("uses", "") for s in job["steps"]]
        if name == "outdated":
            assert job["permissions"] == {"contents": "read"} and not any("azure/login" in u for u in uses)
            continue
        assert job["permissions"]["id-token"] == "write"
        (login,) = [s for s in job["steps"] if s.get("uses", "").startswith("azure/login@")]
        assert login["with"] == {
            "client-id": "${{ vars.AZURE_CLIENT_ID }}",
            "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
            "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}",
        }
        assert uses.index(login["uses"]) < min(
            i for i, s in enumerate(job["steps"]) if "aks-jumpbox " in s.get("run", "") and " plan " not in s["run"]
        )
        for args in _commands(job["steps"]):
            assert "-f" in args and args[args.index("-f") + 1] == "images/jumpbox.yaml"
            _parses(args)
    (logs,) = [s for s in jobs["build"]["steps"] if " logs " in s.get("run", "")]
    assert logs["if"] == "always()" and logs["continue-on-error"] is True, "no logs must not fail the pipeline"
    if gallery:
        (promote,) = [a for a in _commands(jobs["promote"]["steps"]) if a[0] == "promote"]
        assert "--yes" in promote, "no terminal in CI: the environment approval is the confirmation"
    (upload,) = [s for s in jobs["build"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    paths = upload["with"]["path"].split()
    assert {"report/sbom.cdx.json", "report/software-report.md", "report/software-report.json"} <= set(paths)
    assert upload["if"] == "always()"
    _no_secrets(text, doc)


def test_azure_devops_pipeline_structure():
    text = azure_devops_pipeline(CiOptions(gallery=True, schedule="0 2 1 * *"))
    doc = yaml.safe_load(text)
    (schedule,) = doc["schedules"]
    assert schedule["cron"] == "0 2 1 * *" and schedule["always"] is True and cron_problem(schedule["cron"]) is None
    build, promote = doc["stages"]
    steps = build["jobs"][0]["steps"]
    for step in steps:
        if step.get("task", "").startswith("AzureCLI@"):
            assert step["inputs"]["azureSubscription"] == "$(serviceConnection)"
    assert any(s.get("task", "").startswith("PublishPipelineArtifact@") for s in steps)
    (logs,) = [s for s in steps if " logs " in s.get("inputs", {}).get("inlineScript", "")]
    assert logs["condition"] == "always()" and logs["continueOnError"] is True
    deploy = promote["jobs"][0]
    assert promote["dependsOn"] == "build" and deploy["environment"] == "production"
    assert any("--yes" in a for a in _commands(deploy["strategy"]["runOnce"]["deploy"]["steps"]) if a[0] == "promote")
    for args in _commands(steps + deploy["strategy"]["runOnce"]["deploy"]["steps"]):
        _parses(args)
    _no_secrets(text, doc)


@pytest.mark.parametrize(
    "cron,problem",
    [
        ("0 3 * *", "5 fields"),
        ("61 3 * * 1", "outside 0-59"),
        ("0 3 * * mon", "not a number"),
        ("*/15 0-5 1,15 * 1-5", None),
    ],
)
def test_cron_problems(cron, problem):
    got = cron_problem(cron)
    assert (got is None) if problem is None else (problem in got)


@given(st.integers(0, 59), st.integers(0, 23), st.integers(1, 28), st.integers(0, 6))
def test_every_plain_schedule_is_accepted(minute, hour, day, weekday):
    assert cron_problem(f"{minute} {hour} {day} * {weekday}") is None
    assert cron_problem(f"{minute + 60} {hour} {day} * {weekday}") is not None


def test_ci_command_writes_once_and_validates_its_input(tmp_path):
    assert run_cli("init", "--dir", str(tmp_path)).returncode == 0
    r = run_cli("ci", "github", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = yaml.safe_load((tmp_path / ".github" / "workflows" / "aks-jumpbox.yml").read_text())
    assert "canary" not in doc["jobs"], "no gallery in the default spec"
    again = run_cli("ci", "github", cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr
    bad = run_cli("ci", "azure-devops", "--schedule", "0 25 * * *", cwd=tmp_path)
    assert bad.returncode == 2 and "--schedule" in bad.stderr and "outside 0-23" in bad.stderr
    assert run_cli("ci", "azure-devops", cwd=tmp_path).returncode == 0
    assert "AzureCLI@2" in (tmp_path / "azure-pipelines.yml").read_text()


def test_a_gallery_spec_gets_canary_and_promote_and_a_version_the_plan_names(tmp_path):
    assert run_cli("init", "--dir", str(tmp_path)).returncode == 0
    spec = tmp_path / "jumpbox.yaml"
    data = yaml.safe_load(spec.read_text())
    data["distribute"]["gallery"] = {
        "resource_group": "rg-images",
        "name": "gal_jb",
        "image": {"publisher": "Contoso"},
        "version": "2.3.4",
    }
    spec.write_text(yaml.safe_dump(data))
    assert run_cli("ci", "github", cwd=tmp_path).returncode == 0
    workflow = yaml.safe_load((tmp_path / ".github" / "workflows" / "aks-jumpbox.yml").read_text())
    assert {"canary", "promote"} <= set(workflow["jobs"])
    (step,) = [s for s in workflow["jobs"]["build"]["steps"] if s.get("id") == "version"]
    jq_path = re.search(r"jq -r '\.(\w+)\.(\w+)'", step["run"]).groups()
    planned = run_cli("plan", "--no-write", "-o", "json", cwd=tmp_path)
    assert planned.returncode == 0, planned.stderr
    doc = json.loads(planned.stdout)
    assert doc[jq_path[0]][jq_path[1]] == "2.3.4"


def test_pipelines_install_the_wheel_uv_build_makes_not_a_name_from_a_public_index():
    import tomllib

    from aks_jumpbox import __version__
    from tests.conftest import ROOT

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == __version__
    # The wheel's file name as `uv build` writes it (PEP 427: the name with '-' as '_').
    wheel = f"dist/{project['name'].replace('-', '_')}-{__version__}-py3-none-any.whl"
    assert CiOptions().install == wheel
    gh = yaml.safe_load(github_workflow(CiOptions()))
    runs = [s.get("run", "") for job in gh["jobs"].values() for s in job["steps"]]
    assert f'uv tool install "{wheel}"' in runs and not any("aks-jumpbox==" in r for r in runs)
    assert f'pipx install "{wheel}"' in azure_devops_pipeline(CiOptions())
