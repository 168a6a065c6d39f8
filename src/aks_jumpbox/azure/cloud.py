"""Which Azure cloud to talk to: public, US Government, China, or a custom one.

Named clouds come from data/azure.yaml. A custom cloud (Azure Stack Hub, an air-gapped region,
or anything `az cloud register` knows) is given by its endpoints through flags or environment
variables. Every cloud, named or not, reaches the SDK the same way: an explicit ARM `base_url`
and the credential scope `<audience>/.default`, so a custom cloud takes no special code path.

Pure: no Azure SDK import here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from aks_jumpbox.core.errors import UserError
from aks_jumpbox.core.spec import azure_facts

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


def _https_url(value: str, what: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme != "https" or not parts.netloc:
        raise UserError(
            f"{what} {value!r} is not an https:// URL.",
            fix="Give the endpoint as https://host[:port]: tokens are only ever sent over TLS.",
        )
    return value.strip().rstrip("/")


def select_cloud(spec_cloud: str, *, arm_endpoint: str | None = None, arm_audience: str | None = None,
                 authority_host: str | None = None, storage_suffix: str | None = None,
                 storage_audience: str | None = None, env: Mapping[str, str] | None = None) -> Cloud:
    """The cloud for this run: flags first, then environment variables, then the spec's cloud."""
    env = os.environ if env is None else env
    arm_endpoint = arm_endpoint or env.get(ENV_ARM_ENDPOINT) or None
    arm_audience = arm_audience or env.get(ENV_ARM_AUDIENCE) or None
    authority_host = authority_host or env.get(ENV_AUTHORITY) or None
    storage_suffix = storage_suffix or env.get(ENV_STORAGE_SUFFIX) or None
    storage_audience = storage_audience or env.get(ENV_STORAGE_AUDIENCE) or DEFAULT_STORAGE_AUDIENCE
    storage_audience = _https_url(storage_audience, "the storage audience")
    if authority_host:
        authority_host = _https_url(authority_host, "the authority host (--authority-host)")

    if arm_endpoint:
        endpoint = _https_url(arm_endpoint, f"the ARM endpoint (--arm-endpoint / {ENV_ARM_ENDPOINT})")
        named = _named_by_endpoint(endpoint)
        if named is not None and not (arm_audience or storage_suffix):
            return _named(named, authority_host, storage_audience)
        return Cloud(
            name="custom", arm_endpoint=endpoint,
            arm_audience=_audience(arm_audience) if arm_audience else endpoint,
            authority_host=authority_host,
            storage_suffix=(storage_suffix or "core.windows.net").strip(".").strip(),
            storage_audience=storage_audience,
        )
    if arm_audience:
        raise UserError("An ARM audience was given without an ARM endpoint.",
                        fix=f"Set --arm-endpoint (or {ENV_ARM_ENDPOINT}) too, or drop the audience.")
    cloud = _named(spec_cloud, authority_host, storage_audience)
    if storage_suffix:
        cloud = Cloud(cloud.name, cloud.arm_endpoint, cloud.arm_audience, cloud.authority_host,
                      storage_suffix.strip("."), cloud.storage_audience)
    return cloud


def _audience(value: str) -> str:
    # Keep a trailing slash: it is part of the audience a token is issued for.
    _https_url(value, "the ARM audience (--arm-audience / AZURE_ARM_AUDIENCE)")
    return value.strip()


def _named(name: str, authority_host: str | None, storage_audience: str) -> Cloud:
    clouds = azure_facts()["clouds"]
    if name not in clouds:
        raise UserError(f"Unknown cloud {name!r}.", fix=f"Use one of: {', '.join(clouds)}.")
    c = clouds[name]
    arm = c["resource_manager"].rstrip("/")
    return Cloud(name=name, arm_endpoint=arm, arm_audience=arm,
                 authority_host=authority_host or c["authority_host"],
                 storage_suffix=c["storage_suffix"], storage_audience=storage_audience)


def _named_by_endpoint(endpoint: str) -> str | None:
    for name, c in azure_facts()["clouds"].items():
        if c["resource_manager"].rstrip("/").lower() == endpoint.lower():
            return name
    return None
