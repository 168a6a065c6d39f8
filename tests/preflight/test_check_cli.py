"""`aks-jumpbox check --snapshot`: lines for pipes and CI, --only, --output json with counts, GitHub
annotations, exit codes 0/1/2, and no Azure SDK loaded."""

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


def test_a_failing_check_exits_one_and_the_lines_show_evidence_and_fix(tmp_path):
    w = World.isolated()
    w.subnet("snet-imagebuilder-aci")["properties"]["delegations"] = []
    snap = w.write(tmp_path / "snap")
    r = run_cli("check", "-f", _spec(tmp_path, spec_data("isolated")), "--snapshot", str(snap), env={"COLUMNS": "250"})
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout
    assert "subnet.container.delegation" in out and "delegations: (none)" in out
    fix = next(line for line in out.splitlines() if line.startswith("FIX  subnet.container.delegation: "))
    assert fix.endswith("-n snet-imagebuilder-aci --delegations Microsoft.ContainerInstance/containerGroups")
    assert out.splitlines()[-1].startswith("SUMMARY FAILED: 1 fail, ")
    r = run_cli("check", "-f", _spec(tmp_path, spec_data("isolated")), "--snapshot", str(snap), "-o", "json")
    assert r.returncode == 1
    fails = [c for c in json.loads(r.stdout)["checks"] if c["status"] == "fail"]
    assert [c["id"] for c in fails] == ["subnet.container.delegation"]


def _failing_world(tmp_path):
    w = World.isolated()
    w.subnet("snet-imagebuilder-aci")["properties"]["delegations"] = []
    return _spec(tmp_path, spec_data("isolated")), str(w.write(tmp_path / "snap"))


def test_in_ci_without_a_terminal_each_check_is_one_line_and_a_summary_counts_them(tmp_path):
    spec, snap = _failing_world(tmp_path)
    doc = json.loads(run_cli("check", "-f", spec, "--snapshot", snap, "-o", "json").stdout)
    r = run_cli("check", "-f", spec, "--snapshot", snap, env={"CI": "true", "COLUMNS": "80"})
    assert r.returncode == 1, r.stderr
    lines = r.stdout.splitlines()
    per_check = [line for line in lines if line.split(" ", 1)[0] in ("PASS", "WARN", "FAIL", "SKIP")]
    # one line per check, each naming its id once, in the order: failures, warnings, skips, passes
    assert len(per_check) == len(doc["checks"]) == doc["counts"]["total"]
    assert sorted(line.split()[1] for line in per_check) == sorted(c["id"] for c in doc["checks"])
    assert per_check[0].startswith("FAIL subnet.container.delegation ")
    c = doc["counts"]
    assert lines[-1].startswith(
        f"SUMMARY FAILED: {c['fail']} fail, {c['warn']} warn, {c['pass']} pass, {c['skip']} skip"
    )
    assert "\u2501" not in r.stdout and "\u2502" not in r.stdout  # no table rules
    assert c["fail"] == 1 and sum(c[s] for s in ("pass", "warn", "fail", "skip")) == c["total"]


def test_only_shows_the_statuses_asked_for_and_a_bad_status_is_named(tmp_path):
    spec, snap = _failing_world(tmp_path)
    r = run_cli("check", "-f", spec, "--snapshot", snap, "--only", "fail,warn")
    assert r.returncode == 1
    statuses = {line.split(" ", 1)[0] for line in r.stdout.splitlines()}
    assert "FAIL" in statuses and not statuses & {"PASS", "SKIP"}
    doc = json.loads(run_cli("check", "-f", spec, "--snapshot", snap, "--only", "fail", "-o", "json").stdout)
    assert {c["status"] for c in doc["checks"]} == {"fail"} and doc["counts"]["pass"] > 0
    bad = run_cli("check", "-f", spec, "--snapshot", snap, "--only", "fail,oops")
    assert bad.returncode == 2 and not bad.stdout
    assert "--only" in bad.stderr and "'oops'" in bad.stderr and "fail, warn, skip, pass" in bad.stderr
    as_json = run_cli("check", "-f", spec, "--snapshot", snap, "--only", "", "-o", "json")
    assert as_json.returncode == 2
    assert json.loads(as_json.stdout)["error"]["exit_code"] == 2


def test_github_actions_gets_an_annotation_per_failed_check(tmp_path):
    spec, snap = _failing_world(tmp_path)
    r = run_cli("check", "-f", spec, "--snapshot", snap, env={"GITHUB_ACTIONS": "true"})
    assert r.returncode == 1
    errors = [line for line in r.stdout.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1 and errors[0].startswith("::error title=check subnet.container.delegation::")
    assert "%0A" not in errors[0].split("::", 2)[1]  # the title is one property
    plain = run_cli("check", "-f", spec, "--snapshot", snap, env={"GITHUB_ACTIONS": ""})
    assert "::error" not in plain.stdout + plain.stderr
    # With -o json stdout stays one document; the annotations go to stderr (the runner reads both).
    as_json = run_cli("check", "-f", spec, "--snapshot", snap, "-o", "json", env={"GITHUB_ACTIONS": "true"})
    assert json.loads(as_json.stdout)["counts"]["fail"] == 1
    assert "::error title=check subnet.container.delegation::" in as_json.stderr


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
