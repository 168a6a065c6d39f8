"""The toolset catalog (data/toolset.yaml) as typed, read-only objects.

The catalog says *how* a tool is fetched and checked; the spec says *which* tools and versions;
the lock says *exactly what bytes*. Nothing here knows about Azure.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

ARCHES = ("amd64", "arm64")
ARCHIVES = ("raw", "tar.gz", "zip")
CHECKSUM_FORMATS = ("bare", "sha256sum", "yq-multi")


@dataclass(frozen=True)
class VersionCheck:
    command: tuple[str, ...]
    regex: str
    example: str

    def parse(self, output: str) -> str | None:
        """The version the command's output reports, as validate.sh will read it."""
        # The catalog's regexes are POSIX ERE (validate.sh runs them with `sed -E`); the subset
        # they use ([...], +, *, ^, $, one group) means the same in Python.
        pattern = re.compile(self.regex)
        for line in output.splitlines():
            m = pattern.search(line)
            if m:
                return m.group(1)
        return None


@dataclass(frozen=True)
class ReleaseSource:
    """Where new releases of a tool are announced (see `releases` in toolset.yaml)."""

    source: str  # github | hashicorp | stable-txt
    repo: str | None = None
    url: str | None = None
    tag: str | None = None  # github only: how a tag is formed from a version, e.g. "v{version}"


RELEASE_SOURCES = ("github", "hashicorp", "stable-txt")


def _release_source(raw: dict[str, Any] | None, tag: str | None) -> ReleaseSource | None:
    if raw is None:
        return None
    if raw["source"] not in RELEASE_SOURCES:
        raise ValueError(f"unknown release source {raw['source']!r}")
    return ReleaseSource(source=raw["source"], repo=raw.get("repo"), url=raw.get("url"), tag=raw.get("tag", tag))


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    homepage: str
    license: str
    tag: str
    url: str
    arch_names: dict[str, str]
    archive: str
    member: str | None
    checksum_url: str
    checksum_format: str
    checksum_order_url: str | None
    hosts: tuple[str, ...]
    install: str
    version: VersionCheck
    deprecated: str | None = None
    extra: bool = False
    releases: ReleaseSource | None = None

    def _fill(self, template: str, version: str, arch: str) -> str:
        tag = self.tag.format(version=version)
        return template.format(version=version, tag=tag, arch=self.arch_names[arch])

    def tag_for(self, version: str) -> str:
        return self.tag.format(version=version)

    def artifact_url(self, version: str, arch: str) -> str:
        return self._fill(self.url, version, arch)

    def checksum_file_url(self, version: str, arch: str) -> str:
        return self._fill(self.checksum_url, version, arch)

    def checksum_order_file_url(self, version: str, arch: str) -> str | None:
        return self._fill(self.checksum_order_url, version, arch) if self.checksum_order_url else None

    def archive_member(self, version: str, arch: str) -> str | None:
        return self._fill(self.member, version, arch) if self.member else None

    def supports(self, arch: str) -> bool:
        return arch in self.arch_names


@dataclass(frozen=True)
class AzureCli:
    description: str
    homepage: str
    license: str
    package: str
    repo_url: str
    key_url: str
    key_fingerprints: tuple[str, ...]
    hosts: tuple[str, ...]
    package_version: str
    version: VersionCheck
    extension_version_command: tuple[str, ...]
    releases: ReleaseSource | None = None

    def apt_version(self, version: str, codename: str) -> str:
        return self.package_version.format(version=version, codename=codename)


@dataclass(frozen=True)
class BaseImage:
    key: str
    title: str
    publisher: str
    offer: str
    skus: dict[str, str]
    codename: str
    family: str
    hyperv_generation: str
    end_of_standard_support: str
    apt_archive: str
    apt_security: str
    apt_hosts: tuple[str, ...]
    # arch -> the gallery image definition SecurityType matching this source ("Standard": none)
    security_types: dict[str, str] = field(default_factory=dict)

    def urn(self, arch: str) -> str:
        return f"{self.publisher}:{self.offer}:{self.skus[arch]}:latest"


@dataclass(frozen=True)
class Catalog:
    tools: dict[str, Tool]
    azure_cli: AzureCli
    base_images: dict[str, BaseImage]
    warn_days_before_end_of_support: int = 180

    def tool(self, name: str) -> Tool:
        return self.tools[name]


def _version_check(raw: dict[str, Any]) -> VersionCheck:
    return VersionCheck(command=tuple(raw["command"]), regex=raw["regex"], example=raw["example"])


def _tool(name: str, raw: dict[str, Any]) -> Tool:
    art, chk = raw["artifact"], raw["checksum"]
    return Tool(
        name=name,
        description=raw["description"],
        homepage=raw["homepage"],
        license=raw["license"],
        tag=raw["tag"],
        url=art["url"],
        arch_names=dict(art["arch"]),
        archive=art["archive"],
        member=art.get("member"),
        checksum_url=chk["url"],
        checksum_format=chk["format"],
        checksum_order_url=chk.get("order_url"),
        hosts=tuple(raw["hosts"]),
        install=raw["install"],
        version=_version_check(raw["version"]),
        deprecated=" ".join(raw["deprecated"].split()) if raw.get("deprecated") else None,
        extra=bool(raw.get("extra", False)),
        # GitHub tags as the API spells them: the catalog's tag is URL-encoded for download URLs.
        releases=_release_source(raw.get("releases"), unquote(raw["tag"])),
    )


def parse_catalog(doc: dict[str, Any]) -> Catalog:
    cli = doc["azure_cli"]
    azure_cli = AzureCli(
        description=cli["description"],
        homepage=cli["homepage"],
        license=cli["license"],
        package=cli["package"],
        repo_url=cli["repo_url"],
        key_url=cli["key_url"],
        key_fingerprints=tuple(cli["key_fingerprints"]),
        hosts=tuple(cli["hosts"]),
        package_version=cli["package_version"],
        version=_version_check(cli["version"]),
        extension_version_command=tuple(cli["extension_version"]["command"]),
        releases=_release_source(cli.get("releases"), None),
    )
    images = {
        key: BaseImage(
            key=key,
            title=raw["title"],
            publisher=raw["publisher"],
            offer=raw["offer"],
            skus=dict(raw["sku"]),
            codename=raw["codename"],
            family=raw["family"],
            hyperv_generation=raw["hyperv_generation"],
            end_of_standard_support=raw["end_of_standard_support"],
            apt_archive=raw["apt"]["archive"],
            apt_security=raw["apt"]["security"],
            apt_hosts=tuple(raw["apt"]["hosts"]),
            security_types=dict(raw.get("security_type") or {}),
        )
        for key, raw in doc["base_images"].items()
    }
    tools = {name: _tool(name, raw) for name, raw in doc["tools"].items()}
    warn = (doc.get("lifecycle") or {}).get("warn_days_before_end_of_support", 180)
    return Catalog(tools=tools, azure_cli=azure_cli, base_images=images, warn_days_before_end_of_support=int(warn))


@functools.cache
def load_catalog() -> Catalog:
    text = resources.files("aks_jumpbox.data").joinpath("toolset.yaml").read_text(encoding="utf-8")
    return parse_catalog(yaml.safe_load(text))


# A file name derived from a URL becomes a path under provision.sh's cache, in the mirror and in
# `mirror sync`'s output: only these characters, never a leading "." (so never "." or "..").
SAFE_FILE_NAME = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,199}")
# An exact version as the spec and the lock write it (ASCII digits: `\d` would take any script's).
EXACT_VERSION = re.compile(r"[0-9]{1,20}\.[0-9]{1,20}\.[0-9]{1,20}")


class UnsafeFileName(ValueError):
    """A URL whose last segment is not usable as a file name."""


def url_basename(url: str) -> str:
    """The URL's last path segment, percent-decoded, as a file name.

    Raises UnsafeFileName unless the decoded name is in SAFE_FILE_NAME: a `%2F` or `%2E%2E` never
    becomes a path separator or a parent folder, whoever wrote the URL.
    """
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1], errors="replace")
    if not SAFE_FILE_NAME.fullmatch(name):
        raise UnsafeFileName(
            f"the file name {name!r} taken from {url} is not safe; a download's file name may hold only "
            "letters, digits and . _ + - and must not start with '.'"
        )
    return name


def sibling_url(url: str, name: str) -> str:
    """The URL of file `name` in the same folder as url (an order file beside its checksum file)."""
    return url.rsplit("/", 1)[0] + "/" + name


def url_host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
