"""The toolset catalog (data/toolset.yaml) as typed, read-only pydantic models.

The catalog says *how* a tool is fetched and checked; the spec says *which* tools and versions;
the lock says *exactly what bytes*. Nothing here knows about Azure.

Validated like the spec: a broken catalog is a located error (toolset.yaml:LINE: field: what to
change), never a KeyError in the middle of a plan. The CLI loads it once (`load_catalog`) and
passes it down; nothing in the core loads it itself.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from importlib import resources
from typing import Annotated, Any, Literal, get_args
from urllib.parse import unquote, urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from aks_jumpbox.core.urls import check_url
from aks_jumpbox.core.validation import error, invalid, located
from aks_jumpbox.core.yamlfile import load_yaml

ARCHES = ("amd64", "arm64")
Archive = Literal["raw", "tar.gz", "zip"]
ChecksumFormat = Literal["bare", "sha256sum", "yq-multi"]
ARCHIVES: tuple[str, ...] = get_args(Archive)
CHECKSUM_FORMATS: tuple[str, ...] = get_args(ChecksumFormat)
RELEASE_SOURCES = ("github", "hashicorp", "stable-txt")
CATALOG_SCHEMA = "aks-jumpbox/toolset/v1"


def _matching(pattern: str, what: str) -> AfterValidator:
    regex = re.compile(pattern)

    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


Arch = Annotated[str, _matching("amd64|arm64", "an architecture (amd64 or arm64)")]
# A tool's name is a word of provision.sh's TAB tables, a folder of the mirror and a file in /usr/local/bin.
ToolName = Annotated[str, _matching(r"[a-z][a-z0-9-]{0,39}", "a tool name (lowercase letters, digits and -)")]
Host = Annotated[str, _matching(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?", "a host name in lowercase")]
Fingerprint = Annotated[str, _matching(r"[0-9A-F]{40}", "an OpenPGP fingerprint (40 uppercase hex digits)")]
_SAMPLE_VERSION = "1.2.3"  # to prove a URL template before any real version fills it


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True)


def _fill(template: str, **values: str) -> str:
    """template with its placeholders (the names in values) filled; ValueError says what is wrong."""
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        detail = f"unknown placeholder {{{exc.args[0]}}}" if isinstance(exc, KeyError) else str(exc)
        names = ", ".join("{" + k + "}" for k in values)
        raise ValueError(
            f"{template!r} is not a template of {names}: {detail} (a literal brace is written {{{{ or }}}})"
        ) from None


def _url_problem(url: str, hosts: tuple[str, ...] | None) -> str | None:
    """Why the lock would refuse url (or its host is not in hosts), or None."""
    try:
        url_basename(check_url(url))
    except ValueError as exc:
        return f"gives {url} (for version {_SAMPLE_VERSION}), which {exc}"
    if hosts is not None and url_host(url) not in hosts:
        return (
            f"gives a URL on {url_host(url)}, which hosts does not list; add it (the egress allow-list "
            "comes from hosts)"
        )
    return None


class VersionCheck(_Entry):
    """How validate.sh reads a tool's installed version: the regex's first group in the command's output."""

    command: tuple[str, ...] = Field(min_length=1)
    regex: str
    example: str

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str) -> str:
        # validate.sh runs it with `sed -E "s|...|\1|"` from a TAB-separated table.
        if "|" in value or "\t" in value or "\n" in value:
            raise ValueError(
                "must not contain | or a tab or newline: validate.sh runs it with sed s|...| from a TAB table"
            )
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise ValueError(f"is not a regular expression ({exc})") from None
        if pattern.groups < 1:
            raise ValueError("must capture the version in a group, e.g. 'v([0-9.]+)'")
        return value

    @model_validator(mode="after")
    def _proved(self) -> VersionCheck:
        if self.parse(self.example) is None:
            raise invalid(
                [
                    error(
                        ("regex",),
                        "finds no version in example; fix the regex or give a real output sample as example",
                        self.regex,
                    )
                ]
            )
        return self

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


class ReleaseSource(_Entry):
    """Where new releases of a tool are announced (see `releases` in toolset.yaml)."""

    source: Literal["github", "hashicorp", "stable-txt"]
    repo: str | None = None
    url: str | None = None
    tag: str | None = None  # github only: how a tag is formed from a version, e.g. "v{version}"

    @model_validator(mode="after")
    def _where(self) -> ReleaseSource:
        if self.source == "github" and not self.repo:
            raise invalid([error(("repo",), "is required for a github source (owner/name)")])
        if self.source != "github" and not self.url:
            raise invalid([error(("url",), f"is required for a {self.source} source")])
        return self


class Artifact(_Entry):
    url: str
    arch: dict[Arch, str] = Field(min_length=1)
    archive: Archive
    member: str | None = None

    @model_validator(mode="after")
    def _member(self) -> Artifact:
        if (self.archive == "raw") != (self.member is None):
            raise invalid(
                [
                    error(
                        ("member",),
                        "names the binary inside a tar.gz or zip archive: required for those, not allowed for raw",
                        self.member,
                    )
                ]
            )
        return self


class Checksum(_Entry):
    url: str
    format: ChecksumFormat
    order_url: str | None = None

    @model_validator(mode="after")
    def _order(self) -> Checksum:
        if (self.format == "yq-multi") != (self.order_url is not None):
            raise invalid(
                [
                    error(
                        ("order_url",),
                        "names the file that orders a yq-multi checksum file's "
                        "columns: required for yq-multi, not allowed otherwise",
                        self.order_url,
                    )
                ]
            )
        return self


class Tool(_Entry):
    name: str  # the key under tools (checked there)
    description: str
    homepage: str
    license: str
    tag: str
    artifact: Artifact
    checksum: Checksum
    hosts: tuple[Host, ...] = Field(min_length=1)
    install: Annotated[str, _matching(r"/usr/local/bin/[A-Za-z0-9._-]+", "a file in /usr/local/bin")]
    version: VersionCheck
    deprecated: str | None = None
    extra: bool = False
    releases: ReleaseSource | None = None

    @model_validator(mode="before")
    @classmethod
    def _release_tag(cls, data: Any) -> Any:
        # GitHub tags as the API spells them: the catalog's tag is URL-encoded for download URLs.
        rel, tag = (data.get("releases"), data.get("tag")) if isinstance(data, dict) else (None, None)
        if isinstance(rel, dict) and "tag" not in rel and isinstance(tag, str):
            return {**data, "releases": {**rel, "tag": unquote(tag)}}
        return data

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str) -> str:
        _fill(value, version=_SAMPLE_VERSION)
        return value

    @field_validator("deprecated")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return " ".join(value.split()) if value else None

    @model_validator(mode="after")
    def _templates(self) -> Tool:
        """Every template fills in, and every URL it gives is one the lock accepts, on a listed host."""
        problems = []
        templates = [
            (("artifact", "url"), self.artifact.url),
            (("artifact", "member"), self.artifact.member),
            (("checksum", "url"), self.checksum.url),
            (("checksum", "order_url"), self.checksum.order_url),
        ]
        for loc, template in templates:
            if template is None:
                continue
            for arch in self.arch_names:
                try:
                    filled = self._filled(template, _SAMPLE_VERSION, arch)
                    why = (
                        _url_problem(filled, self.hosts if loc == ("artifact", "url") else None)
                        if loc[-1] != "member"
                        else None
                    )
                except ValueError as exc:
                    why = str(exc)
                if why:
                    problems.append(error(loc, why, template))
                    break
        if problems:
            raise invalid(problems)
        return self

    def _filled(self, template: str, version: str, arch: str) -> str:
        tag = _fill(self.tag, version=version)
        return _fill(template, version=version, tag=tag, arch=self.arch_names[arch])

    @property
    def url(self) -> str:
        return self.artifact.url

    @property
    def arch_names(self) -> dict[str, str]:
        return dict(self.artifact.arch)

    @property
    def archive(self) -> str:
        return self.artifact.archive

    @property
    def member(self) -> str | None:
        return self.artifact.member

    @property
    def checksum_url(self) -> str:
        return self.checksum.url

    @property
    def checksum_format(self) -> str:
        return self.checksum.format

    @property
    def checksum_order_url(self) -> str | None:
        return self.checksum.order_url

    def artifact_url(self, version: str, arch: str) -> str:
        return self._filled(self.url, version, arch)

    def checksum_file_url(self, version: str, arch: str) -> str:
        return self._filled(self.checksum_url, version, arch)

    def checksum_order_file_url(self, version: str, arch: str) -> str | None:
        return self._filled(self.checksum_order_url, version, arch) if self.checksum_order_url else None

    def archive_member(self, version: str, arch: str) -> str | None:
        return self._filled(self.member, version, arch) if self.member else None

    def supports(self, arch: str) -> bool:
        return arch in self.artifact.arch


class AzureCli(_Entry):
    description: str
    homepage: str
    license: str
    package: Annotated[str, _matching(r"[a-z0-9][a-z0-9.+-]+", "a Debian package name")]
    repo_url: str
    key_url: str
    key_fingerprints: tuple[Fingerprint, ...] = Field(min_length=1)
    hosts: tuple[Host, ...] = Field(min_length=1)
    package_version: str  # the apt version pin, e.g. "{version}-1~{codename}"
    version: VersionCheck
    releases: ReleaseSource | None = None

    @field_validator("repo_url", "key_url")
    @classmethod
    def _https(cls, value: str) -> str:
        return check_url(value)

    @field_validator("package_version")
    @classmethod
    def _pin(cls, value: str) -> str:
        _fill(value, version=_SAMPLE_VERSION, codename="noble")
        return value

    def apt_version(self, version: str, codename: str) -> str:
        return self.package_version.format(version=version, codename=codename)


class AptSource(_Entry):
    archive: str
    security: str
    hosts: tuple[Host, ...] = Field(min_length=1)

    @field_validator("archive", "security")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value, schemes=("http", "https"))


class BaseImage(_Entry):
    key: str  # the key under base_images
    title: str
    publisher: str
    offer: str
    skus: dict[Arch, str] = Field(validation_alias="sku", min_length=1)
    codename: Annotated[str, _matching(r"[a-z]+", "a release code name such as noble")]
    family: str
    hyperv_generation: Literal["V1", "V2"]
    end_of_standard_support: str
    end_of_lts: str | None = None
    apt: AptSource
    # arch -> the gallery image definition SecurityType matching this source ("Standard": none)
    security_types: dict[Arch, str] = Field(default_factory=dict, validation_alias="security_type")

    @field_validator("end_of_standard_support", "end_of_lts")
    @classmethod
    def _date(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f'{value!r} is not a date; write it as "YYYY-MM-DD"') from None
        return value

    @property
    def apt_archive(self) -> str:
        return self.apt.archive

    @property
    def apt_security(self) -> str:
        return self.apt.security

    @property
    def apt_hosts(self) -> tuple[str, ...]:
        return self.apt.hosts

    def urn(self, arch: str) -> str:
        return f"{self.publisher}:{self.offer}:{self.skus[arch]}:latest"


class Lifecycle(_Entry):
    warn_days_before_end_of_support: int = Field(default=180, ge=0, le=3650)


class Catalog(_Entry):
    schema_: Literal["aks-jumpbox/toolset/v1"] = Field(validation_alias="schema")
    github_release_hosts: tuple[Host, ...] = ()  # a YAML anchor the tools' hosts refer to
    tools: dict[ToolName, Tool]
    azure_cli: AzureCli
    lifecycle: Lifecycle = Lifecycle()
    base_images: dict[str, BaseImage] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, data: Any) -> Any:
        """Each tool and base image knows its own key."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for field, key in (("tools", "name"), ("base_images", "key")):
            if isinstance(data.get(field), dict):
                out[field] = {k: {**v, key: k} if isinstance(v, dict) else v for k, v in data[field].items()}
        return out

    @property
    def warn_days_before_end_of_support(self) -> int:
        return self.lifecycle.warn_days_before_end_of_support

    def tool(self, name: str) -> Tool:
        return self.tools[name]


CATALOG_NAME = "toolset.yaml"


def parse_catalog(text: str, label: str = CATALOG_NAME) -> Catalog:
    """The catalog in text; a SpecError lists every problem at its line and field."""
    doc = load_yaml(text, label)
    see = f"see the comment at the top of {CATALOG_NAME}"
    try:
        return Catalog.model_validate(doc.data, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise located(
            exc,
            doc,
            missing=f"is required; add it ({see})",
            unknown=lambda parent: f"unknown key; remove it or check its spelling (allowed under {parent}: {see})",
        ) from None


@functools.cache
def load_catalog() -> Catalog:
    """The packaged catalog. Only the CLI (the composition root) calls this; the core is given it."""
    path = resources.files("aks_jumpbox.data").joinpath(CATALOG_NAME)
    return parse_catalog(path.read_text(encoding="utf-8"), str(path))


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
