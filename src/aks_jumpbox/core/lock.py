"""The lock (jumpbox.lock.json): exact version, URL and SHA-256 of every artifact.

`aks-jumpbox lock` writes it (the only command that needs the internet); everything else reads
it. Where a digest could not be confirmed, the entry says so (sha256 null) and the rendered
script verifies against the upstream checksum file fetched over HTTPS at build time.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

from aks_jumpbox.adapters.files import SPEC_LIMIT, load_json, read_input
from aks_jumpbox.core.baseimages import HEX128, load_base_images
from aks_jumpbox.core.baseimages import mirror_path as base_image_mirror_path
from aks_jumpbox.core.catalog import ARCHES, EXACT_VERSION, SAFE_FILE_NAME, Catalog, url_basename
from aks_jumpbox.core.checksums import HEX64
from aks_jumpbox.core.extensions import VERSION as EXTENSION_VERSION
from aks_jumpbox.core.extensions import version_key as extension_version_key
from aks_jumpbox.core.extensions import wheel_problem
from aks_jumpbox.core.urls import check_url
from aks_jumpbox.core.validation import error, invalid, json_lines, located, relocated
from aks_jumpbox.core.yamlfile import LocatedDocument

LOCK_SCHEMA = "aks-jumpbox/lock/v1"
DEFAULT_LOCK_NAME = "jumpbox.lock.json"

_REGENERATE = "regenerate it with `aks-jumpbox lock`"
_MAX_NOTE = 1000  # source is a note for people, shown in warnings
_OVERRIDE = re.compile(r"[A-Za-z0-9 .,:;()/#'_+=@-]{1,200}")
_KEYS = {  # the fields of each object of the file, for the message about an unknown one
    "artifact": ("checksumUrl", "override", "sha256", "source", "url"),
    "entry": ("version", "artifacts"),
    "azureCli": ("versions", "extensions"),
    "extension": ("version", "url", "sha256", "source"),
    "baseImage": ("release", "url", "sha256", "checksumUrl", "sha512", "source"),
    "": ("schema", "tools", "azureCli", "baseImages"),
}


class _LockModel(BaseModel):
    # Read from the file by the JSON names (checksumUrl), built in code by the Python ones.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True)


def _exact_version(value: Any, message: str) -> str:
    if not isinstance(value, str) or not EXACT_VERSION.fullmatch(value):
        raise ValueError(message)
    return value


def _digest_or_null(value: Any, pattern: re.Pattern[str], digits: int) -> str | None:
    """A hex digest field that may be null (no digest confirmed yet)."""
    if value is not None and not (isinstance(value, str) and pattern.fullmatch(value)):
        raise ValueError(f"must be {digits} lowercase hex digits or null")
    return value


def _note(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string ({what})")
    if len(value) > _MAX_NOTE or any(not ch.isprintable() for ch in value):
        raise ValueError(f"must be one line of at most {_MAX_NOTE} printable characters ({what})")
    return value


def _artifact_url(value: Any) -> str:
    url = check_url(value)
    url_basename(url)  # a file name the mirror and the build's cache can hold
    return url


# Field types that carry their rule, so every lock entry checks a digest, a note or a URL the same way.
Sha256OrNull = Annotated[str | None, BeforeValidator(lambda v: _digest_or_null(v, HEX64, 64))]
Sha512OrNull = Annotated[str | None, BeforeValidator(lambda v: _digest_or_null(v, HEX128, 128))]
DigestNote = Annotated[str, BeforeValidator(lambda v: _note(v, "where the digest came from"))]
ArtifactUrl = Annotated[str, BeforeValidator(_artifact_url)]


class LockedArtifact(_LockModel):
    """One artifacts.<arch> entry. Read from a file (parse_lock), it is also verified against the
    catalog: its URLs are the catalog's, their mirror copies, or the entry says why not (override)."""

    url: ArtifactUrl
    sha256: Sha256OrNull = None
    checksum_url: ArtifactUrl = Field(validation_alias="checksumUrl")
    source: DigestNote = ""  # where the digest came from: "checksum-file", "recorded", or why it is missing
    # Why this entry may differ from the catalog's URLs (the user's explicit, per-entry opt-in).
    override: str | None = None
    # The mirror base when the entry names the mirror's copy (<base>/<tool>/<version>/<arch>/<file>)
    # instead of the upstream URL; the plan requires it to be the spec's mirror.artifacts.
    _mirror_base: str | None = PrivateAttr(default=None)

    @field_validator("override", mode="before")
    @classmethod
    def _override(cls, value: Any) -> str | None:
        # The reason is shown in warnings, the egress allow-list and its markdown table: plain words only.
        plain = isinstance(value, str) and _OVERRIDE.fullmatch(value) and value.strip()
        if value is not None and not plain:
            raise ValueError(
                "must say in plain words (letters, digits, spaces and .,:;()/#'_+=@-, at most "
                "200) why this entry differs from the catalog"
            )
        return value

    @model_validator(mode="after")
    def _verified(self, info: ValidationInfo) -> LockedArtifact:
        where = info.context or {}
        if "catalog" not in where:  # built in code (the lock command): the plan checks it again
            return self
        problem, base = _verify_source(
            where["tool"], where["version"], where["arch"], self.url, self.checksum_url, where["catalog"]
        )
        if problem and self.override is None:
            raise invalid([problem])
        self._mirror_base = base if self.override is None else None
        return self

    @property
    def mirror_base(self) -> str | None:
        return self._mirror_base

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None

    def to_json(self) -> dict[str, Any]:
        out = {"url": self.url, "sha256": self.sha256, "checksumUrl": self.checksum_url, "source": self.source}
        if self.override:
            out["override"] = self.override
        return out


class LockedTool(_LockModel):
    """One locked version of a tool: its artifact per architecture."""

    version: str
    artifacts: dict[str, LockedArtifact]

    @model_validator(mode="before")
    @classmethod
    def _no_artifacts(cls, data: Any) -> Any:
        # Absent from a file: the artifacts validator's message, not pydantic's "missing".
        return {**data, "artifacts": None} if isinstance(data, dict) and "artifacts" not in data else data

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> str:
        return _exact_version(value, f'must be an exact version string such as "1.2.3" (got {value!r}); {_REGENERATE}')

    @field_validator("artifacts", mode="wrap")
    @classmethod
    def _artifacts(cls, value: Any, handler: Any, info: ValidationInfo) -> dict[str, LockedArtifact]:
        if not isinstance(value, dict) or not value:
            raise ValueError(f"must be a mapping of architecture ({', '.join(ARCHES)}) to artifact; {_REGENERATE}")
        where = info.context or {}
        if "catalog" not in where:
            return handler(value)
        # Each artifact is verified against the catalog's URLs for this tool, version and architecture.
        tool, out, errors = where["catalog"].tool(where["tool"]), {}, []
        for arch, raw in value.items():
            if arch not in ARCHES:
                errors.append(error((arch,), f"unknown architecture; use one of {', '.join(ARCHES)}", arch))
            elif not tool.supports(arch):
                errors.append(
                    error((arch,), f"{tool.name} is not published for {arch} in the catalog; remove this entry", arch)
                )
            elif not isinstance(raw, dict):
                errors.append(error((arch,), "must be a mapping with url, sha256, checksumUrl and source", raw))
            elif "version" in info.data:
                context = {**where, "version": info.data["version"], "arch": arch}
                try:
                    out[arch] = LockedArtifact.model_validate(raw, context=context, by_alias=True, by_name=False)
                except ValidationError as exc:
                    errors += relocated(exc, (arch,))
        if errors:
            raise invalid(errors)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "artifacts": {a: self.artifacts[a].to_json() for a in sorted(self.artifacts)}}


_VERSIONS = f'must be a list of exact version strings such as "2.90.0"; {_REGENERATE}'


class LockedExtension(_LockModel):
    """One locked version of an Azure CLI extension: its wheel, the wheel's SHA-256 and where that came from
    (Microsoft's extension index). The build downloads the wheel, checks the digest and installs the file."""

    version: str
    url: str
    sha256: str
    source: DigestNote = ""

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> str:
        if not isinstance(value, str) or not EXTENSION_VERSION.fullmatch(value):
            raise ValueError(f'must be an exact extension version such as "19.0.0b10" (got {value!r}); {_REGENERATE}')
        return value

    @field_validator("sha256", mode="before")
    @classmethod
    def _sha(cls, value: Any) -> str:
        if not (isinstance(value, str) and HEX64.fullmatch(value)):
            raise ValueError(f"must be 64 lowercase hex digits (the index's sha256Digest); {_REGENERATE}")
        return value

    @model_validator(mode="after")
    def _wheel(self, info: ValidationInfo) -> LockedExtension:
        # The wheel's file name must be this extension's at this version: a lock entry cannot swap in another.
        name = (info.context or {}).get("extension")
        if name is not None and (problem := wheel_problem(name, self.version, self.url)):
            raise invalid([error(("url",), f"{problem}; {_REGENERATE}", self.url)])
        return self

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "url": self.url, "sha256": self.sha256, "source": self.source}


class _AzureCliFile(_LockModel):
    versions: tuple[str, ...] = ()
    # Absent from a lock written before extensions were pinned: the plan then asks for `aks-jumpbox lock`.
    extensions: dict[str, list[LockedExtension]] = {}

    @field_validator("versions", mode="before")
    @classmethod
    def _versions(cls, value: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError(_VERSIONS)
        return [_exact_version(v, _VERSIONS) for v in value]

    @field_validator("extensions", mode="plain")
    @classmethod
    def _extensions(cls, value: Any) -> dict[str, list[LockedExtension]]:
        if not isinstance(value, dict):
            raise ValueError(f"must be a mapping of extension name to a list of locked versions; {_REGENERATE}")
        out: dict[str, list[LockedExtension]] = {}
        errors: list[InitErrorDetails] = []
        for name, entries in value.items():
            if not isinstance(entries, list):
                errors.append(error((name,), f"must be a list of locked versions; {_REGENERATE}"))
                continue
            out[name] = []
            for i, raw in enumerate(entries):
                try:
                    entry = LockedExtension.model_validate(
                        raw, context={"extension": name}, by_alias=True, by_name=False
                    )
                except ValidationError as exc:
                    errors += relocated(exc, (name, i))
                    continue
                if any(e.version == entry.version for e in out[name]):
                    errors.append(
                        error((name, i, "version"), f"{entry.version} is locked twice; keep one entry per version")
                    )
                    continue
                out[name].append(entry)
        if errors:
            raise invalid(errors)
        return out


class LockedBaseImage(_LockModel):
    """One baseImages.<base>.<arch> entry: the publisher's cloud image of one release (data/baseimages.yaml).
    sha256 is what every download is held to (null: not confirmed; `lock` resolves it); sha512 is the
    publisher's own digest where it publishes only SHA-512 (Debian), kept to show where sha256 came from."""

    release: str
    url: ArtifactUrl
    sha256: Sha256OrNull = None
    checksum_url: ArtifactUrl = Field(validation_alias="checksumUrl")
    sha512: Sha512OrNull = None
    source: DigestNote = ""

    @field_validator("release", mode="before")
    @classmethod
    def _release(cls, value: Any) -> str:
        if not isinstance(value, str) or not SAFE_FILE_NAME.fullmatch(value):
            raise ValueError(f'must be the publisher\'s release name, e.g. "20260926"; {_REGENERATE}')
        return value

    @model_validator(mode="after")
    def _verified(self, info: ValidationInfo) -> LockedBaseImage:
        # Read from a file: the URLs must be the publisher's for this release (data/baseimages.yaml), or
        # their copies under one mirror base; nothing else is ever downloaded for a base image.
        where = info.context or {}
        image = where.get("image")
        if image is None:
            return self
        try:
            want_url, want_sum = image.image_url(self.release, where["arch"]), image.checksum_url(self.release)
        except ValueError as exc:
            raise invalid([error(("release",), f"{exc}; {_REGENERATE}", self.release)]) from None
        arch = where["arch"]
        copy = _copy_base(self.url, base_image_mirror_path(image.key, self.release, arch, want_url))
        if self.url != want_url and copy is None:
            raise invalid(
                [
                    error(
                        ("url",),
                        f"is not {want_url} (the {image.publisher} image of this release) or its mirror copy "
                        f"(<mirror>/{base_image_mirror_path(image.key, self.release, arch, want_url)}); {_REGENERATE}",
                        self.url,
                    )
                ]
            )
        sum_copy = _copy_base(self.checksum_url, base_image_mirror_path(image.key, self.release, arch, want_sum))
        if self.checksum_url != want_sum and (sum_copy is None or sum_copy != copy):
            raise invalid(
                [
                    error(
                        ("checksumUrl",),
                        f"is not {want_sum} (the {image.publisher} checksum file of this release) or its copy "
                        f"in the same mirror as url; {_REGENERATE}",
                        self.checksum_url,
                    )
                ]
            )
        return self

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"release": self.release, "url": self.url, "sha256": self.sha256}
        out["checksumUrl"] = self.checksum_url
        if self.sha512 is not None:
            out["sha512"] = self.sha512
        out["source"] = self.source
        return out


def _base_images(value: Any) -> dict[str, dict[str, LockedBaseImage]]:
    """The baseImages section: base -> arch -> entry, each verified against data/baseimages.yaml."""
    if not isinstance(value, dict):
        raise ValueError(f"must be a mapping of base image to architecture to entry; {_REGENERATE}")
    data = load_base_images()
    out: dict[str, dict[str, LockedBaseImage]] = {}
    errors: list[InitErrorDetails] = []
    for base, arches in value.items():
        image = data.image(base)
        if image is None:
            errors.append(error((base,), f"is not a base image ({', '.join(data.images)}); remove it or {_REGENERATE}"))
            continue
        if not isinstance(arches, dict):
            errors.append(error((base,), f"must be a mapping of architecture to entry; {_REGENERATE}"))
            continue
        out[base] = {}
        for arch, raw in arches.items():
            if not image.supports(arch):
                errors.append(
                    error((base, arch), f"{image.publisher} publishes {base} for {', '.join(image.arch)} only", arch)
                )
            elif not isinstance(raw, dict):
                errors.append(error((base, arch), "must be a mapping with release, url, sha256, checksumUrl, source"))
            else:
                try:
                    out[base][arch] = LockedBaseImage.model_validate(
                        raw, context={"image": image, "arch": arch}, by_alias=True, by_name=False
                    )
                except ValidationError as exc:
                    errors += relocated(exc, (base, arch))
    if errors:
        raise invalid(errors)
    return out


class _LockFile(_LockModel):
    """jumpbox.lock.json as written: tools by name, each a list of locked versions."""

    schema_: Literal["aks-jumpbox/lock/v1"] = Field(validation_alias="schema")
    tools: dict[str, list[LockedTool]] = {}
    azure_cli: _AzureCliFile = Field(default=_AzureCliFile(), validation_alias="azureCli")
    # Absent from a lock written before base images were pinned: `try` then asks for `aks-jumpbox lock`.
    base_images: dict[str, dict[str, LockedBaseImage]] = Field(default={}, validation_alias="baseImages")

    @model_validator(mode="before")
    @classmethod
    def _a_lock(cls, data: Any) -> Any:
        # Not a lock at all: one problem, not one per field.
        if not isinstance(data, dict) or data.get("schema") != LOCK_SCHEMA:
            raise invalid([error(("schema",), f"is not an {LOCK_SCHEMA} lock; {_REGENERATE}")])
        return {k: v for k, v in data.items() if v is not None or k not in ("tools", "azureCli", "baseImages")}

    @field_validator("azure_cli", mode="before")
    @classmethod
    def _cli(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise invalid([error(("versions",), _VERSIONS, value)])
        return value

    @field_validator("base_images", mode="plain")
    @classmethod
    def _bases(cls, value: Any) -> dict[str, dict[str, LockedBaseImage]]:
        return _base_images(value)

    @field_validator("tools", mode="plain")
    @classmethod
    def _tools(cls, value: Any, info: ValidationInfo) -> dict[str, list[LockedTool]]:
        if not isinstance(value, dict):
            raise ValueError(f"must be a mapping of tool name to a list of locked versions; {_REGENERATE}")
        context = info.context or {}
        out: dict[str, list[LockedTool]] = {}
        errors: list[InitErrorDetails] = []
        for name, entries in value.items():
            if name not in context["catalog"].tools:
                errors.append(error((name,), "is not a tool in the catalog; remove it or run `aks-jumpbox lock`"))
            elif not isinstance(entries, list):
                errors.append(error((name,), f"must be a list of locked versions; {_REGENERATE}"))
            else:
                out[name] = _entries(name, entries, {**context, "tool": name}, errors)
        if errors:
            raise invalid(errors)
        return out


def _entries(
    name: str, entries: list[Any], context: dict[str, Any], errors: list[InitErrorDetails]
) -> list[LockedTool]:
    """The locked versions of one tool, each verified (the context names the tool); adds to errors."""
    out: list[LockedTool] = []
    for i, raw in enumerate(entries):
        if not isinstance(raw, dict):
            errors.append(error((name, i), f"must be a mapping with version and artifacts; {_REGENERATE}"))
            continue
        try:
            entry = LockedTool.model_validate(raw, context=context, by_alias=True, by_name=False)
        except ValidationError as exc:
            errors += relocated(exc, (name, i))
            continue
        if any(e.version == entry.version for e in out):
            errors.append(error((name, i, "version"), f"{entry.version} is locked twice; keep one entry per version"))
            continue
        out.append(entry)
    return out


class Lock(_LockModel):
    """The lock in memory: tool name -> version -> entry, and the Azure CLI versions."""

    tools: dict[str, dict[str, LockedTool]] = {}
    azure_cli_versions: tuple[str, ...] = ()
    # Azure CLI extension name -> version -> entry.
    extensions: dict[str, dict[str, LockedExtension]] = {}
    # Base image (the catalog's key) -> architecture -> the pinned cloud image `try` boots.
    base_images: dict[str, dict[str, LockedBaseImage]] = {}

    def get(self, tool: str, version: str) -> LockedTool | None:
        return self.tools.get(tool, {}).get(version)

    def with_tool(self, name: str, entry: LockedTool) -> Lock:
        tools = {k: dict(v) for k, v in self.tools.items()}
        tools.setdefault(name, {})[entry.version] = entry
        return self.model_copy(update={"tools": tools})

    def with_azure_cli(self, version: str) -> Lock:
        versions = tuple(sorted(set(self.azure_cli_versions) | {version}, key=_version_key))
        return self.model_copy(update={"azure_cli_versions": versions})

    def with_extension(self, name: str, entry: LockedExtension) -> Lock:
        extensions = {k: dict(v) for k, v in self.extensions.items()}
        extensions.setdefault(name, {})[entry.version] = entry
        return self.model_copy(update={"extensions": extensions})

    def with_base_image(self, base: str, arch: str, entry: LockedBaseImage) -> Lock:
        bases = {k: dict(v) for k, v in self.base_images.items()}
        bases.setdefault(base, {})[arch] = entry
        return self.model_copy(update={"base_images": bases})

    def extension_versions(self, name: str) -> list[str]:
        """The locked versions of an extension, oldest first (the order of the file's list)."""
        return sorted(self.extensions.get(name, {}), key=extension_version_key)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": LOCK_SCHEMA,
            "tools": {
                name: [self.tools[name][v].to_json() for v in sorted(self.tools[name], key=_version_key)]
                for name in sorted(self.tools)
            },
            "azureCli": {
                "versions": list(self.azure_cli_versions),
                **(
                    {
                        "extensions": {
                            name: [self.extensions[name][v].to_json() for v in self.extension_versions(name)]
                            for name in sorted(self.extensions)
                        }
                    }
                    if self.extensions
                    else {}
                ),
            },
            **(
                {
                    "baseImages": {
                        base: {a: self.base_images[base][a].to_json() for a in sorted(self.base_images[base])}
                        for base in sorted(self.base_images)
                    }
                }
                if self.base_images
                else {}
            ),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n"


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def _copy_base(url: str, path: str) -> str | None:
    """The mirror base of url when it ends with /path (a mirror copy), else None."""
    return url[: -len(path) - 1] if url.endswith("/" + path) and len(url) > len(path) + 1 else None


def _mirror_base(url: str, name: str, version: str, arch: str, upstream: str) -> str | None:
    """The base of url when it is the mirror layout's copy of upstream, else None."""
    suffix = f"/{name}/{version}/{arch}/{url_basename(upstream)}"
    return url[: -len(suffix)] if url.endswith(suffix) and len(url) > len(suffix) else None


def _verify_source(
    name: str, version: str, arch: str, url: str, checksum_url: str, catalog: Catalog
) -> tuple[Any, str | None]:
    """(problem, mirror base): the entry's URLs against what the catalog derives."""
    tool = catalog.tool(name)
    want_url, want_sum = tool.artifact_url(version, arch), tool.checksum_file_url(version, arch)
    if url == want_url and checksum_url == want_sum:
        return None, None
    base = _mirror_base(url, name, version, arch, want_url)
    if base is not None and _mirror_base(checksum_url, name, version, arch, want_sum) == base:
        return None, base
    fix = (
        f'{_REGENERATE}, or, to fetch it from elsewhere on purpose, add "override": "<why>" to this '
        "entry (the plan then warns and the egress allow-list says so)"
    )
    if url != want_url and base is None:
        copy = f"<mirror>/{name}/{version}/{arch}/{url_basename(want_url)}"
        return error(
            ("url",),
            f"is {url}, not the catalog's URL of {name} {version} ({arch}), {want_url}, "
            f"or its mirror copy ({copy}); {fix}",
            url,
        ), None
    return error(
        ("checksumUrl",),
        f"is {checksum_url}, not the catalog's checksum file of {name} {version} "
        f"({arch}), {want_sum}, or its copy in the same mirror as url; {fix}",
        checksum_url,
    ), None


def _unknown_key(parent: str) -> str:
    kind = (
        "baseImage"
        if parent.startswith("baseImages.")
        else "artifact"
        if ".artifacts." in parent
        else "entry"
        if parent.startswith("tools.")
        else "extension"
        if parent.startswith("azureCli.extensions.")
        else parent
    )
    return f"is not a lock field (allowed: {', '.join(_KEYS.get(kind, _KEYS['']))})"


def parse_lock(doc: Any, label: str, catalog: Catalog, *, lines: dict | None = None) -> Lock:
    """The lock document, every entry verified against the catalog (see _verify_source).

    Each entry's url and checksumUrl must be exactly what the catalog derives for that tool,
    version and architecture, or their copies under one mirror base, unless the entry says why not
    ("override"). Every problem is reported, each located at its field (and line, given `lines`).
    """
    try:
        file = _LockFile.model_validate(doc, context={"catalog": catalog}, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise located(
            exc,
            LocatedDocument(doc, label, lines or {}),
            brackets=True,
            exact=True,
            unknown=_unknown_key,
            missing=f"is missing; {_REGENERATE}",
        ) from None
    tools = {name: {e.version: e for e in entries} for name, entries in file.tools.items() if entries}
    extensions = {
        name: {e.version: e for e in entries} for name, entries in file.azure_cli.extensions.items() if entries
    }
    bases = {base: arches for base, arches in file.base_images.items() if arches}
    return Lock(tools=tools, azure_cli_versions=file.azure_cli.versions, extensions=extensions, base_images=bases)


def default_lock_text() -> str:
    return resources.files("aks_jumpbox.data").joinpath(DEFAULT_LOCK_NAME).read_text(encoding="utf-8")


def load_lock(path: str | Path | None, catalog: Catalog) -> tuple[Lock, str]:
    if path is None:
        text, label = default_lock_text(), f"<embedded default {DEFAULT_LOCK_NAME}>"
    else:
        label = str(path)
        text = read_input(path, what="lock", limit=SPEC_LIMIT, missing_fix="Create it with `aks-jumpbox lock`.")
    doc = load_json(text, label, fix="Regenerate it with `aks-jumpbox lock`.")
    return parse_lock(doc, label, catalog, lines=json_lines(text)), label
