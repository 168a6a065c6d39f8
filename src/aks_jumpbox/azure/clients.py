"""Credentials, the retry policy and the SDK clients, created lazily and shared by one command.

Every client gets the cloud's ARM endpoint as `base_url` and `<audience>/.default` as its credential
scope (named and custom clouds alike), one HTTP session (connections are reused across clients),
and a retry policy that backs off exponentially and honours Retry-After on 429 and 503.
"""

from __future__ import annotations

import logging
import math
import os
import re
import stat
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from aks_jumpbox.azure.cloud import Cloud, dns_name_problem
from aks_jumpbox.core.errors import UserError
from aks_jumpbox.core.resource_ids import GUID_RE
from aks_jumpbox.core.spec import azure_facts

ENV_SUBSCRIPTION = "AZURE_SUBSCRIPTION_ID"
TUNING_MAX = 86_400  # a day: more is a typo, not patience


@dataclass(frozen=True)
class Tuning:
    """How patient to be. Defaults suit Azure; each has an environment variable for slow links or CI."""

    retry_total: int = 10
    retry_status: int = 8  # consecutive 429/5xx answers to one request before giving up
    retry_connect: int = 5
    retry_read: int = 5
    backoff_factor: float = 0.8  # seconds; doubles per consecutive failure
    backoff_max: float = 60.0
    lro_poll_seconds: float = 5.0  # when ARM gives no Retry-After on a long-running operation
    watch_seconds: float = 15.0  # between looks at a running build
    read_timeout: float = 120.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Tuning:
        env = os.environ if env is None else env
        names = {
            "retry_total": "AKS_JUMPBOX_RETRY_TOTAL",
            "retry_status": "AKS_JUMPBOX_RETRY_STATUS",
            "backoff_factor": "AKS_JUMPBOX_RETRY_BACKOFF",
            "backoff_max": "AKS_JUMPBOX_RETRY_BACKOFF_MAX",
            "lro_poll_seconds": "AKS_JUMPBOX_POLL_SECONDS",
            "watch_seconds": "AKS_JUMPBOX_WATCH_SECONDS",
            "read_timeout": "AKS_JUMPBOX_READ_TIMEOUT",
        }
        values: dict[str, Any] = {}
        for attr, var in names.items():
            raw = env.get(var)
            if raw in (None, ""):
                continue
            kind = type(getattr(cls, attr))
            noun = "whole number" if kind is int else "number of seconds"
            try:
                value = kind(raw.strip())
            except ValueError:
                raise UserError(f"{var}={raw!r} is not a {noun}.", fix=f"Set {var} to a {noun}, or unset it.") from None
            # nan and inf parse as floats; inf would make a wait endless, nan any comparison false.
            why = (
                "is not a finite number"
                if not math.isfinite(value)
                else "is negative"
                if value < 0
                else f"is more than {TUNING_MAX}"
                if value > TUNING_MAX
                else None
            )
            if why:
                raise UserError(
                    f"{var}={raw!r} {why}.", fix=f"Set {var} to a {noun} from 0 to {TUNING_MAX}, or unset it."
                )
            values[attr] = value
        return cls(**values)

    def retry_kwargs(self) -> dict[str, Any]:
        return {
            "retry_total": self.retry_total,
            "retry_status": self.retry_status,
            "retry_connect": self.retry_connect,
            "retry_read": self.retry_read,
            "retry_backoff_factor": self.backoff_factor,
            "retry_backoff_max": self.backoff_max,
        }


def choose_subscription(planned: str, flag: str | None, env: Mapping[str, str] | None = None) -> str:
    """The plan's subscription (from the spec), cross-checked with --subscription and AZURE_SUBSCRIPTION_ID.

    Every planned resource ID already names a subscription, so a different one given elsewhere is a
    mistake to report, not a choice to make silently.
    """
    env = os.environ if env is None else env
    for source, value in (("--subscription", flag), (ENV_SUBSCRIPTION, env.get(ENV_SUBSCRIPTION))):
        if not value:
            continue
        if not GUID_RE.match(value.strip()):
            raise UserError(
                f"{source} {value!r} is not a subscription ID (a GUID).",
                fix="Give the subscription's ID, e.g. from `az account show --query id`.",
            )
        if value.strip().lower() != planned.lower():
            raise UserError(
                f"{source} names subscription {value.strip()}, but the spec's resources live in {planned} "
                "(subscription_id, or the subscription of build.subnet_id).",
                fix=f"Set subscription_id in the spec and the subnet IDs to match, or drop {source}.",
            )
        break  # the flag, when given, wins over the environment
    return planned.lower()


# The sign-in settings azure-identity reads from the environment (EnvironmentCredential,
# WorkloadIdentityCredential, ManagedIdentityCredential):
# https://learn.microsoft.com/python/api/azure-identity/azure.identity.environmentcredential
IDENTITY_VARS = (
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "AZURE_TOKEN_CREDENTIALS",
)
_UNSET = "or unset it to sign in with `az login`"


def check_identity_env(env: Mapping[str, str] | None = None) -> None:
    """Validate the sign-in settings azure-identity reads, so a typo is one message naming the variable
    instead of azure-identity's traceback (it raises a bare ValueError for a malformed tenant)."""
    env = os.environ if env is None else env
    tenant = env.get("AZURE_TENANT_ID")
    # A tenant is its ID (a GUID) or one of its domain names, e.g. contoso.onmicrosoft.com:
    # https://learn.microsoft.com/partner-center/find-ids-and-domain-names
    if tenant and not GUID_RE.match(tenant) and dns_name_problem(tenant):
        raise UserError(
            f"AZURE_TENANT_ID={tenant!r} is not a tenant ID (a GUID) or a tenant domain name "
            "(e.g. contoso.onmicrosoft.com).",
            fix=f"Set it to your tenant's ID (`az account show --query tenantId -o tsv`), {_UNSET}.",
        )
    client = env.get("AZURE_CLIENT_ID")
    # An application (client) ID, and a managed identity's client ID, is a GUID:
    # https://learn.microsoft.com/entra/identity-platform/application-model
    if client and not GUID_RE.match(client):
        raise UserError(
            f"AZURE_CLIENT_ID={client!r} is not an application (client) ID (a GUID).",
            fix=f"Set it to the client ID of the app registration or managed identity, {_UNSET}.",
        )
    for var in ("AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE"):
        path = env.get(var)
        if not path:
            continue
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            raise UserError(
                f"{var}={path!r}: {exc.strerror.lower() if exc.strerror else exc}.",
                fix=f"Point {var} at the file, {_UNSET}.",
            ) from None
        if not stat.S_ISREG(mode):
            raise UserError(f"{var}={path!r} is not a regular file.", fix=f"Point {var} at the file, {_UNSET}.")


# What the resolver says when a host name does not resolve (glibc, musl, macOS, Windows, urllib3).
_NAME_RESOLUTION = re.compile(
    r"name or service not known|temporary failure in name resolution|nodename nor servname|getaddrinfo failed"
    r"|no address associated with hostname|nameresolutionerror|failed to resolve|could not resolve host"
    r"|\[errno -[235]\]|\[errno 1100[14]\]",
    re.IGNORECASE,
)
_HOST_IN_MESSAGE = re.compile(r"(?:Failed to resolve '|host='|Could not resolve host: )([A-Za-z0-9.-]+)")


def name_resolution_failure(exc: Exception) -> Exception | None:
    """An AzureFailure saying DNS is the problem when a failed sign-in was one (not a missing sign-in)."""
    text = str(exc)
    if not _NAME_RESOLUTION.search(text):
        return None
    from aks_jumpbox.azure.errors import SignInFailure

    host = m.group(1) if (m := _HOST_IN_MESSAGE.search(text)) else "the sign-in endpoint"
    return SignInFailure(
        "sign-in",
        "NameResolutionFailed",
        f"{host} could not be resolved (DNS), so no token could be requested",
        hint=f"This is a name resolution problem, not a missing sign-in: check this machine's DNS servers "
        f"and proxy settings (HTTPS_PROXY) so {host} resolves, then re-run.",
    )


class CachingCredential:
    """Wraps a TokenCredential so all clients of a command share one token per scope.

    DefaultAzureCredential's Azure CLI path starts `az` for every token request, and each SDK client
    asks separately; caching here saves one `az` run per client.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._tokens: dict[tuple[str, ...], Any] = {}
        self._failure: Exception | None = None
        self._lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.exceptions import ClientAuthenticationError

        key = (*scopes, str(kwargs.get("tenant_id") or ""), str(kwargs.get("claims") or ""))
        with self._lock:
            if self._failure is not None:  # not signed in: asking every credential again won't help
                raise self._failure
            token = self._tokens.get(key)
            if token is not None and token.expires_on - 300 > time.time():
                return token
            try:
                token = self.inner.get_token(*scopes, **kwargs)
            except ClientAuthenticationError as exc:
                self._failure = name_resolution_failure(exc) or exc
                if self._failure is exc:
                    raise
                raise self._failure from None
            self._tokens[key] = token
            return token

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close:
            close()


@dataclass
class Azure:
    """The Azure clients one command uses, created on first use."""

    cloud: Cloud
    subscription: str
    tuning: Tuning = field(default_factory=Tuning.from_env)
    credential: Any = None

    def __post_init__(self) -> None:
        if self.credential is None:
            from azure.identity import DefaultAzureCredential

            # azure-identity logs every credential it tried as a warning; the command reports a failed
            # sign-in itself, in one message with what to do (AKS_JUMPBOX_DEBUG=1 shows the details).
            if os.environ.get("AKS_JUMPBOX_DEBUG", "").strip().lower() not in ("1", "true", "yes", "on"):
                logging.getLogger("azure.identity").setLevel(logging.ERROR)

            kwargs: dict[str, Any] = {}
            if self.cloud.authority_host:
                kwargs["authority"] = self.cloud.authority_host
            check_identity_env()
            try:
                inner = DefaultAzureCredential(**kwargs)
            except (ValueError, OSError) as exc:
                # azure-identity checks its environment settings when built (a certificate it cannot
                # read, an authority it cannot parse): what it says, without its traceback.
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise UserError(
                    f"the Azure sign-in settings in the environment are not usable: {first}",
                    fix=f"Check {', '.join(IDENTITY_VARS)}, or unset them to sign in with `az login`.",
                ) from None
            self.credential = CachingCredential(inner)

    @cached_property
    def _transport(self) -> Any:
        import requests
        from azure.core.pipeline.transport import RequestsTransport

        return RequestsTransport(
            session=requests.Session(), session_owner=True, connection_timeout=30, read_timeout=self.tuning.read_timeout
        )

    def _arm_kwargs(self, api_version: str | None = None) -> dict[str, Any]:
        kwargs = {
            "base_url": self.cloud.arm_endpoint,
            "credential_scopes": [self.cloud.arm_scope],
            "transport": self._transport,
            "polling_interval": self.tuning.lro_poll_seconds,
            **self.tuning.retry_kwargs(),
        }
        if api_version:
            kwargs["api_version"] = api_version
        return kwargs

    @staticmethod
    def api(rtype: str) -> str:
        return azure_facts()["api_versions"][rtype]

    @cached_property
    def imagebuilder(self) -> Any:
        from azure.mgmt.imagebuilder import ImageBuilderClient

        return ImageBuilderClient(
            self.credential,
            self.subscription,
            **self._arm_kwargs(self.api("Microsoft.VirtualMachineImages/imageTemplates")),
        )

    @cached_property
    def msi(self) -> Any:
        from azure.mgmt.msi import ManagedServiceIdentityClient

        return ManagedServiceIdentityClient(
            self.credential,
            self.subscription,
            **self._arm_kwargs(self.api("Microsoft.ManagedIdentity/userAssignedIdentities")),
        )

    @cached_property
    def authorization(self) -> Any:
        from azure.mgmt.authorization import AuthorizationManagementClient

        return AuthorizationManagementClient(
            self.credential, self.subscription, **self._arm_kwargs(self.api("Microsoft.Authorization/roleAssignments"))
        )

    @cached_property
    def resources(self) -> Any:
        from azure.mgmt.resource.resources import ResourceManagementClient

        return ResourceManagementClient(self.credential, self.subscription, **self._arm_kwargs())

    @cached_property
    def network(self) -> Any:
        from azure.mgmt.network import NetworkManagementClient

        return NetworkManagementClient(self.credential, self.subscription, **self._arm_kwargs())

    @cached_property
    def compute(self) -> Any:
        from azure.mgmt.compute import ComputeManagementClient

        # Gallery image versions only: one api-version for the whole client.
        return ComputeManagementClient(
            self.credential,
            self.subscription,
            **self._arm_kwargs(self.api("Microsoft.Compute/galleries/images/versions")),
        )

    @cached_property
    def storage(self) -> Any:
        from azure.mgmt.storage import StorageManagementClient

        return StorageManagementClient(self.credential, self.subscription, **self._arm_kwargs())

    @cached_property
    def containerinstance(self) -> Any:
        """Only for the build container's live output (azure/logs.py)."""
        from azure.mgmt.containerinstance import ContainerInstanceManagementClient

        return ContainerInstanceManagementClient(self.credential, self.subscription, **self._arm_kwargs())

    def blob_service(self, account_url: str, account_key: tuple[str, str] | None = None) -> Any:
        """A blob client for a storage account: Azure AD by default, a shared key when given one."""
        from azure.storage.blob import BlobServiceClient

        if account_key is None:
            credential: Any = self.credential
            extra: dict[str, Any] = {"audience": self.cloud.storage_audience}
        else:
            from azure.core.credentials import AzureNamedKeyCredential

            credential, extra = AzureNamedKeyCredential(*account_key), {}
        return BlobServiceClient(
            account_url,
            credential=credential,
            retry_total=self.tuning.retry_total,
            read_timeout=self.tuning.read_timeout,
            **extra,
        )

    def close(self) -> None:
        for name in (
            "imagebuilder",
            "msi",
            "authorization",
            "resources",
            "network",
            "compute",
            "storage",
            "containerinstance",
        ):
            client = self.__dict__.get(name)
            if client is not None:
                client.close()
        if "_transport" in self.__dict__:
            self._transport.close()
        close = getattr(self.credential, "close", None)
        if close:
            close()

    def __enter__(self) -> Azure:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
