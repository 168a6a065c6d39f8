"""The spec: what the jump box image is, where it is built and where it goes (jumpbox.yaml).

Validated with pydantic; every problem is reported with file, line, field and what to change.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import ipaddress
import re
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from aks_jumpbox.core import azure_names
from aks_jumpbox.core.catalog import ARCHES, EXACT_VERSION, Catalog
from aks_jumpbox.core.errors import Problem, SpecError
from aks_jumpbox.core.extensions import VERSION as EXTENSION_VERSION
from aks_jumpbox.core.resource_ids import GUID_RE, RESOURCE_GROUP_RE, SubnetId, parse_subnet_id
from aks_jumpbox.core.urls import check_url
from aks_jumpbox.core.validation import did_you_mean, error, invalid, located
from aks_jumpbox.core.yamlfile import LocatedDocument, load_yaml

DEFAULT_SPEC_NAME = "jumpbox.yaml"
VERSION_RE = EXACT_VERSION  # MAJOR.MINOR.PATCH in ASCII digits; matched with fullmatch
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,22}[a-z0-9]$")
ENVIRONMENT_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$")  # 1-12: fits every name it goes into
VM_SIZE_RE = re.compile(r"^(Standard|Basic)_[A-Za-z0-9_]+$")
EXTENSION_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@functools.cache
def azure_facts() -> dict[str, Any]:
    text = resources.files("aks_jumpbox.data").joinpath("azure.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _catalog(info: ValidationInfo) -> Catalog:
    """The catalog the spec is checked against, passed in the validation context (see parse_spec)."""
    catalog = (info.context or {}).get("catalog")
    if not isinstance(catalog, Catalog):  # a programming error, not the user's: no located message
        raise TypeError("validate a Spec with context={'catalog': catalog} (parse_spec does)")
    return catalog


def _plain_version(value: Any) -> str:
    if not isinstance(value, str | int | float):
        raise ValueError("must be a version string such as 1.2.3")
    text = str(value).strip()
    text = text[1:] if text[:1] in ("v", "V") else text
    if not VERSION_RE.fullmatch(text):
        raise ValueError(f"{value!r} is not an exact version; write MAJOR.MINOR.PATCH, e.g. 1.2.3")
    return text


def _resource_group_name(value: str | None) -> str | None:
    if value is not None and not RESOURCE_GROUP_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid resource group name (1-90 of letters, digits, -_.())")
    return value


def plain_text(value: str, limit: int) -> str:
    """One line of printable text (descriptions, shown in the portal and written into ARM strings)."""
    if len(value) > limit or not value.isprintable():
        raise ValueError(f"must be one line of at most {limit} printable characters (no tabs or newlines)")
    return value


_PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=\n]+?)\n?-----END CERTIFICATE-----")


def pem_certificates(value: str) -> str:
    """value if it is nothing but PEM certificates (RFC 7468: BEGIN/END lines around base64 DER), each
    decoding to a DER SEQUENCE; else ValueError. The text is written into provision.sh and the CA store."""
    text = value.replace("\r\n", "\n").strip()
    if len(text) > 64 * 1024:
        raise ValueError("is longer than 64 KiB; give only the mirror's CA certificate(s)")
    rest, count = text, 0
    for m in _PEM_BLOCK.finditer(text):
        try:
            der = base64.b64decode(m.group(1).replace("\n", ""), validate=True)
        except binascii.Error:
            der = b""
        if not der.startswith(b"\x30"):
            raise ValueError("holds a CERTIFICATE block whose body is not base64-encoded DER; paste the PEM file as is")
        rest, count = rest.replace(m.group(0), "", 1), count + 1
    if count == 0 or rest.strip():
        raise ValueError(
            "must be one or more PEM certificates and nothing else (-----BEGIN CERTIFICATE----- "
            "base64 lines -----END CERTIFICATE-----)"
        )
    return text


class ToolPin(_Model):
    """A tool's pinned version, optionally with why it is pinned and when to look again."""

    version: str
    reason: str | None = None
    review_by: dt.date | None = None

    _version = field_validator("version", mode="before")(_plain_version)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str | None) -> str | None:
        # Quoted in `check` findings, `lock --upgrade` and `outdated` lines: a newline would forge a line.
        return None if value is None else plain_text(value, 500)


class Extension(_Model):
    name: str
    version: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not EXTENSION_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not an Azure CLI extension name (lowercase letters, digits, -)")
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> str | None:
        # Extensions use pre-releases (aks-preview is only ever 19.0.0bN): the index's spelling.
        text = None if value is None else str(value).strip() if isinstance(value, str | int | float) else value
        if text is not None and not (isinstance(text, str) and EXTENSION_VERSION.fullmatch(text)):
            raise ValueError(
                f"{value!r} is not an exact extension version; write it as the extension index "
                "does, e.g. 2.0.1 or 19.0.0b10"
            )
        return text


class AzureCliSpec(_Model):
    version: str
    extensions: tuple[Extension, ...] = ()

    _version = field_validator("version", mode="before")(_plain_version)

    @field_validator("extensions", mode="before")
    @classmethod
    def _extensions(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("extensions")
    @classmethod
    def _once(cls, value: tuple[Extension, ...]) -> tuple[Extension, ...]:
        names = [e.name for e in value]
        if twice := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"names {', '.join(twice)} more than once; list each extension once")
        return value


class SshdHardening(_Model):
    x11_forwarding: bool = False
    max_auth_tries: int = Field(default=6, ge=1, le=20)
    password_authentication: bool = False
    permit_root_login: bool = False


class Hardening(_Model):
    sshd: SshdHardening = SshdHardening()


class BuildSpec(_Model):
    resource_group: str
    location: str
    subnet_id: str
    subnet_address_prefix: str | None = None
    container_instance_subnet_id: str | None = None
    container_instance_subnet_address_prefix: str | None = None
    vm_size: str = "Standard_D2ds_v4"
    proxy_vm_size: str | None = None
    os_disk_size_gb: int = Field(default=32, ge=0, le=4095)
    timeout_minutes: int = Field(default=60, ge=6, le=960)
    staging_resource_group: str | None = None
    on_customizer_error: Literal["cleanup", "abort"] = "cleanup"
    on_validation_error: Literal["cleanup", "abort"] = "cleanup"
    # Bounds for every download in provision.sh: tries per file, and seconds per try.
    download_attempts: int = Field(default=5, ge=1, le=20)
    download_timeout_seconds: int = Field(default=300, ge=5, le=3600)

    _rg = field_validator("resource_group", "staging_resource_group")(_resource_group_name)

    @field_validator("location")
    @classmethod
    def _location(cls, value: str) -> str:
        name = value.replace(" ", "").lower()
        regions = azure_facts()["image_builder_regions"]
        if not any(name in r for r in regions.values()):
            every = sorted({r for names in regions.values() for r in names})
            raise ValueError(
                f"{value!r} is not a region where Azure VM Image Builder runs builds;{did_you_mean(name, every)} "
                "choose one of: " + ", ".join(regions["AzureCloud"])
            )
        return name

    @field_validator("subnet_id", "container_instance_subnet_id")
    @classmethod
    def _subnet(cls, value: str | None) -> str | None:
        if value is not None:
            azure_names.check_subnet_id(parse_subnet_id(value))
        return value

    @field_validator("subnet_address_prefix", "container_instance_subnet_address_prefix")
    @classmethod
    def _prefix(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            net = ipaddress.ip_network(value, strict=True)
        except ValueError:
            raise ValueError(f"{value!r} is not an address prefix such as 10.0.0.0/27") from None
        if net.version != 4:
            raise ValueError("must be an IPv4 prefix: Image Builder subnets are IPv4")
        if net.prefixlen > 28:
            raise ValueError(f"/{net.prefixlen} is smaller than /28; Image Builder needs a /28 or larger subnet")
        return value

    @field_validator("vm_size", "proxy_vm_size")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        if value is not None and not VM_SIZE_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not a VM size such as Standard_D2ds_v4")
        return value

    @field_validator("os_disk_size_gb")
    @classmethod
    def _disk(cls, value: int) -> int:
        if 0 < value < 30:
            raise ValueError("must be 0 (keep the image's size) or at least 30: a disk can only grow")
        return value

    @model_validator(mode="after")
    def _topology(self) -> BuildSpec:
        if self.container_instance_subnet_id is None:
            if self.container_instance_subnet_address_prefix is not None:
                raise ValueError("container_instance_subnet_address_prefix is set without container_instance_subnet_id")
            return self
        if self.proxy_vm_size is not None:
            raise ValueError(
                "proxy_vm_size must not be set with container_instance_subnet_id: an isolated build has"
                " no proxy VM; remove proxy_vm_size"
            )
        build, aci = parse_subnet_id(self.subnet_id), parse_subnet_id(self.container_instance_subnet_id)
        if not build.same_vnet(aci):
            raise ValueError("container_instance_subnet_id must be a subnet of the same virtual network as subnet_id")
        if build.subnet.lower() == aci.subnet.lower():
            raise ValueError("container_instance_subnet_id must be a different subnet from subnet_id")
        self._no_overlap()
        return self

    def _no_overlap(self) -> None:
        # Subnets of one virtual network never share addresses: Azure refuses an overlapping range.
        # https://learn.microsoft.com/azure/virtual-network/virtual-network-manage-subnet#add-a-subnet
        build, aci = self.subnet_address_prefix, self.container_instance_subnet_address_prefix
        if build is None or aci is None:
            return
        if ipaddress.ip_network(build).overlaps(ipaddress.ip_network(aci)):
            raise invalid(
                [
                    error(
                        ("container_instance_subnet_address_prefix",),
                        f"{aci} overlaps subnet_address_prefix {build}; two subnets of one virtual network "
                        "never share addresses: give each subnet's own prefix (`az network vnet subnet show "
                        "--ids ID --query addressPrefix` shows it)",
                        aci,
                    )
                ]
            )

    @property
    def subnet(self) -> SubnetId:
        return parse_subnet_id(self.subnet_id)

    @property
    def container_subnet(self) -> SubnetId | None:
        cid = self.container_instance_subnet_id
        return parse_subnet_id(cid) if cid else None

    @property
    def topology(self) -> Literal["isolated", "proxy"]:
        return "isolated" if self.container_instance_subnet_id else "proxy"


class IdentitySpec(_Model):
    name: str | None = None
    roles: Literal["custom", "builtin"] = "custom"
    remove_image_role_after_build: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else azure_names.check("identity", value)


class ManagedImageTarget(_Model):
    resource_group: str
    name: str | None = None
    location: str | None = None

    _rg = field_validator("resource_group")(_resource_group_name)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else azure_names.check("image", value)

    @field_validator("location")
    @classmethod
    def _location(cls, value: str | None) -> str | None:
        return None if value is None else TargetRegion._region(value)


GALLERY_NAME_RE = re.compile(r"^[A-Za-z0-9]+([_.][A-Za-z0-9]+)*$")  # no hyphens in gallery names
GALLERY_PART_RE = re.compile(r"^[A-Za-z0-9]+([-._][A-Za-z0-9]+)*$")
REGION_RE = re.compile(r"^[a-z][a-z0-9]+$")


def _gallery_part(value: str, what: str, limit: int) -> str:
    if len(value) > limit or not GALLERY_PART_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid {what} (1-{limit} letters and digits, separated by single - . _)")
    return value


class GalleryImageDefinition(_Model):
    """The image definition the versions go into; created (if absent) with these identifiers."""

    name: str = "aks-jumpbox"
    publisher: str
    offer: str = "aks-jumpbox"
    sku: str | None = None  # default: the base image key, e.g. ubuntu-24.04
    description: str | None = None

    @field_validator("name", "offer", "sku")
    @classmethod
    def _part(cls, value: str | None, info: Any) -> str | None:
        return (
            None
            if value is None
            else _gallery_part(value, f"image definition {info.field_name}", 80 if info.field_name == "name" else 64)
        )

    @field_validator("publisher")
    @classmethod
    def _publisher(cls, value: str) -> str:
        return _gallery_part(value, "image definition publisher", 128)

    @field_validator("description")
    @classmethod
    def _description(cls, value: str | None) -> str | None:
        return None if value is None else plain_text(value, 1024)


class TargetRegion(_Model):
    name: str
    replicas: int = Field(default=1, ge=1, le=100)
    storage_account_type: Literal["Standard_LRS", "Standard_ZRS", "Premium_LRS"] = "Standard_LRS"

    @field_validator("name")
    @classmethod
    def _region(cls, value: str) -> str:
        name = value.replace(" ", "").lower()
        if not REGION_RE.fullmatch(name):
            raise ValueError(f"{value!r} is not an Azure region name such as westeurope")
        return name


class GalleryTarget(_Model):
    """Azure Compute Gallery distribution: one image version per build, replicated to regions."""

    resource_group: str
    name: str
    location: str | None = None  # of the gallery and definition; default: build.location
    image: GalleryImageDefinition
    # MAJOR.MINOR.PATCH of the image version. Omitted: derived from the plan's content hash
    # (unique per content, not ordered; `promote` decides which version is latest).
    version: str | None = None
    target_regions: tuple[TargetRegion, ...] = ()  # default: the gallery's location, 1 replica
    # A canary: the version is not "latest" until `aks-jumpbox promote` makes it so.
    exclude_from_latest: bool = True
    create: bool = True  # plan the gallery and image definition (PUT creates them if absent)

    _rg = field_validator("resource_group")(_resource_group_name)

    @field_validator("location")
    @classmethod
    def _location(cls, value: str | None) -> str | None:
        return None if value is None else TargetRegion._region(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if len(value) > 80 or not GALLERY_NAME_RE.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a gallery name (1-80 letters and digits, separated by single . or _; no hyphens)"
            )
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> str | None:
        if value is None:
            return None
        text = _plain_version(value)
        if any(int(p) > 2**31 - 1 for p in text.split(".")):
            raise ValueError(f"{value!r}: each part of a gallery image version must be below 2147483648")
        return text

    @field_validator("target_regions")
    @classmethod
    def _unique(cls, value: tuple[TargetRegion, ...]) -> tuple[TargetRegion, ...]:
        names = [r.name for r in value]
        if len(set(names)) != len(names):
            raise ValueError("lists a region twice; give each region once with its replica count")
        return value


class Distribute(_Model):
    managed_image: ManagedImageTarget | None = None
    gallery: GalleryTarget | None = None

    @model_validator(mode="after")
    def _some(self) -> Distribute:
        if self.managed_image is None and self.gallery is None:
            raise ValueError("name at least one target: managed_image or gallery")
        return self


class MirrorSpec(_Model):
    """Where an organization serves every download from, so nothing leaves its network."""

    artifacts: str | None = None
    apt: str | None = None
    apt_security: str | None = None
    azure_cli_repo: str | None = None
    azure_cli_key_url: str | None = None
    azure_cli_key_fingerprints: tuple[str, ...] = ()
    ca_certificate: str | None = None

    # Every URL passes the one URL rule (core/urls.py): it is written unquoted into deb822 fields,
    # the TAB table and JSON manifest of provision.sh, ARM strings and the egress allow-list.
    @field_validator("artifacts", "azure_cli_key_url", mode="before")
    @classmethod
    def _https(cls, value: Any) -> str | None:
        if value is None:
            return None
        try:
            url = check_url(value, schemes=("https",))
        except ValueError as exc:
            why = " (every download is fetched over HTTPS)" if str(exc).startswith("must be an") else ""
            raise ValueError(f"{value!r} {exc}{why}") from None
        return url.rstrip("/")

    @field_validator("apt", "apt_security", "azure_cli_repo", mode="before")
    @classmethod
    def _apt(cls, value: Any) -> str | None:
        if value is None:
            return None
        try:
            url = check_url(value, schemes=("http", "https"))
        except ValueError as exc:
            why = " (apt checks the packages' signatures)" if str(exc).startswith("must be an") else ""
            raise ValueError(f"{value!r} {exc}{why}") from None
        return url if url.endswith("/") else url + "/"

    @field_validator("azure_cli_key_fingerprints", mode="before")
    @classmethod
    def _fingerprints(cls, value: Any) -> Any:
        values = [value] if isinstance(value, str) else value
        out = []
        for fp in values or ():
            norm = str(fp).replace(" ", "").upper()
            if not re.fullmatch(r"[0-9A-F]{40}", norm):
                raise ValueError(f"{fp!r} is not a 40-hex-digit OpenPGP fingerprint")
            out.append(norm)
        return tuple(out)

    @field_validator("ca_certificate")
    @classmethod
    def _pem(cls, value: str | None) -> str | None:
        return None if value is None else pem_certificates(value)

    @model_validator(mode="after")
    def _key_pair(self) -> MirrorSpec:
        if self.azure_cli_key_url and not self.azure_cli_key_fingerprints:
            raise ValueError("azure_cli_key_url needs azure_cli_key_fingerprints: a key is trusted only by fingerprint")
        return self


class Spec(_Model):
    name: str = "aksjb"
    # Which environment (dev, prod, ...) of `name` this spec is: with the name, it scopes the spec's Azure
    # footprint (core/footprint.py). None: derived from where the spec builds and distributes.
    environment: str | None = None
    subscription_id: str | None = None
    cloud: Literal["AzureCloud", "AzureUSGovernment", "AzureChinaCloud"] = "AzureCloud"
    base_image: str = "ubuntu-24.04"
    architecture: Literal["amd64", "arm64"] = "amd64"
    tools: dict[str, ToolPin]
    azure_cli: AzureCliSpec
    hardening: Hardening = Hardening()
    build: BuildSpec
    identity: IdentitySpec = IdentitySpec()
    distribute: Distribute
    mirror: MirrorSpec = MirrorSpec()
    tags: dict[str, str] = {}

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_RE.fullmatch(value):
            raise ValueError(f"{value!r} must be 2-24 lowercase letters, digits or hyphens, starting with a letter")
        return value

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: str | None) -> str | None:
        if value is not None and not ENVIRONMENT_RE.fullmatch(value):
            raise ValueError(f"{value!r} must be 1-12 lowercase letters, digits or inner hyphens, such as dev or prod")
        return value

    @field_validator("subscription_id")
    @classmethod
    def _sub(cls, value: str | None) -> str | None:
        if value is not None and not GUID_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not a subscription ID (a GUID)")
        return value.lower() if value else value

    @field_validator("base_image")
    @classmethod
    def _base(cls, value: str, info: ValidationInfo) -> str:
        images = _catalog(info).base_images
        if value not in images:
            raise ValueError(
                f"unknown base image {value!r};{did_you_mean(value, images)} choose one of: {', '.join(images)}"
            )
        return value

    @field_validator("tools", mode="before")
    @classmethod
    def _tools(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, dict):
            return value
        known = _catalog(info).tools
        unknown = [k for k in value if k not in known]
        if unknown:
            hint = did_you_mean(str(unknown[0]), known)
            raise ValueError(f"unknown tool {unknown[0]!r};{hint} the catalog has: {', '.join(known)}")
        return {k: v if isinstance(v, dict) else {"version": v} for k, v in value.items()}

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > 40:
            raise ValueError("at most 40 tags: the plan adds its own and Azure allows 50")
        # https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations
        for k, v in value.items():
            if not k or len(k) > 512 or re.search(r"[<>%&\\?/]", k) or not k.isprintable() or k != k.strip():
                raise ValueError(
                    f"tag name {k!r} is not allowed (1-512 printable characters, none of <>%&\\?/, "
                    "no leading or trailing spaces)"
                )
            if len(v) > 256 or not v.isprintable():
                raise ValueError(f"tag {k!r}: a value is at most 256 printable characters (no tabs or newlines)")
        return value

    @model_validator(mode="after")
    def _cross(self, info: ValidationInfo) -> Spec:
        sub = self.build.subnet.subscription
        if self.subscription_id and self.subscription_id != sub:
            raise ValueError(
                f"subscription_id {self.subscription_id} differs from the build subnet's subscription {sub};"
                " the subnet, the template and the image must share one subscription"
            )
        for name in self.tools:
            if not _catalog(info).tools[name].supports(self.architecture):
                raise ValueError(f"tool {name!r} is not published for {self.architecture}")
        gallery = self.distribute.gallery
        if gallery and gallery.target_regions:
            home = self.gallery_location
            if home not in {r.name for r in gallery.target_regions}:
                raise ValueError(
                    f"distribute.gallery.target_regions must include the gallery's region {home}, where "
                    "the image version is created; add it (with replicas: 1 at least)"
                )
        return self

    @property
    def gallery_location(self) -> str | None:
        g = self.distribute.gallery
        return None if g is None else (g.location or self.build.location)

    @property
    def subscription(self) -> str:
        return self.subscription_id or self.build.subnet.subscription

    @property
    def topology(self) -> str:
        return self.build.topology


# ---------------------------------------------------------------------------------------------
# Loading with located errors


def parse_spec(doc: LocatedDocument, catalog: Catalog) -> Spec:
    if not isinstance(doc.data, dict):
        raise SpecError([Problem(doc.file, 1, "", "must be a YAML mapping of spec fields (see `aks-jumpbox init`)")])
    try:
        return Spec.model_validate(doc.data, context={"catalog": catalog})
    except ValidationError as exc:
        raise located(
            exc,
            doc,
            missing="is required; add it (see the commented default from `aks-jumpbox init`)",
            unknown=lambda parent: (
                f"unknown key; remove it or check its spelling (allowed under {parent}: see `aks-jumpbox init`)"
            ),
            allowed=allowed_keys,
        ) from None


def _step(annotation: Any, part: str | int) -> Any:
    """The type found at `part` below a value of `annotation` (a model's field, a mapping's value, an item)."""
    for arm in (
        typing.get_args(annotation)
        if typing.get_origin(annotation) in (typing.Union, types.UnionType)
        else (annotation,)
    ):
        origin = typing.get_origin(arm)
        if isinstance(arm, type) and issubclass(arm, BaseModel) and isinstance(part, str) and part in arm.model_fields:
            return arm.model_fields[part].annotation
        if origin is dict:
            return typing.get_args(arm)[1]
        if origin in (tuple, list) and isinstance(part, int):
            return typing.get_args(arm)[0]
    return None


def allowed_keys(path: tuple[str | int, ...]) -> list[str]:
    """The keys the spec allows in the mapping at path (e.g. ("build",) -> vm_size, location, ...)."""
    annotation: Any = Spec
    for part in path:
        annotation = _step(annotation, part)
        if annotation is None:
            return []
    arms = (
        typing.get_args(annotation)
        if typing.get_origin(annotation) in (typing.Union, types.UnionType)
        else (annotation,)
    )
    for arm in arms:
        if isinstance(arm, type) and issubclass(arm, BaseModel):
            return list(arm.model_fields)
    return []


def default_spec_text() -> str:
    return resources.files("aks_jumpbox.data").joinpath("jumpbox.yaml").read_text(encoding="utf-8")


def load_spec(path: str | Path | None, catalog: Catalog) -> tuple[Spec, LocatedDocument]:
    """Load the spec at path (or the embedded default when path is None); returns (spec, document)."""
    if path is None:
        text, label = default_spec_text(), "<embedded default jumpbox.yaml>"
    else:
        from aks_jumpbox.adapters.files import SPEC_LIMIT, read_input

        label = str(path)
        text = read_input(path, what="spec", limit=SPEC_LIMIT, missing_fix="Create one with `aks-jumpbox init`.")
    doc = load_yaml(text, label)
    return parse_spec(doc, catalog), doc


__all__ = ["ARCHES", "Spec", "load_spec", "parse_spec", "default_spec_text", "azure_facts"]
