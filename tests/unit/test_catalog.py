from __future__ import annotations

import pytest

from aks_jumpbox.core.catalog import ARCHIVES, CHECKSUM_FORMATS, load_catalog, url_host

CATALOG = load_catalog()
TOOLS = sorted(CATALOG.tools)
UPSTREAM_TOOLS = {"kubectl", "kubelogin", "helm", "flux", "azwi", "osm", "terraform"}


def test_catalog_has_the_upstream_tools_and_extras():
    assert UPSTREAM_TOOLS <= set(TOOLS)
    assert {"jq", "yq", "k9s"} <= {n for n, t in CATALOG.tools.items() if t.extra}


@pytest.mark.parametrize("name", TOOLS)
def test_version_regex_parses_the_real_output_sample(name, default_lock):
    tool = CATALOG.tool(name)
    (version,) = default_lock.tools[name]
    assert tool.version.parse(tool.version.example) == version


@pytest.mark.parametrize("name", TOOLS)
def test_version_regex_rejects_other_output(name):
    assert CATALOG.tool(name).version.parse("command not found\nerror: unknown flag") is None


@pytest.mark.parametrize("name", TOOLS)
def test_entry_is_well_formed(name):
    tool = CATALOG.tool(name)
    # validate.sh runs the regex with sed s|...|; the tables are tab separated
    assert "|" not in tool.version.regex and "\t" not in tool.version.regex
    assert tool.archive in ARCHIVES and tool.checksum_format in CHECKSUM_FORMATS
    assert tool.supports("amd64")
    assert tool.install.startswith("/usr/local/bin/")
    assert (tool.archive == "raw") == (tool.member is None)
    for arch in tool.arch_names:
        url = tool.artifact_url("1.2.3", arch)
        assert url.startswith("https://") and tool.checksum_file_url("1.2.3", arch).startswith("https://")
        assert url_host(url) in tool.hosts, "the download's own host must be in hosts"


def test_osm_is_marked_deprecated():
    assert CATALOG.tool("osm").deprecated and "archived" in CATALOG.tool("osm").deprecated
    assert all(CATALOG.tool(n).deprecated is None for n in UPSTREAM_TOOLS - {"osm"})


def test_azure_cli_comes_from_the_signed_repository():
    cli = CATALOG.azure_cli
    assert cli.repo_url.startswith("https://") and cli.key_url.startswith("https://")
    assert all(len(fp) == 40 for fp in cli.key_fingerprints)
    assert cli.apt_version("2.90.0", "noble") == "2.90.0-1~noble"
    assert cli.version.parse(cli.version.example) == "2.90.0"


def test_base_images_include_the_required_gen2_images():
    images = CATALOG.base_images
    assert images["ubuntu-24.04"].urn("amd64") == "Canonical:ubuntu-24_04-lts:server:latest"
    assert images["ubuntu-22.04"].urn("amd64") == "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest"
    assert images["debian-12"].urn("amd64") == "Debian:debian-12:12-gen2:latest"
    assert all(i.hyperv_generation == "V2" for i in images.values())
