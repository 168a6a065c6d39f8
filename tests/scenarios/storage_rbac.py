"""A storage account whose data-plane RBAC denies the caller: an HTTPS front for Azurite.

Azurite's `--oauth basic` accepts any well-formed token, so it cannot show what Azure does when a
caller has no Storage Blob Data role: 403 AuthorizationPermissionMismatch for Azure AD requests,
while shared-key requests still work. This front answers bearer-token requests that way and passes
everything else (shared key) through to Azurite unchanged, so key signatures stay valid.
"""

from __future__ import annotations

import http.client
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DENIED = (b'<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthorizationPermissionMismatch</Code>'
          b"<Message>This request is not authorized to perform this operation using this permission.</Message>"
          b"</Error>")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class DenyingFront:
    def __init__(self, ca, azurite_port: int) -> None:
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if (self.headers.get("Authorization") or "").lower().startswith("bearer "):
                    front.denied += 1
                    self.send_response(403)
                    self.send_header("x-ms-error-code", "AuthorizationPermissionMismatch")
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(DENIED)))
                    self.end_headers()
                    self.wfile.write(DENIED)
                    return
                front.passed += 1
                conn = http.client.HTTPSConnection("127.0.0.1", azurite_port, context=front.client_context, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in HOP_BY_HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve

        self.denied = self.passed = 0
        self.client_context = ssl.create_default_context(cafile=str(ca.ca_file))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        context = ca.server_context()
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> DenyingFront:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
