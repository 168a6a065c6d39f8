"""The plan's data model: what a plan is made of, with no logic that builds it.

Kept apart from the code that builds plans (core/plan.py, core/gallery.py, core/network.py) so each of
those imports the model and none imports another's builder: no import cycle, and readers of a plan
(render/, azure/, preflight/, report/) need only this module.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from aks_jumpbox.core.spec import Spec

# Why a contract row exists. Only documented and derived rows are requirements a check fails on; an
# inferred row is this project's best reading of what the build may need, and a check only warns on it.
DOCUMENTED, DERIVED, INFERRED = "documented", "derived", "inferred"
_STRENGTH = {DOCUMENTED: 0, DERIVED: 1, INFERRED: 2}


@dataclass(frozen=True)
class Basis:
    """``documented``: ``source`` is the URL of the Microsoft page (or Microsoft-published reference)
    that lists it. ``derived``: the build needs it because of what the lock and catalog say it
    downloads (``source`` names what). ``inferred``: no source lists it; ``source`` says why it is there."""

    kind: str
    source: str

    def __post_init__(self) -> None:
        if self.kind not in _STRENGTH:
            raise ValueError(f"basis kind {self.kind!r}: expected documented, derived or inferred")

    @property
    def level(self) -> str:
        """``required``: a check fails when it is blocked; ``advisory``: a check warns."""
        return "advisory" if self.kind == INFERRED else "required"

    @property
    def required(self) -> bool:
        return self.level == "required"

    def describe(self) -> str:
        if self.kind == DOCUMENTED:
            return f"documented: {self.source}"
        if self.kind == DERIVED:
            return f"derived from the lock: {self.source}"
        return f"inferred, not documented: {self.source}"

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "source": self.source, "level": self.level}

    @staticmethod
    def strongest(bases: tuple[Basis, ...]) -> Basis:
        """The strongest of several reasons for one row; equal ones keep every source."""
        best = min(_STRENGTH[b.kind] for b in bases)
        # A merged basis already joins its sources with "; ": split it, so a source is named once.
        sources = tuple(
            dict.fromkeys(part for b in bases if _STRENGTH[b.kind] == best for part in b.source.split("; "))
        )
        return Basis(next(k for k, v in _STRENGTH.items() if v == best), "; ".join(sources))


@dataclass(frozen=True)
class EgressRule:
    fqdn: str
    port: int
    protocol: str  # Https | Http (application rules) or Tcp (network rule, e.g. SMB 445)
    purpose: str
    required_by: tuple[str, ...]
    # Which subnets' traffic needs it: "build" (the build VM, and the proxy VM) and/or "container"
    # (Image Builder's container instance in the isolated topology).
    subnets: tuple[str, ...] = ("build",)
    basis: Basis = field(default_factory=lambda: Basis(INFERRED, "no reason recorded"))
    # A network-rule row names its destination by service tag: Azure Firewall does not match wildcard
    # FQDNs in network rules (https://learn.microsoft.com/azure/firewall/fqdn-filtering-network-rules),
    # so `fqdn` then only says which names the traffic is for.
    service_tag: str | None = None

    @property
    def destination(self) -> str:
        return self.service_tag or self.fqdn

    def to_json(self) -> dict[str, Any]:
        return {
            "fqdn": self.fqdn,
            "port": self.port,
            "protocol": self.protocol,
            "purpose": self.purpose,
            "required_by": list(self.required_by),
            "subnets": list(self.subnets),
            "service_tag": self.service_tag,
            "basis": self.basis.to_json(),
            "level": self.basis.level,
        }


@dataclass(frozen=True)
class Flow:
    id: str
    direction: str  # Inbound | Outbound, seen from `subnet`'s NSG
    subnet: str  # build | container
    source: str  # service tag or address prefix
    destination: str
    ports: str  # "22", "60001", "a-b"
    protocol: str
    purpose: str
    basis: Basis = field(default_factory=lambda: Basis(INFERRED, "no reason recorded"))

    def to_json(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in asdict(self).items() if k != "basis"},
            "basis": self.basis.to_json(),
            "level": self.basis.level,
        }


@dataclass(frozen=True)
class NetworkContract:
    topology: str
    cloud: str
    build_subnet: str
    container_subnet: str | None
    flows: tuple[Flow, ...]
    egress: tuple[EgressRule, ...]
    notes: tuple[str, ...]

    @property
    def fqdns(self) -> tuple[str, ...]:
        return tuple(sorted({e.fqdn for e in self.egress if e.service_tag is None}))

    def to_json(self) -> dict[str, Any]:
        return {
            "topology": self.topology,
            "cloud": self.cloud,
            "buildSubnet": self.build_subnet,
            "containerSubnet": self.container_subnet,
            "flows": [f.to_json() for f in self.flows],
            "egress": [e.to_json() for e in self.egress],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Ref:
    """A value known only once another planned resource exists (an identity's principalId)."""

    resource_key: str
    path: str  # dotted path into that resource's GET body


@dataclass(frozen=True)
class Resource:
    key: str
    type: str
    name: str
    api_version: str
    id: str
    # "subscription": deployed at subscription scope; "resourceGroup": inside resource_group;
    # "extension": an extension resource (role assignment) on the resource at `scope`.
    level: str
    scope: str
    body: dict[str, Any]
    depends_on: tuple[str, ...]
    purpose: str

    @property
    def resource_group(self) -> str | None:
        parts = self.id.split("/")
        return parts[4] if len(parts) > 4 and parts[3].lower() == "resourcegroups" else None


@dataclass(frozen=True)
class ToolArtifact:
    name: str
    version: str
    arch: str
    url: str  # what the build fetches (the mirror's copy in mirror mode)
    upstream_url: str
    sha256: str | None  # None: verified against the checksum file at build time
    digest_source: str
    checksum_url: str
    checksum_order_url: str | None
    checksum_format: str
    archive: str
    member: str | None
    file_name: str
    install_path: str
    version_command: tuple[str, ...]
    version_regex: str
    license: str
    homepage: str
    deprecated: str | None
    override: str | None = None  # the lock entry's reason for a URL the catalog does not derive


@dataclass(frozen=True)
class ExtensionWheel:
    """An Azure CLI extension as the build installs it: the locked wheel, fetched (from the mirror when
    there is one), checked against its SHA-256 and installed from the file."""

    name: str
    version: str
    url: str  # where the build fetches it (the mirror's copy, or upstream)
    upstream_url: str  # the lock's URL (the index's downloadUrl)
    sha256: str
    file_name: str
    digest_source: str


@dataclass(frozen=True)
class AzureCliPlan:
    version: str
    apt_version: str
    package: str
    repo_url: str
    key_url: str
    key_fingerprints: tuple[str, ...]
    extensions: tuple[tuple[str, str], ...]  # (name, locked version)
    wheels: tuple[ExtensionWheel, ...]
    version_regex: str
    license: str
    homepage: str


@dataclass(frozen=True)
class AptPlan:
    family: str
    codename: str
    archive: str | None  # None: keep the image's own sources
    security: str | None
    hosts: tuple[str, ...]


@dataclass(frozen=True)
class Names:
    spec: str  # the footprint key (core/footprint.py) every other name and the aks-jumpbox.spec tag carry
    template: str
    image: str
    identity: str
    network_role: str
    image_role: str


@dataclass(frozen=True)
class GalleryPlan:
    """Where a build's image version goes in an Azure Compute Gallery."""

    gallery_id: str
    image_definition_id: str
    version: str
    version_id: str
    version_source: str  # "spec" or "content" (derived from the plan hash)
    exclude_from_latest: bool
    target_regions: tuple[tuple[str, int, str], ...]  # (region, replicas, storage account type)
    created: bool  # the plan includes the gallery and image definition


@dataclass(frozen=True)
class Plan:
    spec: Spec
    hash: str
    names: Names
    subscription: str
    artifacts: tuple[ToolArtifact, ...]
    azure_cli: AzureCliPlan
    apt: AptPlan
    resources: tuple[Resource, ...]
    network: NetworkContract
    scripts: dict[str, str]
    warnings: tuple[str, ...] = field(default=())
    gallery: GalleryPlan | None = None

    def resource(self, key: str) -> Resource:
        for r in self.resources:
            if r.key == key:
                return r
        raise KeyError(key)

    @property
    def template(self) -> Resource:
        return self.resource("template")

    @property
    def image_id(self) -> str:
        """The managed image's ID, or (gallery only) the gallery image version's."""
        first = self.template.body["properties"]["distribute"][0]
        return first.get("imageId") or first["galleryImageId"]
