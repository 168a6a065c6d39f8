"""A throw-away certificate authority for the emulators' HTTPS endpoints.

Clients trust it the ordinary way: REQUESTS_CA_BUNDLE / SSL_CERT_FILE point at ``ca_file``.
One CA signs both the ARM emulator's and Azurite's certificates, so one bundle covers both.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class TestCA:
    ca_file: Path  # PEM of the CA certificate: what clients trust
    cert_file: Path  # server certificate chain (127.0.0.1, localhost)
    key_file: Path  # server private key

    __test__ = False  # not a pytest test class

    @classmethod
    def create(cls, directory: Path) -> TestCA:
        directory.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="aks-jumpbox test CA")
        server = ca.issue_cert("127.0.0.1", "localhost")
        out = cls(directory / "ca.pem", directory / "server.pem", directory / "server.key")
        ca.cert_pem.write_to_path(str(out.ca_file))
        server.private_key_pem.write_to_path(str(out.key_file))
        with open(out.cert_file, "wb") as fh:
            for blob in server.cert_chain_pems:
                fh.write(blob.bytes())
        return out

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(self.cert_file), str(self.key_file))
        return ctx

    def client_env(self) -> dict[str, str]:
        """Environment that makes requests (azure-core), urllib and curl trust this CA."""
        ca = str(self.ca_file)
        return {"REQUESTS_CA_BUNDLE": ca, "SSL_CERT_FILE": ca, "CURL_CA_BUNDLE": ca}
