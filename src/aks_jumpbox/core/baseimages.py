"""Base cloud images as artifacts (data/baseimages.yaml): where each publisher puts a release's image and
checksum file, the mirror layout of their copies, and the pin `try` boots (`base_image_entry`).

The lock pins one release per base image and architecture (its baseImages section); `lock` resolves it
(core/resolve.py), `mirror sync` copies it, adapters/imagecache.py downloads and caches it by digest.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from aks_jumpbox.core.catalog import SAFE_FILE_NAME, Arch, Host, UnsafeFileName, url_basename, url_host
from aks_jumpbox.core.checksums import HEX64, ChecksumFileError
from aks_jumpbox.core.urls import check_url
from aks_jumpbox.core.validation import error, invalid, located
from aks_jumpbox.core.yamlfile import load_yaml

if TYPE_CHECKING:
    from aks_jumpbox.core.lock import Lock

BASE_IMAGES_NAME = "baseimages.yaml"
MIRROR_FOLDER = "base-images"  # <mirror>/base-images/<base>/<release>/<arch>/<file name>
HEX128 = re.compile(r"^[0-9a-f]{128}$")
# Said wherever a `try` verdict is shown: what a local cloud image proves and what it does not.
SAME_RELEASE_NOTE = (
    "the base is the publisher's cloud image of the same release as the Azure Marketplace image, not the same "
    "image (a generic cloud kernel and no Azure agent): the verdict covers the build's scripts on this release, "
    "not the Azure kernel, the Azure agent or Azure-only boot paths"
)
_SAMPLE = "20260101"  # to prove a template before any release fills it


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Checksum(_Entry):
    url: str
    format: Literal["sha256sum", "sha512sum"]


class CloudImage(_Entry):
    """Where one base image's releases are published."""

    key: str  # the catalog's base image key (the key under images)
    publisher: str
    index: str
    release: str  # a regular expression a release matches in full
    url: str
    checksum: Checksum
    arch: dict[Arch, Annotated[str, Field(pattern=r"^[a-z0-9_]{1,20}$")]] = Field(min_length=1)
    format: Literal["qcow2"]
    hosts: tuple[Host, ...] = Field(min_length=1)

    @field_validator("index")
    @classmethod
    def _index(cls, value: str) -> str:
        return check_url(value)

    @field_validator("release")
    @classmethod
    def _release(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"is not a regular expression ({exc})") from None
        return value

    @model_validator(mode="after")
    def _templates(self) -> CloudImage:
        """Every template fills in to a URL the lock accepts, on a listed host; the index lists the releases."""
        problems = []
        for loc, template in ((("url",), self.url), (("checksum", "url"), self.checksum.url)):
            for arch in self.arch:
                try:
                    filled = check_url(self._fill(template, _SAMPLE, self.arch[arch]))
                    url_basename(filled)
                except (KeyError, IndexError, ValueError) as exc:
                    why = f"unknown placeholder {exc}" if isinstance(exc, KeyError) else str(exc)
                    problems.append(error(loc, f"is not a template of {{release}} and {{arch}}: {why}", template))
                    break
                if url_host(filled) not in self.hosts:
                    problems.append(
                        error(loc, f"names {url_host(filled)}, which hosts does not list; add it", template)
                    )
                    break
        if not self.url.startswith(self.index) or not self.checksum.url.startswith(self.index):
            problems.append(error(("index",), "must be the folder the image and checksum URLs are under", self.index))
        if problems:
            raise invalid(problems)
        return self

    @staticmethod
    def _fill(template: str, release: str, arch: str) -> str:
        return template.format(release=release, arch=arch)

    def supports(self, arch: str) -> bool:
        return arch in self.arch

    def check_release(self, release: str) -> str:
        """release, if it is one of this publisher's release names (and so a safe folder name)."""
        if not (re.fullmatch(self.release, release) and SAFE_FILE_NAME.fullmatch(release)):
            raise ValueError(f"{release!r} is not a release of {self.key} (the pattern is {self.release})")
        return release

    def image_url(self, release: str, arch: str) -> str:
        return self._fill(self.url, self.check_release(release), self.arch[arch])

    def checksum_url(self, release: str) -> str:
        return self._fill(self.checksum.url, self.check_release(release), "")

    def releases_in(self, listing: str) -> list[str]:
        """The releases a folder listing (the index's HTML) names, oldest first: the folder names of the
        image URL's first segment below the index (e.g. release-20260926/), matched whole."""
        folder = self.url[len(self.index) :].split("/", 1)[0]
        before, _, after = folder.partition("{release}")
        pattern = re.compile(
            rf"(?<![A-Za-z0-9._-]){re.escape(before)}({self.release}){re.escape(after)}/",
        )
        found = {m.group(1) for m in pattern.finditer(listing)}
        return sorted((r for r in found if SAFE_FILE_NAME.fullmatch(r)), key=_release_key)


def _release_key(release: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.split(r"[.-]", release) if p.isdigit())


class BaseImages(_Entry):
    schema_: Literal["aks-jumpbox/baseimages/v1"] = Field(alias="schema")
    images: dict[str, CloudImage] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("images"), dict):
            images = {k: {**v, "key": k} if isinstance(v, dict) else v for k, v in data["images"].items()}
            return {**data, "images": images}
        return data

    def image(self, base: str) -> CloudImage | None:
        return self.images.get(base)


def parse_base_images(text: str, label: str = BASE_IMAGES_NAME) -> BaseImages:
    doc = load_yaml(text, label)
    try:
        return BaseImages.model_validate(doc.data)
    except ValidationError as exc:
        raise located(
            exc,
            doc,
            missing=f"is required; add it (see the comment at the top of {BASE_IMAGES_NAME})",
            unknown=lambda parent: f"unknown key; remove it (allowed under {parent}: see {BASE_IMAGES_NAME})",
        ) from None


@functools.cache
def load_base_images() -> BaseImages:
    """The packaged data (read once)."""
    path = resources.files("aks_jumpbox.data").joinpath(BASE_IMAGES_NAME)
    return parse_base_images(path.read_text(encoding="utf-8"), str(path))


def mirror_path(base: str, release: str, arch: str, upstream_url: str) -> str:
    """The relative path of a base image (or its checksum file) in the mirror; every part a safe name."""
    for part in (base, release, arch):
        if not SAFE_FILE_NAME.fullmatch(part):
            raise UnsafeFileName(f"{part!r} is not safe as a folder name in the mirror")
    return f"{MIRROR_FOLDER}/{base}/{release}/{arch}/{url_basename(upstream_url)}"


def find_sha512(text: str, artifact: str) -> str:
    """The SHA-512 a sha512sum-format file ("<128 hex>  <name>", or " *<name>") lists for artifact."""
    found = set()
    for line in text.splitlines():
        parts = line.strip().split()
        if len(parts) == 2 and parts[1].lstrip("*") == artifact and HEX128.match(parts[0].lower()):
            found.add(parts[0].lower())
    if not found:
        raise ChecksumFileError(f"checksum file does not list {artifact}")
    if len(found) > 1:
        raise ChecksumFileError(f"checksum file lists {artifact} more than once with different digests")
    return found.pop()


@dataclass(frozen=True)
class BaseImagePin:
    """What `try` downloads and boots: one locked base image for one architecture."""

    base: str
    arch: str
    release: str
    url: str  # the publisher's URL (mirror_path is its place under a mirror)
    sha256: str
    file_name: str
    format: str  # "qcow2"

    @property
    def mirror_path(self) -> str:
        return mirror_path(self.base, self.release, self.arch, self.url)

    def mirror_url(self, mirror_base_url: str) -> str:
        return f"{mirror_base_url.rstrip('/')}/{self.mirror_path}"


def base_image_entry(lock: Lock, base: str, arch: str) -> BaseImagePin | None:
    """The lock's pin of base for arch, or None when it pins none (or holds no confirmed SHA-256:
    `aks-jumpbox lock` resolves it)."""
    entry = lock.base_images.get(base, {}).get(arch)
    if entry is None or entry.sha256 is None or not HEX64.match(entry.sha256):
        return None
    image = load_base_images().image(base)
    return BaseImagePin(
        base=base,
        arch=arch,
        release=entry.release,
        url=entry.url,
        sha256=entry.sha256,
        file_name=url_basename(entry.url),
        format=image.format if image else "qcow2",
    )
