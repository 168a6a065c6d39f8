"""A front for Azurite that applies Azure's data-plane RBAC to bearer-token requests.

Azurite's ``--oauth basic`` accepts any well-formed token. Azure does not: a token needs a role with
blob *data* actions on the account (Owner and Contributor have none), else 403
``AuthorizationPermissionMismatch``; and an account with ``allowSharedKeyAccess: false`` refuses keys.
Storage accounts created through the ARM emulator report this gateway as ``primaryEndpoints.blob``; it
checks the caller against the emulator's role assignments and forwards the request unchanged (same
path, so SharedKey signatures stay valid) to Azurite.
"""

from __future__ import annotations

import http.client
import ssl
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from .server import _Server, hang_up
from .tls import TestCA

DATA = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


def required_action(method: str) -> str:
    if method in ("GET", "HEAD"):
        return f"{DATA}/read"
    if method == "DELETE":
        return f"{DATA}/delete"
    return f"{DATA}/write"


def _error(code: str, message: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 120

    def setup(self) -> None:
        self.request = self.server.gateway.server_ctx.wrap_socket(self.request, server_side=True)  # type: ignore[attr-defined]
        super().setup()

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass

    def _deny(self, status: int, code: str, message: str) -> None:
        data = _error(code, message)
        self.send_response(status)
        self.send_header("x-ms-error-code", code)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _serve(self) -> None:
        gw: BlobGateway = self.server.gateway  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        account = parts.path.strip("/").split("/")[0]
        verdict = gw.check(account, self.command, self.headers.get("Authorization", ""))
        if verdict is not None:
            self._deny(*verdict)
            return
        conn = http.client.HTTPSConnection("127.0.0.1", gw.azurite_port, context=gw.client_ctx, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            headers["Content-Length"] = str(len(body))
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except OSError:
            hang_up(self)
            return
        finally:
            conn.close()
        self.send_response(resp.status, resp.reason)
        for key, value in resp.getheaders():
            if key.lower() not in _HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_OPTIONS = _serve


class BlobGateway:
    def __init__(self, ca: TestCA, azurite_port: int, arm_server) -> None:
        self.server_ctx = ca.server_context()
        self.client_ctx = ssl.create_default_context(cafile=str(ca.ca_file))
        self.azurite_port = azurite_port
        self.arm_server = arm_server  # its mounted ArmEmulator holds the role assignments
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.gateway = self  # type: ignore[attr-defined]
        self.url = f"https://127.0.0.1:{self.httpd.server_port}"
        self.denied: list[tuple[str, str, str]] = []  # (account, method, code) of refused requests

    def start(self) -> BlobGateway:
        threading.Thread(target=self.httpd.serve_forever, name="blob-gateway", daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def check(self, account: str, method: str, authorization: str) -> tuple[int, str, str] | None:
        """None to forward, else (status, code, message) as Azure Storage answers."""
        arm = self.arm_server.app
        if arm is None:
            return None
        with arm.lock:
            res = next((r for r in arm.store.of_type("Microsoft.Storage/storageAccounts") if r.name == account), None)
            if res is None:
                return None  # not an ARM-managed account (e.g. devstoreaccount1): Azurite decides
            if authorization.lower().startswith("bearer "):
                from .app import _jwt_claims

                oid = str(_jwt_claims(authorization[7:].strip()).get("oid", ""))
                action = required_action(method)
                if arm.config.enforce_blob_data_rbac and not arm.rbac.allowed(oid, res.id, action, data=True):
                    self.denied.append((account, method, "AuthorizationPermissionMismatch"))
                    return (
                        403,
                        "AuthorizationPermissionMismatch",
                        "This request is not authorized to perform this operation using this permission.",
                    )
            elif authorization.startswith("SharedKey") and res.properties.get("allowSharedKeyAccess") is False:
                self.denied.append((account, method, "KeyBasedAuthenticationNotPermitted"))
                return (
                    403,
                    "KeyBasedAuthenticationNotPermitted",
                    "Key based authentication is not permitted on this storage account.",
                )
        return None
