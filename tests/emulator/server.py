"""HTTPS transport for the ARM emulator: a threaded stdlib server on 127.0.0.1 with an ephemeral port.

TLS is set up per connection in the connection's own thread (a slow handshake cannot stall the accept
loop). HTTP/1.1 keep-alive with Nagle off: without it every keep-alive request waits ~40 ms for the
delayed ACK. One server serves a session; ``mount`` swaps in a fresh ArmEmulator for each test.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .tls import TestCA
from .wire import DropConnection, Request, Response


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections are closed after this

    def setup(self) -> None:
        self.request = self.server.ssl_context.wrap_socket(self.request, server_side=True)  # type: ignore[attr-defined]
        super().setup()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet by design
        pass

    def _serve(self) -> None:
        owner: ArmServer = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request.build(self.command, self.path, dict(self.headers.items()), body, owner.url)
        app = owner.app
        try:
            resp = (
                app.handle(req)
                if app is not None
                else Response(503, {"error": {"code": "ServiceUnavailable", "message": "No emulator is mounted."}})
            )
        except DropConnection:
            hang_up(self)
            return
        data = resp.encode()
        self.send_response(resp.status)
        for key, value in resp.headers.items():
            self.send_header(key, value)
        if data:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = _serve


def hang_up(handler: BaseHTTPRequestHandler) -> None:
    """Close the client's connection without an answer (a dropped connection, as clients see it)."""
    handler.close_connection = True
    try:
        handler.request.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address) -> None:
        pass  # clients that hang up (or reject the certificate) are not the test's failure


class ArmServer:
    def __init__(self, ca: TestCA) -> None:
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.ssl_context = ca.server_context()  # type: ignore[attr-defined]
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.url = f"https://127.0.0.1:{self.httpd.server_port}"
        self.app = None
        self._thread: threading.Thread | None = None

    def start(self) -> ArmServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="arm-emulator", daemon=True)
        self._thread.start()
        return self

    def mount(self, app) -> None:
        app.base_url = self.url
        self.app = app

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
