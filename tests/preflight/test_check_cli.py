"""`aks-jumpbox check --snapshot`: the table, --output json, exit codes 0/1/2, and no Azure SDK loaded."""

from __future__ import annotations

import json

import yaml

from tests.conftest import run_cli, run_without_importing
from tests.preflight.world import World, spec_data


def _spec(tmp_path, data) -> str:
    path = tmp_path / "jumpbox.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def test_json_output_and_exit_zero_when_nothing_fails(tmp_path):
    w = World.upstream()
    snap = w.write(tmp_path / "snap")
    r = run_cli("check", "-f", _spec(tmp_path, spec_data("proxy")), "--snapshot", str(snap), "--output", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] is True and doc["checks"]
    assert all(set(c) >= {"id", "status", "message", "fix", "evidence"} for c in doc["checks"])
    assert {c["status"] for c in doc["checks"]} == {"pass"}


def test_a_failing_check_exits_one_and_the_table_shows_evidence_and_fix(tmp_path):
    w = World.isolated()
    w.subnet("snet-imagebuilder-aci")["properties"]["delegations"] = []
    snap = w.write(tmp_path / "snap")
    r = run_cli("check", "-f", _spec(tmp_path, spec_data("isolated")), "--snapshot", str(snap), env={"COLUMNS": "250"})
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout
    assert "subnet.container.delegation" in out and "delegations: (none)" in out
    fix = next(line for line in out.splitlines() if line.startswith("  subnet.container.delegation: "))
    assert fix.endswith("-n snet-imagebuilder-aci --delegations Microsoft.ContainerInstance/containerGroups")
    assert "1 failed" in out.splitlines()[-1]
    r = run_cli("check", "-f", _spec(tmp_path, spec_data("isolated")), "--snapshot", str(snap), "-o", "json")
    assert r.returncode == 1
    fails = [c for c in json.loads(r.stdout)["checks"] if c["status"] == "fail"]
    assert [c["id"] for c in fails] == ["subnet.container.delegation"]


def test_a_bad_snapshot_document_is_one_message_naming_the_file_and_exit_two(tmp_path):
    w = World.upstream()
    snap = w.write(tmp_path / "snap")
    routes = w.docs["routes.json"]
    routes["properties"]["routes"][0]["properties"]["nextHopType"] = "Appliance"
    (snap / "routes.json").write_text(json.dumps(routes))
    r = run_cli("check", "-f", _spec(tmp_path, spec_data("proxy")), "--snapshot", str(snap))
    assert r.returncode == 2
    assert r.stderr.count("error:") == 1
    assert (
        "snap/routes.json: route table route-to-eastus2-hub-fw: routes[0] 'r-nexthop-to-fw': nextHopType: "
        "expected one of VirtualAppliance"
    ) in r.stderr
    assert not r.stdout


def test_check_on_a_snapshot_never_loads_the_azure_sdk(tmp_path):
    snap = World.upstream().write(tmp_path / "snap")
    spec = _spec(tmp_path, spec_data("proxy"))
    result = run_without_importing(["check", "-f", str(spec), "--snapshot", str(snap), "-o", "json"])
    assert result.returncode == 0, result.stderr


def test_help_lists_check_and_snapshot():
    r = run_cli("--help")
    assert "check" in r.stdout and "snapshot" in r.stdout
    r = run_cli("snapshot", "--help")
    assert "--out" in r.stdout and "--replace" in r.stdout


def test_diagram_draws_each_flow_by_its_verdict(tmp_path):
    w = World.isolated()
    w.subnet("snet-imagebuilder-aci")["properties"]["delegations"] = []
    snap = w.write(tmp_path / "snap")
    md, mmd = tmp_path / "net.md", tmp_path / "net.mmd"
    spec = _spec(tmp_path, spec_data("isolated"))
    r = run_cli("check", "-f", spec, "--snapshot", str(snap), "-o", "json", "--diagram", str(md))
    assert r.returncode == 1, r.stderr
    statuses = {c["id"]: c["status"] for c in json.loads(r.stdout)["checks"]}
    text = md.read_text()
    assert text.startswith("# Network contract, as checked\n") and "```mermaid\nflowchart LR\n" in text
    assert statuses["nsg.build-in-ssh-from-container"] == "pass"
    assert '"PASS Tcp 22: build-in-ssh-from-container"' in text and "classDef fail" in text
    assert "linkStyle 0 stroke:#1e7e34" in text
    r = run_cli("check", "-f", spec, "--snapshot", str(snap), "--diagram", str(mmd), env={"COLUMNS": "120"})
    assert r.returncode == 1 and mmd.read_text() == text.split("```mermaid\n", 1)[1].split("```", 1)[0]
