"""The software report, the CycloneDX SBOM and report diffs (pure)."""

from __future__ import annotations

import json

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from hypothesis import given
from hypothesis import strategies as st

from aks_jumpbox.core.errors import UserError
from aks_jumpbox.core.lock import LockedArtifact, LockedTool
from aks_jumpbox.report.buildlog import Package, parse_build_log, parse_packages
from aks_jumpbox.report.diff import diff_reports
from aks_jumpbox.report.sbom import sbom_json, tool_purl
from aks_jumpbox.report.software import report_markdown, software_report
from tests.conftest import CATALOG, make_plan, variant
from tests.support.buildlog import PACKAGES, build_log

VALIDATOR = JsonStrictValidator(SchemaVersion.V1_6)


@pytest.fixture(scope="module")
def logged(default_plan):
    return software_report(default_plan, parse_build_log(build_log(default_plan, PACKAGES)), catalog=CATALOG)


def test_packages_are_read_from_prefixed_markers_and_the_last_listing_wins():
    text = (
        "noise ==> aks-jumpbox package  broken\n"
        "[t] PACKER OUT azure-arm: ==> aks-jumpbox package curl 8.5.0-1 amd64\n"
        "==> aks-jumpbox package zlib1g 1:1.3.dfsg-3.1ubuntu2.1 amd64\r\n"
        "[t] PACKER ERR ==> aks-jumpbox package curl 8.5.0-2 amd64\n"
        "==> aks-jumpbox step manifest end 2027-01-05T10:31:07Z\n"
    )
    assert parse_packages(text) == (
        Package("curl", "8.5.0-2", "amd64"),
        Package("zlib1g", "1:1.3.dfsg-3.1ubuntu2.1", "amd64"),
    )


NAMES = st.from_regex(r"[a-z0-9][a-z0-9+.-]{0,20}", fullmatch=True)
VERSIONS = st.from_regex(r"[0-9][A-Za-z0-9.+~:-]{0,15}", fullmatch=True)


@given(
    st.dictionaries(st.tuples(NAMES, st.sampled_from(["amd64", "arm64", "all"])), VERSIONS, max_size=20),
    st.text(alphabet="[]:TZ0123456789 abcXYZ-", max_size=30),
)
def test_every_package_marker_round_trips(packages, prefix):
    text = "".join(f"{prefix}==> aks-jumpbox package {n} {v} {a}\nother output\n" for (n, a), v in packages.items())
    assert parse_packages(text) == tuple(Package(n, packages[(n, a)], a) for n, a in sorted(packages))


def test_report_lists_every_pin_with_source_and_digest(default_plan, logged):
    tools = {t["name"]: t for t in logged["tools"]}
    assert set(tools) == set(default_plan.spec.tools)
    for a in default_plan.artifacts:
        t = tools[a.name]
        assert (t["version"], t["source"], t["license"]) == (a.version, a.upstream_url, a.license)
        # Unpinned digests come from the build log's "installed ... (sha256 ...)" line.
        assert t["sha256"] == (a.sha256 or "ab" * 32)
    assert logged["baseImage"]["urn"] == "Canonical:ubuntu-24_04-lts:server:latest"
    assert logged["azureCli"]["installed"] == "2.90.0-1~noble"
    assert len(logged["packages"]) == len(PACKAGES)
    md = report_markdown(logged)
    assert "| helm | 4.3.0 | https://get.helm.sh/helm-v4.3.0-linux-amd64.tar.gz |" in md
    assert "### Apt packages (7)" in md and "| libssl3t64 | 3.0.13-0ubuntu3.4 | amd64 |" in md
    assert "## Deprecations" in md and "**osm**" in md


def test_a_log_from_another_plan_is_refused(default_plan):
    log = parse_build_log(build_log(default_plan, PACKAGES, plan_hash="0" * 64))
    with pytest.raises(UserError, match="log of plan 000000000000"):
        software_report(default_plan, log, catalog=CATALOG, log_label="--log x.log")


@pytest.mark.parametrize("with_log", [False, True])
def test_sbom_validates_against_the_cyclonedx_schema(default_plan, logged, with_log):
    report = logged if with_log else software_report(default_plan, catalog=CATALOG)
    text = sbom_json(report)
    assert VALIDATOR.validate_str(text) is None
    doc = json.loads(text)
    assert doc["specVersion"] == "1.6"
    assert ("timestamp" in doc["metadata"]) is with_log


def test_the_schema_check_can_fail(default_plan):
    doc = json.loads(sbom_json(software_report(default_plan, catalog=CATALOG)))
    doc["components"][0]["hashes"] = [{"alg": "SHA-256", "content": "not-hex"}]
    assert VALIDATOR.validate_str(json.dumps(doc)) is not None


def test_sbom_names_every_component(default_plan, logged):
    doc = json.loads(sbom_json(logged))
    by_ref = {c["bom-ref"]: c for c in doc["components"]}
    base = by_ref["base-image"]
    assert base["type"] == "operating-system"
    assert {"name": "azure:marketplace:urn", "value": "Canonical:ubuntu-24_04-lts:server:latest"} in base["properties"]
    kubelogin = by_ref["tool:kubelogin"]
    assert kubelogin["purl"] == "pkg:github/azure/kubelogin@v0.2.19"
    assert kubelogin["licenses"] == [{"license": {"id": "MIT"}}]
    assert kubelogin["hashes"][0]["alg"] == "SHA-256"
    assert by_ref["tool:terraform"]["licenses"] == [{"license": {"id": "BUSL-1.1"}}]
    assert by_ref["tool:kubectl"]["purl"].startswith("pkg:generic/kubectl@1.37.1?download_url=https://dl.k8s.io/")
    assert {"type": "distribution", "url": "https://get.helm.sh/helm-v4.3.0-linux-amd64.tar.gz"} in by_ref["tool:helm"][
        "externalReferences"
    ]
    assert by_ref["azure-cli"]["version"] == "2.90.0" and by_ref["azure-cli-extension:aks-preview"]
    assert by_ref["apt:libc6:i386"]["purl"] == "pkg:deb/ubuntu/libc6@2.39-0ubuntu8.4?arch=i386&distro=noble"
    assert not [r for r in by_ref if r.startswith("apt:azure-cli:")], "the CLI is listed once"
    (deps,) = [d for d in doc["dependencies"] if d["ref"] == "image"]
    assert set(deps["dependsOn"]) == set(by_ref)
    assert doc["metadata"]["timestamp"].startswith("2027-01-05T10:31:07")


def test_kustomize_tags_decode_in_the_purl():
    url = "https://github.com/kubernetes-sigs/kustomize/releases/download/kustomize%2Fv5.8.3/k.tar.gz"
    assert tool_purl("kustomize", "5.8.3", url).version == "kustomize/v5.8.3"


def test_sbom_is_deterministic(default_data, default_lock, default_plan):
    again = make_plan(default_data, default_lock)
    assert sbom_json(software_report(again, catalog=CATALOG)) == sbom_json(
        software_report(default_plan, catalog=CATALOG)
    )
    other = make_plan(variant(default_data, tools__helm=None), default_lock)
    assert (
        json.loads(sbom_json(software_report(other, catalog=CATALOG)))["serialNumber"]
        != json.loads(sbom_json(software_report(default_plan, catalog=CATALOG)))["serialNumber"]
    )


def _bumped(default_data, default_lock, tool="helm", version="4.3.1"):
    arts = {
        "amd64": LockedArtifact(
            url=f"https://get.helm.sh/helm-v{version}-linux-amd64.tar.gz",
            sha256="c" * 64,
            checksum_url=f"https://get.helm.sh/helm-v{version}-linux-amd64.tar.gz.sha256sum",
            source="test",
        )
    }
    lock = default_lock.with_tool(tool, LockedTool(version=version, artifacts=arts))
    tools = {**default_data["tools"], tool: version}
    return make_plan(variant(default_data, tools=tools), lock)


def test_diff_shows_exactly_the_bumped_tool(default_data, default_lock, default_plan):
    bumped = _bumped(default_data, default_lock)
    a = software_report(default_plan, parse_build_log(build_log(default_plan, PACKAGES)), catalog=CATALOG)
    b = software_report(bumped, parse_build_log(build_log(bumped, PACKAGES)), catalog=CATALOG)
    d = diff_reports(a, b)
    changes = {k: s.changes for k, s in d.sections.items() if s.changes}
    assert list(changes) == ["tools"]
    ((change,),) = changes.values()
    assert (change.name, change.before, change.after) == ("helm", "4.3.0", "4.3.1")
    assert diff_reports(a, a).empty


def test_diff_sees_added_removed_changed_packages_and_digests(default_plan, logged):
    pkgs = [p for p in PACKAGES if p[0] != "curl"] + [("jq", "1.7.1-3build1", "amd64")]
    pkgs = [("libssl3t64", "3.0.13-0ubuntu3.5", "amd64") if p[0] == "libssl3t64" else p for p in pkgs]
    b = software_report(default_plan, parse_build_log(build_log(default_plan, pkgs)), catalog=CATALOG)
    b["tools"][0] = {**b["tools"][0], "sha256": "d" * 64}
    d = diff_reports(logged, b).to_json()
    assert d["packages"] == {
        "compared": True,
        "added": [{"name": "jq", "version": "1.7.1-3build1"}],
        "removed": [{"name": "curl", "version": "8.5.0-2ubuntu10.6"}],
        "changed": [{"name": "libssl3t64", "from": "3.0.13-0ubuntu3.4", "to": "3.0.13-0ubuntu3.5"}],
    }
    (tool,) = d["tools"]["changed"]
    assert tool["to"] == f"{b['tools'][0]['version']} (sha256 dddddddddddd)"
    assert diff_reports(logged, software_report(default_plan, catalog=CATALOG)).sections["packages"].compared is False
