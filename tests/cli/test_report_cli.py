"""`aks-jumpbox report` and `aks-jumpbox diff` as a user runs them."""

from __future__ import annotations

import json

import yaml
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from aks_jumpbox.core.catalog import load_catalog
from aks_jumpbox.core.lock import LockedArtifact, LockedTool, default_lock_text, parse_lock
from tests.conftest import make_plan, run_cli, variant
from tests.support.buildlog import PACKAGES, build_log


def _project(tmp_path, default_data, default_lock, name, **changes):
    """A spec + lock folder, and the build log of its plan."""
    folder = tmp_path / name
    folder.mkdir()
    data = variant(default_data, **changes)
    lock = default_lock
    helm = data["tools"]["helm"]
    if not default_lock.get("helm", helm):
        url = f"https://get.helm.sh/helm-v{helm}-linux-amd64.tar.gz"
        art = LockedArtifact(url=url, sha256="e" * 64, checksum_url=url + ".sha256sum", source="t")
        lock = lock.with_tool("helm", LockedTool(version=helm, artifacts={"amd64": art}))
    (folder / "jumpbox.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    (folder / "jumpbox.lock.json").write_text(lock.dumps())
    (folder / "customization.log").write_text(build_log(make_plan(data, lock), PACKAGES))
    return folder


def test_report_writes_a_valid_sbom_and_reports_byte_identically(tmp_path, default_data, default_lock):
    proj = _project(tmp_path, default_data, default_lock, "p")
    outs = []
    for i, tz in enumerate(("UTC", "Pacific/Kiritimati")):
        out = tmp_path / f"out{i}"
        r = run_cli(
            "report",
            "-f",
            str(proj / "jumpbox.yaml"),
            "--log",
            str(proj / "customization.log"),
            "--out",
            str(out),
            env={"TZ": tz, "PYTHONHASHSEED": str(i)},
        )
        assert r.returncode == 0, r.stderr
        assert "7 apt packages" in r.stdout
        outs.append(out)
    names = ("sbom.cdx.json", "software-report.md", "software-report.json")
    for name in names:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    sbom = (outs[0] / "sbom.cdx.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(sbom) is None
    assert "pkg:deb/ubuntu/openssh-server@1:9.6p1-3ubuntu13.5" in sbom


def test_source_date_epoch_stamps_an_sbom_made_without_a_log(tmp_path):
    r = run_cli("report", "--out", str(tmp_path), env={"SOURCE_DATE_EPOCH": "1800000000"})
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "sbom.cdx.json").read_text())["metadata"]["timestamp"].startswith(
        "2027-01-15T08:00:00"
    )
    bad = run_cli("report", "--out", str(tmp_path), env={"SOURCE_DATE_EPOCH": "yesterday"})
    assert bad.returncode == 2 and "SOURCE_DATE_EPOCH" in bad.stderr


def test_diff_of_two_builds_shows_exactly_the_bumped_tool(tmp_path, default_data, default_lock):
    reports = []
    for name, helm in (("a", "4.3.0"), ("b", "4.3.1")):
        proj = _project(tmp_path, default_data, default_lock, name, tools__helm=helm)
        out = tmp_path / f"report-{name}"
        r = run_cli(
            "report", "-f", str(proj / "jumpbox.yaml"), "--log", str(proj / "customization.log"), "--out", str(out)
        )
        assert r.returncode == 0, r.stderr
        reports.append(out)
    d = run_cli("diff", str(reports[0]), str(reports[1] / "software-report.json"), "-o", "json")
    assert d.returncode == 0, d.stderr
    doc = json.loads(d.stdout)
    changed = {k: v for k, v in doc.items() if isinstance(v, dict) and (v["added"] or v["removed"] or v["changed"])}
    assert changed == {
        "tools": {
            "compared": True,
            "added": [],
            "removed": [],
            "changed": [{"name": "helm", "from": "4.3.0", "to": "4.3.1"}],
        }
    }
    text = run_cli("diff", str(reports[0]), str(reports[1]), "--exit-code")
    assert text.returncode == 1 and "~ helm 4.3.0 -> 4.3.1" in text.stdout
    same = run_cli("diff", str(reports[0]), str(reports[0]), "--exit-code")
    assert same.returncode == 0 and "No differences" in same.stdout


def test_bad_report_inputs_are_exit_2(tmp_path):
    missing = run_cli("report", "--log", str(tmp_path / "nope.log"), "--out", str(tmp_path / "o"))
    assert missing.returncode == 2 and "--log" in missing.stderr and "no such file" in missing.stderr
    (tmp_path / "empty.log").write_text("Packer started\nBuild failed\n")
    empty = run_cli("report", "--log", str(tmp_path / "empty.log"), "--out", str(tmp_path / "o"))
    assert empty.returncode == 2 and "aks-jumpbox package" in empty.stderr
    (tmp_path / "x.json").write_text('{"schema": "something/else"}')
    d = run_cli("diff", str(tmp_path / "x.json"), str(tmp_path))
    assert d.returncode == 2 and "x.json: not an aks-jumpbox/software-report/v1 report" in d.stderr


def test_default_lock_round_trips():
    # The fixture above writes locks with Lock.dumps; make sure that is a lock the CLI reads.
    lock = parse_lock(json.loads(default_lock_text()), "x", load_catalog())
    assert parse_lock(json.loads(lock.dumps()), "x", load_catalog()) == lock
