"""Azurite's blob service as a subprocess, and the emulator's blob backend on top of it.

Azurite runs on 127.0.0.1 with an ephemeral port, in memory, over HTTPS with the test CA and with
``--oauth basic`` so clients can use bearer tokens (Azurite checks issuer, audience and lifetime, not the
signature). Accounts come from ``AZURITE_ACCOUNTS``: devstoreaccount1 plus a pool of random names that
the ARM emulator hands out as Image Builder staging storage accounts. Blob URLs are path style:
``https://127.0.0.1:PORT/<account>/<container>/<blob>`` — what ARM reports as primaryEndpoints.blob.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from .blobs import random_account_name
from .tls import TestCA

PINNED_VERSION = "3.35.0"  # last release declaring support for Node 20 (see .ci/run)
DEVSTORE = "devstoreaccount1"
DEVSTORE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_READY = re.compile(r"successfully listens on (https?://[\d.]+:(\d+))")
REPO_ROOT = Path(__file__).resolve().parents[2]


def _die_with_parent() -> None:
    """Bound Azurite's lifetime by the test process's, even if pytest is killed (Linux prctl)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def find_binary() -> Path | None:
    """AZURITE_BLOB_BIN, else node_modules/.bin/azurite-blob of the checkout (installed by .ci/run), else PATH."""
    env = os.environ.get("AZURITE_BLOB_BIN")
    if env:
        return Path(env)
    local = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return local
    found = shutil.which("azurite-blob")
    return Path(found) if found else None


class Azurite:
    def __init__(self, binary: Path, ca: TestCA, workdir: Path, pool_size: int = 32) -> None:
        self.binary, self.ca, self.workdir = binary, ca, workdir
        self.accounts: dict[str, str] = {DEVSTORE: DEVSTORE_KEY}
        for _ in range(pool_size):
            self.accounts[random_account_name()] = base64.b64encode(os.urandom(64)).decode()
        self.pool = [a for a in self.accounts if a != DEVSTORE]
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.port = 0

    def start(self, timeout: float = 30) -> Azurite:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / "azurite.log", "wb")
        env = dict(os.environ, AZURITE_ACCOUNTS=";".join(f"{n}:{k}" for n, k in self.accounts.items()))
        cmd = [
            str(self.binary),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            "0",
            "--inMemoryPersistence",
            "--extentMemoryLimit",
            "256",
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--silent",
            "--oauth",
            "basic",
            "--cert",
            str(self.ca.cert_file),
            "--key",
            str(self.ca.key_file),
        ]
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = (self.workdir / "azurite.log").read_text(errors="replace")
            if m := _READY.search(text):
                self.url, self.port = m[1], int(m[2])
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"Azurite did not start ({self.binary}); its output:\n"
            + (self.workdir / "azurite.log").read_text(errors="replace")
        )

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def blob_endpoint(self, account: str = DEVSTORE) -> str:
        return f"{self.url}/{account}/"

    def connection_string(self, account: str = DEVSTORE) -> str:
        return (
            f"DefaultEndpointsProtocol=https;AccountName={account};AccountKey={self.accounts[account]};"
            f"BlobEndpoint={self.url}/{account};"
        )

    def service_client(self, account: str = DEVSTORE, credential=None):
        """A BlobServiceClient for ``account`` (shared key unless a token credential is given)."""
        from azure.storage.blob import BlobServiceClient

        cred = credential or {"account_name": account, "account_key": self.accounts[account]}
        return BlobServiceClient(
            self.blob_endpoint(account),
            credential=cred,
            connection_verify=str(self.ca.ca_file),
            retry_total=2,
        )


class AzuriteBlobs:
    """The ARM emulator's blob backend: staging accounts from Azurite's pool. ``endpoint_base`` is what
    primaryEndpoints.blob points at (the BlobGateway in front of Azurite, or Azurite itself)."""

    def __init__(self, azurite: Azurite, endpoint_base: str | None = None) -> None:
        self.azurite = azurite
        self.endpoint_base = endpoint_base or azurite.url
        self._next = 0
        self._clients: dict[str, object] = {}

    def reset(self) -> None:
        self._next = 0

    def allocate_account(self) -> str:
        pool = self.azurite.pool
        name = pool[self._next % len(pool)]
        self._next += 1
        self.forget(name)  # a fresh emulator reuses pool names: start them empty
        return name

    def endpoint(self, account: str) -> str:
        return f"{self.endpoint_base}/{account}/"

    def account_key(self, account: str) -> str | None:
        return self.azurite.accounts.get(account)

    def _client(self, account: str):
        if account not in self._clients:
            self._clients[account] = self.azurite.service_client(account)
        return self._clients[account]

    def put(self, account: str, container: str, blob: str, data: bytes) -> None:
        from azure.core.exceptions import ResourceExistsError

        cc = self._client(account).get_container_client(container)
        try:
            cc.create_container()
        except ResourceExistsError:
            pass
        cc.upload_blob(blob, data, overwrite=True)

    def get(self, account: str, container: str, blob: str) -> bytes | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self._client(account).get_blob_client(container, blob).download_blob().readall()
        except ResourceNotFoundError:
            return None

    def forget(self, account: str) -> None:
        if account not in self.azurite.accounts:
            return
        svc = self._client(account)
        for c in svc.list_containers():
            svc.delete_container(c.name)
