"""Newest releases, outdated pins, lifecycle flags and in-place pin edits (pure)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aks_jumpbox.core.catalog import load_catalog
from aks_jumpbox.core.errors import OperationFailed, SpecError
from aks_jumpbox.core.lock import Lock
from aks_jumpbox.core.outdated import choose_upgrades, outdated, review_flags
from aks_jumpbox.core.releases import (
    AZURE_CLI,
    Newest,
    github_versions,
    hashicorp_versions,
    newest_release,
    stable_txt_versions,
    via_feed,
)
from aks_jumpbox.core.spec import azure_facts, default_spec_text
from aks_jumpbox.core.specedit import bump_pins
from tests.conftest import spec_from, variant
from tests.support.release_feed import NEWEST, write_feed

CATALOG = load_catalog()
FEED = "https://feed.contoso.internal/releases"
TODAY = dt.date(2027, 1, 20)


@pytest.fixture(scope="module")
def fetch(tmp_path_factory):
    root = write_feed(tmp_path_factory.mktemp("feed"))

    def read(url: str) -> str:
        assert url.startswith(FEED + "/"), url
        path = root / url.removeprefix(FEED + "/")
        if not path.is_file():
            raise OperationFailed(f"GET {url} failed: HTTP 404 Not Found")
        return path.read_text()

    return read


def test_feed_urls_mirror_host_and_path():
    assert (
        via_feed("https://api.github.com/repos/helm/helm/releases?per_page=100", FEED + "/")
        == f"{FEED}/api.github.com/repos/helm/helm/releases"
    )
    assert via_feed("https://dl.k8s.io/release/stable.txt", None) == "https://dl.k8s.io/release/stable.txt"


@pytest.mark.parametrize("name", sorted(NEWEST))
def test_newest_ignores_prereleases_drafts_and_withdrawn_releases(name, fetch):
    n = newest_release(name, CATALOG, "amd64", fetch, FEED)
    assert (n.version, n.error) == (NEWEST[name], None)


def test_every_catalog_entry_names_a_release_source():
    assert CATALOG.azure_cli.releases is not None
    for name, tool in CATALOG.tools.items():
        assert tool.releases is not None, name
        if tool.releases.source == "github":
            assert tool.releases.repo and "%" not in tool.releases.tag, name


def test_a_missing_or_garbled_source_is_an_error_not_a_version(fetch):
    assert newest_release("k9s", CATALOG, "amd64", fetch, FEED).error.endswith("HTTP 404 Not Found")
    assert newest_release("helm", CATALOG, "amd64", lambda u: "<html>rate limited</html>", FEED).error
    assert stable_txt_versions("v1.39.0-rc.0") == [] and stable_txt_versions("") == []


def test_hashicorp_needs_a_linux_build_for_the_arch():
    index = {
        "versions": {
            "1.0.0": {"version": "1.0.0", "builds": [{"os": "linux", "arch": "arm64"}]},
            "1.0.1": {"version": "1.0.1", "builds": [{"os": "linux", "arch": "amd64"}]},
            "1.1.0-beta1": {"version": "1.1.0-beta1", "builds": [{"os": "linux", "arch": "amd64"}]},
        }
    }
    assert hashicorp_versions(json.dumps(index), "arm64") == ["1.0.0"]
    assert hashicorp_versions(json.dumps(index), "amd64") == ["1.0.1"]


VERSION = st.tuples(*[st.integers(0, 300)] * 3).map(lambda t: ".".join(map(str, t)))


@given(
    st.lists(st.tuples(VERSION, st.booleans(), st.booleans(), st.sampled_from(["", "-rc.1", "-beta2"])), max_size=15),
    st.sampled_from(["v{version}", "{version}", "jq-{version}", "kustomize/v{version}", "azure-cli-{version}"]),
)
def test_github_keeps_exactly_the_published_plain_releases(releases, template):
    answer = [
        {"tag_name": template.format(version=v + suffix), "draft": draft, "prerelease": pre, "assets": []}
        for v, draft, pre, suffix in releases
    ]
    answer.append({"tag_name": "api/v9.9.9", "draft": False, "prerelease": False})  # another module's tag
    expected = [v for v, draft, pre, suffix in releases if not (draft or pre or suffix)]
    assert github_versions(json.dumps(answer), template) == expected


def _spec(**changes):
    import yaml

    return spec_from(variant(yaml.safe_load(default_spec_text()), **changes))


def test_outdated_rows_and_flags(fetch, default_lock):
    spec = _spec(
        tools__helm={"version": "4.3.0", "reason": "chart X needs 4.3", "review_by": "2027-01-01"},
        tools__k9s="0.51.0",
        base_image="ubuntu-22.04",
    )
    names = [*spec.tools, AZURE_CLI]
    newest = {n: newest_release(n, CATALOG, "amd64", fetch, FEED) for n in names}
    facts = {
        **azure_facts(),
        "api_version_retirements": [
            {
                "type": "Microsoft.VirtualMachineImages/imageTemplates",
                "versions": ["2025-10-01"],
                "retires": "2026-12-31",
                "note": "test entry",
            }
        ],
    }
    rows = {r.name: r for r in outdated(spec, default_lock, CATALOG, facts, newest, TODAY)}
    assert (rows["helm"].status, rows["helm"].newest) == ("outdated", "4.3.1")
    assert [f.kind for f in rows["helm"].flags] == ["review"] and "chart X needs 4.3" in rows["helm"].flags[0].message
    assert rows["kubelogin"].status == "current" and rows["azure-cli"].newest == "2.91.0"
    assert [f.kind for f in rows["osm"].flags] == ["deprecated"]
    assert rows["k9s"].status == "unknown" and {f.kind for f in rows["k9s"].flags} == {"source-error"}
    base = rows["ubuntu-22.04"]
    assert (base.status, base.newest) == ("outdated", "ubuntu-24.04")
    assert base.flags[0].kind == "end-of-support" and "2027-06-01 (in 132 days)" in base.flags[0].message
    api = rows["Microsoft.VirtualMachineImages/imageTemplates"]
    assert api.status == "retiring" and "was retired on 2026-12-31" in api.flags[0].message
    # The shipped retirement list does not cover what this release speaks.
    assert not [
        r for r in outdated(spec, default_lock, CATALOG, azure_facts(), newest, TODAY) if r.kind == "api-version"
    ]


def test_support_end_flags_by_date():
    spec = _spec(base_image="debian-12")
    for today, expected in (
        (dt.date(2025, 1, 1), None),
        (dt.date(2026, 3, 1), "ends on 2026-06-10 (in 101 days)"),
        (dt.date(2026, 6, 11), "ended on 2026-06-10"),
    ):
        rows = outdated(spec, Lock(), CATALOG, {}, {}, today)
        (base,) = [r for r in rows if r.kind == "base-image"]
        assert (expected in base.flags[0].message) if expected else not base.flags


def test_review_flags_only_once_the_date_passed():
    spec = _spec(tools__helm={"version": "4.3.0", "review_by": "2027-01-20"})
    assert review_flags(spec, dt.date(2027, 1, 20)) == {}
    assert "review_by 2027-01-20 has passed" in review_flags(spec, dt.date(2027, 1, 21))["helm"].message


def test_choose_upgrades_holds_pins_with_a_reason_until_review():
    spec = _spec(tools__helm={"version": "4.3.0", "reason": "chart X", "review_by": "2027-06-01"}, tools__flux="2.10.0")
    newest = {
        "helm": Newest("helm", "4.3.1", ""),
        "flux": Newest("flux", "2.10.0", ""),
        "kubectl": Newest("kubectl", "1.38.2", ""),
        "osm": Newest("osm", None, "", "HTTP 404"),
    }
    all_ = choose_upgrades(spec, newest, (), TODAY)
    assert all_.changes == {"kubectl": ("1.37.1", "1.38.2")}
    assert "chart X" in all_.held["helm"] and all_.held["osm"] == "HTTP 404"
    assert choose_upgrades(spec, newest, ("helm",), TODAY).changes == {"helm": ("4.3.0", "4.3.1")}
    assert choose_upgrades(spec, newest, (), dt.date(2027, 6, 2)).changes["helm"] == ("4.3.0", "4.3.1")


def test_bump_pins_edits_lines_and_keeps_comments():
    text = default_spec_text().replace("  helm: 4.3.0", '  helm: {version: "v4.3.0", reason: "4.3.0 only"}  # note')
    text = text.replace("  flux: 2.9.6", "  flux:\n    version: 2.9.6   # flux pin\n    reason: r")
    out, spec = bump_pins(
        text,
        "j.yaml",
        {
            "helm": ("4.3.0", "4.3.1"),
            "flux": ("2.9.6", "2.10.0"),
            "osm": ("1.2.4", "1.2.5"),
            "azure-cli": ("2.90.0", "2.91.0"),
        },
        CATALOG,
    )
    changed = [(a, b) for a, b in zip(text.splitlines(), out.splitlines(), strict=True) if a != b]
    assert changed == [
        (
            '  helm: {version: "v4.3.0", reason: "4.3.0 only"}  # note',
            '  helm: {version: "v4.3.1", reason: "4.3.0 only"}  # note',
        ),
        ("    version: 2.9.6   # flux pin", "    version: 2.10.0   # flux pin"),
        (
            "  osm: 1.2.4                       # deprecated upstream (archived); kept for parity, warns",
            "  osm: 1.2.5                       # deprecated upstream (archived); kept for parity, warns",
        ),
        ("  version: 2.90.0", "  version: 2.91.0"),
    ]
    assert spec.tools["flux"].version == "2.10.0" and spec.azure_cli.version == "2.91.0"


def test_bump_pins_refuses_a_line_it_cannot_read():
    text = default_spec_text().replace("  helm: 4.3.0", "  helm: &h 4.3.0\n  k9s: *h")
    with pytest.raises(SpecError, match="could not find version 0.51.0"):
        bump_pins(text, "j.yaml", {"k9s": ("0.51.0", "0.52.0")}, CATALOG)
