"""Which Azure cloud to talk to: public, US Government, China, or a custom one.

Named clouds come from data/azure.yaml. A custom cloud (Azure Stack Hub, an air-gapped region,
or anything `az cloud register` knows) is given by its endpoints through flags or environment
variables. Every cloud, named or not, reaches the SDK the same way: an explicit ARM `base_url`
and the credential scope `<audience>/.default`, so a custom cloud takes no special code path.

Pure: no Azure SDK import here.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from aks_jumpbox.core.errors import UserError
from aks_jumpbox.core.spec import azure_facts
from aks_jumpbox.core.urls import is_dns_name

# Azure Storage accepts this audience in every cloud; a custom cloud may name its own.
DEFAULT_STORAGE_AUDIENCE = "https://storage.azure.com"

ENV_ARM_ENDPOINT = "AZURE_ARM_ENDPOINT"
ENV_ARM_AUDIENCE = "AZURE_ARM_AUDIENCE"
ENV_AUTHORITY = "AZURE_AUTHORITY_HOST"  # also read by azure-identity itself
ENV_STORAGE_SUFFIX = "AZURE_STORAGE_SUFFIX"
ENV_STORAGE_AUDIENCE = "AZURE_STORAGE_AUDIENCE"


@dataclass(frozen=True)
class Cloud:
    name: str  # AzureCloud | AzureUSGovernment | AzureChinaCloud | custom
    arm_endpoint: str  # https://management.azure.com (no trailing slash)
    arm_audience: str
    authority_host: str | None  # None: azure-identity's default (or AZURE_AUTHORITY_HOST)
    storage_suffix: str
    storage_audience: str

    @property
    def custom(self) -> bool:
        return self.name == "custom"

    @property
    def arm_scope(self) -> str:
        return _scope(self.arm_audience)

    @property
    def storage_scope(self) -> str:
        return _scope(self.storage_audience)

    def blob_endpoint(self, account: str) -> str:
        """The blob endpoint of a storage account when ARM did not report one."""
        return f"https://{account}.blob.{self.storage_suffix}/"


def _scope(audience: str) -> str:
    # As Azure AD and the Azure CLI form it: resource + "/.default", so an audience that ends in "/"
    # (https://management.core.windows.net/) keeps its slash and gets "//.default".
    return audience if audience.endswith("/.default") else audience + "/.default"


def dns_name_problem(name: str) -> str | None:
    """Why name is not a DNS name (dot-separated RFC 1123 labels), or None."""
    if not is_dns_name(name):
        return "is not a DNS name (dot-separated labels of letters, digits and hyphens)"
    return None


def https_problem(value: str) -> str | None:
    """Why value is not a plain https://host[:port][/path] URL (tokens and requests go there), or None.

    Parsed, not prefix-matched: no whitespace or control characters, a DNS name or IP address as host,
    a numeric port, no user name or password, no query or fragment (paths are appended to it)."""
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        return "contains whitespace or a control character"
    if not value.startswith("https://"):
        return "is not an https:// URL"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    host = parts.hostname or ""
    if "@" in parts.netloc:
        return "holds a user name or password (user@host)"
    if not host:
        return "has no host"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if dns_name_problem(host):
            return f"has host {host!r}, which is not a DNS name or an IP address"
    if parts.query or parts.fragment or "?" in value or "#" in value:
        return "has a query or fragment (?... or #...)"
    return None


def _https_url(value: str, what: str) -> str:
    value = value.strip()
    if problem := https_problem(value):
        raise UserError(
            f"{what} {value!r} {problem}.",
            fix="Give the endpoint as https://host[:port]: tokens are only ever sent over TLS.",
        )
    return value.rstrip("/")


def select_cloud(
    spec_cloud: str,
    *,
    arm_endpoint: str | None = None,
    arm_audience: str | None = None,
    authority_host: str | None = None,
    storage_suffix: str | None = None,
    storage_audience: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Cloud:
    """The cloud for this run: flags first, then environment variables, then the spec's cloud."""
    env = os.environ if env is None else env

    def pick(flag_value: str | None, flag: str, var: str) -> tuple[str | None, str]:
        # The value and where it came from, so a message names what to change.
        if flag_value:
            return flag_value, f"{flag}"
        return (env.get(var) or None), f"{var} (environment)"

    arm_endpoint, endpoint_from = pick(arm_endpoint, "--arm-endpoint", ENV_ARM_ENDPOINT)
    arm_audience, audience_from = pick(arm_audience, "--arm-audience", ENV_ARM_AUDIENCE)
    authority_host, authority_from = pick(authority_host, "--authority-host", ENV_AUTHORITY)
    storage_suffix, suffix_from = pick(storage_suffix, "--storage-suffix", ENV_STORAGE_SUFFIX)
    storage_audience, storage_audience_from = pick(storage_audience, "the storage audience", ENV_STORAGE_AUDIENCE)
    storage_audience = _https_url(storage_audience or DEFAULT_STORAGE_AUDIENCE, storage_audience_from)
    if authority_host:
        authority_host = _https_url(authority_host, authority_from)
    if storage_suffix:
        suffix = storage_suffix.strip().strip(".")
        if problem := dns_name_problem(suffix):
            raise UserError(
                f"{suffix_from} {storage_suffix!r} {problem}.",
                fix="Give the storage endpoint suffix, e.g. core.windows.net.",
            )
        storage_suffix = suffix

    if arm_endpoint:
        endpoint = _https_url(arm_endpoint, endpoint_from)
        named = _named_by_endpoint(endpoint)
        if named is not None and not (arm_audience or storage_suffix):
            return _named(named, authority_host, storage_audience)
        return Cloud(
            name="custom",
            arm_endpoint=endpoint,
            arm_audience=_audience(arm_audience, audience_from) if arm_audience else endpoint,
            authority_host=authority_host,
            storage_suffix=storage_suffix or "core.windows.net",
            storage_audience=storage_audience,
        )
    if arm_audience:
        raise UserError(
            "An ARM audience was given without an ARM endpoint.",
            fix=f"Set --arm-endpoint (or {ENV_ARM_ENDPOINT}) too, or drop the audience.",
        )
    cloud = _named(spec_cloud, authority_host, storage_audience)
    if storage_suffix:
        cloud = Cloud(
            cloud.name,
            cloud.arm_endpoint,
            cloud.arm_audience,
            cloud.authority_host,
            storage_suffix,
            cloud.storage_audience,
        )
    return cloud


def _audience(value: str, source: str) -> str:
    # Keep a trailing slash: it is part of the audience a token is issued for.
    _https_url(value, source)
    return value.strip()


def _named(name: str, authority_host: str | None, storage_audience: str) -> Cloud:
    clouds = azure_facts()["clouds"]
    if name not in clouds:
        raise UserError(f"Unknown cloud {name!r}.", fix=f"Use one of: {', '.join(clouds)}.")
    c = clouds[name]
    arm = c["resource_manager"].rstrip("/")
    return Cloud(
        name=name,
        arm_endpoint=arm,
        arm_audience=arm,
        authority_host=authority_host or c["authority_host"],
        storage_suffix=c["storage_suffix"],
        storage_audience=storage_audience,
    )


def _named_by_endpoint(endpoint: str) -> str | None:
    for name, c in azure_facts()["clouds"].items():
        if c["resource_manager"].rstrip("/").lower() == endpoint.lower():
            return name
    return None
