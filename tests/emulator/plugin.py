"""pytest fixtures for the ARM emulator and Azurite (registered for the whole suite by tests/conftest.py).

- ``emulator_ca``  (session) throw-away CA; ``.ca_file`` is the PEM clients trust.
- ``arm_server``   (session) the HTTPS server on 127.0.0.1:<ephemeral>.
- ``azurite``      (session) Azurite's blob service (HTTPS, OAuth basic). Missing binary: fails under CI=true,
  skips otherwise.
- ``blob_gateway`` (session) front for Azurite applying data-plane RBAC; what primaryEndpoints.blob points at.
- ``arm_emulator`` (function) a fresh ArmEmulator mounted on the server. When the test also uses ``azurite``
  (directly or through ``azure_env``), staging storage accounts live in Azurite; otherwise in memory.
  Teardown fails the test if the emulator hit an internal error.
- ``azure_env``    (function) arm_emulator + azurite + what a product subprocess needs: ``.env`` (PATH with the
  fake az, CA bundle, custom-cloud endpoints, subscription) and in-process SDK client helpers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .app import ArmEmulator
from .azurite import PINNED_VERSION, Azurite, AzuriteBlobs, find_binary
from .blobgateway import BlobGateway
from .credentials import FakeJwtCredential
from .server import ArmServer
from .tls import TestCA

FAKEBIN = Path(__file__).resolve().parent / "fakebin"
# What the product reads to select a custom cloud (see the report in tests/emulator/README.md).
ARM_AUDIENCE = "https://management.core.windows.net/"
ARM_SCOPE = ARM_AUDIENCE.rstrip("/") + "/.default"  # the token scope for that audience
STORAGE_SUFFIX = "storage.emulator.invalid"  # never resolves: blob URLs must come from primaryEndpoints


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def emulator_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA.create(tmp_path_factory.mktemp("emulator-ca"))


@pytest.fixture(scope="session")
def arm_server(emulator_ca: TestCA):
    server = ArmServer(emulator_ca).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def azurite(emulator_ca: TestCA, tmp_path_factory: pytest.TempPathFactory):
    binary = find_binary()
    if binary is None or not binary.exists():
        message = (
            f"Azurite is not installed: expected node_modules/.bin/azurite-blob (run "
            f"`npm install --no-save azurite@{PINNED_VERSION}` in the checkout, as .ci/run does) "
            "or set AZURITE_BLOB_BIN"
        )
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    server = Azurite(binary, emulator_ca, tmp_path_factory.mktemp("azurite")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def blob_gateway(azurite: Azurite, arm_server: ArmServer, emulator_ca: TestCA):
    gateway = BlobGateway(emulator_ca, azurite.port, arm_server).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def arm_emulator(request: pytest.FixtureRequest, arm_server: ArmServer):
    blobs = None
    if "azurite" in request.fixturenames:
        gateway = request.getfixturevalue("blob_gateway")
        blobs = AzuriteBlobs(request.getfixturevalue("azurite"), gateway.url)
    arm = ArmEmulator(blobs=blobs)
    arm_server.mount(arm)
    yield arm
    arm_server.app = None
    if arm.internal_errors:
        pytest.fail("ARM emulator internal errors:\n" + "\n".join(arm.internal_errors), pytrace=False)
    if arm.swagger_violations:
        pytest.fail(
            "image template requests or answers the REST API spec rejects (tests/emulator/swaggercheck.py):\n"
            + "\n".join(arm.swagger_violations[:20]),
            pytrace=False,
        )


@dataclass
class AzureEnv:
    arm: ArmEmulator
    azurite: Azurite
    ca: TestCA
    env: dict[str, str]  # environment for a product subprocess
    credential: FakeJwtCredential  # for in-process SDK clients (same caller as the fake az)

    @property
    def subscription_id(self) -> str:
        return self.arm.subscription_id

    def mgmt_client(self, cls: type, **kwargs: Any):
        """An azure-mgmt-* client pointed at the emulator the way a custom cloud is configured."""
        kwargs.setdefault("base_url", self.arm.base_url)
        kwargs.setdefault("credential_scopes", [ARM_SCOPE])
        kwargs.setdefault("connection_verify", str(self.ca.ca_file))
        return cls(self.credential, self.subscription_id, **kwargs)

    def blob_service(self, account: str, credential: Any = None):
        """A client for ``account`` at the endpoint ARM reports (token credential unless one is given)."""
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient(
            self.arm.blobs.endpoint(account),
            credential=credential or self.credential,
            connection_verify=str(self.ca.ca_file),
        )


def product_env(arm: ArmEmulator, ca: TestCA, home: Path) -> dict[str, str]:
    """Environment for running the product against the emulator: nothing in it is test-only for the
    product; it is how any custom cloud plus an `az login` session would be configured."""
    bundle = home / "ca-bundle.pem"
    system = Path(os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt")
    bundle.write_bytes(ca.ca_file.read_bytes() + (system.read_bytes() if system.is_file() else b""))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(("AZURE_", "ARM_", "MSI_", "IDENTITY_"))
        and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    env.update(
        {
            "PATH": f"{FAKEBIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(home),
            "AZURE_CONFIG_DIR": str(home / ".azure"),
            "REQUESTS_CA_BUNDLE": str(bundle),
            "SSL_CERT_FILE": str(bundle),
            "CURL_CA_BUNDLE": str(bundle),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "AZURE_TOKEN_CREDENTIALS": "AzureCliCredential",
            "AZURE_SUBSCRIPTION_ID": arm.subscription_id,
            "FAKE_AZ_OBJECT_ID": arm.config.caller_principal_id,
            "FAKE_AZ_TENANT_ID": arm.tenant_id,
            "FAKE_AZ_SUBSCRIPTION_ID": arm.subscription_id,
            # custom cloud (names proposed for the product's Azure adapter)
            "AZURE_ARM_ENDPOINT": arm.base_url,
            "AZURE_ARM_AUDIENCE": ARM_AUDIENCE,
            "AZURE_STORAGE_SUFFIX": STORAGE_SUFFIX,
        }
    )
    return env


@pytest.fixture
def azure_env(azurite: Azurite, arm_emulator: ArmEmulator, emulator_ca: TestCA, tmp_path: Path) -> AzureEnv:
    home = tmp_path / "home"
    home.mkdir()
    cred = FakeJwtCredential(arm_emulator.config.caller_principal_id, arm_emulator.tenant_id)
    return AzureEnv(arm_emulator, azurite, emulator_ca, product_env(arm_emulator, emulator_ca, home), cred)
