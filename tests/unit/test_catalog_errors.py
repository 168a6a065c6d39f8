"""A broken catalog is a located error naming toolset.yaml, the line and the field: never a KeyError."""

from __future__ import annotations

from importlib import resources

import pytest

from aks_jumpbox.core.catalog import parse_catalog
from aks_jumpbox.core.errors import SpecError

LABEL = "src/aks_jumpbox/data/toolset.yaml"
TEXT = resources.files("aks_jumpbox.data").joinpath("toolset.yaml").read_text(encoding="utf-8")
HELM_REGEX = "regex: '^v([0-9]+\\.[0-9]+\\.[0-9]+)'"


def _line(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def _error(text: str) -> str:
    assert text != TEXT, "the case did not change the catalog"
    with pytest.raises(SpecError) as err:
        parse_catalog(text, LABEL)
    return str(err.value)


def test_the_packaged_catalog_is_valid():
    catalog = parse_catalog(TEXT, LABEL)
    assert "helm" in catalog.tools and catalog.tool("helm").name == "helm"
    assert catalog.base_images["ubuntu-24.04"].key == "ubuntu-24.04"


@pytest.mark.parametrize(
    "old, new, field, message",
    [
        # a missing key
        ("    install: /usr/local/bin/helm\n", "", "tools.helm.install", "is required"),
        # an unknown archive type, checksum format, release source
        (
            'archive: tar.gz\n      member: "linux-{arch}/helm"',
            'archive: rar\n      member: "linux-{arch}/helm"',
            "tools.helm.artifact.archive",
            "'raw', 'tar.gz' or 'zip' (got 'rar')",
        ),
        (
            "format: sha256sum\n    hosts: [get.helm.sh]",
            "format: md5\n    hosts: [get.helm.sh]",
            "tools.helm.checksum.format",
            "'bare', 'sha256sum' or 'yq-multi' (got 'md5')",
        ),
        (
            "releases: {source: github, repo: helm/helm}",
            "releases: {source: gitlab, repo: helm/helm}",
            "tools.helm.releases.source",
            "(got 'gitlab')",
        ),
        (
            "releases: {source: github, repo: helm/helm}",
            "releases: {source: github}",
            "tools.helm.releases.repo",
            "is required for a github source",
        ),
        # bad regexes: not one, no group, or not matching its own example
        (HELM_REGEX, "regex: '^v([0-9]+'", "tools.helm.version.regex", "is not a regular expression"),
        (HELM_REGEX, "regex: '^v[0-9.]+'", "tools.helm.version.regex", "must capture the version in a group"),
        (HELM_REGEX, "regex: '^x([0-9.]+)'", "tools.helm.version.regex", "finds no version in example"),
        (HELM_REGEX, "regex: '^v([0-9.]+)|x'", "tools.helm.version.regex", "must not contain |"),
        # templates, URLs and hosts
        (
            'helm-{tag}-linux-{arch}.tar.gz"',
            'helm-{tga}-linux-{arch}.tar.gz"',
            "tools.helm.artifact.url",
            "unknown placeholder {tga}",
        ),
        ("hosts: [get.helm.sh]", "hosts: [example.com]", "tools.helm.artifact.url", "which hosts does not list"),
        (
            'url: "https://get.helm.sh/helm-{tag}-linux-{arch}.tar.gz"',
            'url: "http://get.helm.sh/helm-{tag}-linux-{arch}.tar.gz"',
            "tools.helm.artifact.url",
            "must be an https:// URL",
        ),
        ('      member: "linux-{arch}/helm"\n', "", "tools.helm.artifact.member", "required for those"),
        (
            "    install: /usr/local/bin/helm\n",
            "    install: /usr/local/bin/helm\n    instal: x\n",
            "tools.helm.instal",
            "unknown key",
        ),
        ("  helm:\n", "  Helm:\n", "tools.Helm", "is not a tool name"),
        (
            'end_of_standard_support: "2029-05-31"',
            'end_of_standard_support: "2029-13-31"',
            "base_images.ubuntu-24.04.end_of_standard_support",
            "is not a date",
        ),
        ("BC528686B50D79E339D3721CEB3E94ADBE1229CF", "xyz", "azure_cli.key_fingerprints.0", "OpenPGP fingerprint"),
        (
            "schema: aks-jumpbox/toolset/v1",
            "schema: aks-jumpbox/toolset/v2",
            "schema",
            "(got 'aks-jumpbox/toolset/v2')",
        ),
    ],
)
def test_a_broken_catalog_is_a_located_error(old, new, field, message):
    text = TEXT.replace(old, new, 1)
    error = _error(text)
    assert f"{LABEL}:" in error and f": {field}: " in error and message in error, error


def test_the_line_is_the_fields_own():
    text = TEXT.replace(HELM_REGEX, "regex: '^v[0-9.]+'")
    line = _line(text, "regex: '^v[0-9.]+'")
    assert f"{LABEL}:{line}: tools.helm.version.regex: " in _error(text)


def test_every_problem_is_reported():
    text = TEXT.replace("format: bare", "format: md5", 1).replace("    install: /usr/local/bin/helm\n", "")
    error = _error(text)
    assert "tools.kubectl.checksum.format" in error and "tools.helm.install" in error


@pytest.mark.parametrize(
    "text, message",
    [
        ("[1, 2]", "valid dictionary"),
        (TEXT.replace("  helm:\n", "  helm: [\n", 1), "not valid YAML"),
    ],
)
def test_a_catalog_that_is_not_one_is_refused_with_its_file(text, message):
    error = _error(text)
    assert error.startswith(f"{LABEL}:") and message in error
