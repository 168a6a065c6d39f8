"""A static HTTPS server on 127.0.0.1 playing an organization's mirror, with fault injection.

Serves a directory (artifacts, apt repositories, keys) over TLS with a certificate from a
throw-away CA (trustme). Faults are set per URL path while it runs:
  fail(path, times=N, status=500)   the first N requests get that status, then the file
  hang(path)                        accept and read the request, never answer (until stop)
  throttle(latency=, rate=)         every response waits `latency` s, then sends at `rate` B/s
It records every request (path, status) so tests can see retries.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import trustme

CHUNK = 64 * 1024


@dataclass
class _Faults:
    fail: dict[str, list[int]] = field(default_factory=dict)  # path -> [remaining, status]
    hang: set[str] = field(default_factory=set)
    latency: float = 0.0
    rate: float | None = None  # bytes per second per connection


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args) -> None:  # quiet; requests are recorded instead
        pass

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(30)

    def handle(self) -> None:
        # The TLS handshake happens here, in the connection's own thread, so a client that
        # stalls cannot block accept().
        try:
            self.connection.do_handshake()
        except (ssl.SSLError, OSError):
            return
        with contextlib.suppress(ConnectionError, ssl.SSLError, TimeoutError, OSError):
            super().handle()

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        srv = self.server
        path = unquote(urlsplit(self.path).path)
        faults = srv.faults
        with srv.lock:
            hang = path in faults.hang
            fail = faults.fail.get(path)
            status_override = None
            if fail and fail[0] > 0:
                fail[0] -= 1
                status_override = fail[1]
        if hang:
            srv.record(path, 0)
            # never answer (until the fault is cleared or the server stops)
            while not srv.stopping.wait(0.2) and path in srv.faults.hang:
                pass
            self.close_connection = True
            return
        if faults.latency:
            time.sleep(faults.latency)
        if status_override is not None:
            srv.record(path, status_override)
            body = f"injected {status_override}\n".encode()
            self.send_response(status_override)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)
            return
        target = (srv.root / path.lstrip("/")).resolve()
        if not str(target).startswith(str(srv.root) + os.sep) or not target.is_file():
            srv.record(path, 404)
            body = b"not found\n"
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)
            return
        size = target.stat().st_size
        start = 0
        rng = self.headers.get("Range", "")
        status = 200
        if rng.startswith("bytes=") and rng[6:].split("-", 1)[0].isdigit() and rng.endswith("-"):
            start = min(int(rng[6:-1]), size)
            status = 206
        srv.record(path, status)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size - start))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.send_header("Last-Modified", self.date_time_string(int(target.stat().st_mtime)))
        self.end_headers()
        if head:
            return
        with open(target, "rb") as fh:
            fh.seek(start)
            self._send_paced(fh, faults.rate)

    def _send_paced(self, fh, rate: float | None) -> None:
        began = time.monotonic()
        sent = 0
        while chunk := fh.read(CHUNK):
            self.wfile.write(chunk)
            sent += len(chunk)
            if rate:
                ahead = sent / rate - (time.monotonic() - began)
                if ahead > 0:
                    time.sleep(ahead)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, root: Path, context: ssl.SSLContext):
        self.root = root.resolve()
        self.faults = _Faults()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.requests: list[tuple[str, int]] = []
        super().__init__(("127.0.0.1", 0), _Handler)
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def record(self, path: str, status: int) -> None:
        with self.lock:
            self.requests.append((path, status))


class Mirror:
    """The loopback HTTPS mirror. Use as a context manager; files go under `root`."""

    def __init__(self, root: Path, ca: trustme.CA | None = None, host: str = "127.0.0.1"):
        """host: the name its URLs use (and its certificate names besides 127.0.0.1 and localhost); it
        listens on 127.0.0.1 whatever the name (a VM reaches it by that name through a forward)."""
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.ca = ca or trustme.CA()
        self.host = host
        cert = self.ca.issue_cert(*dict.fromkeys(("127.0.0.1", "localhost", host)))
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        self._server = _Server(root, ctx)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    @property
    def ca_pem(self) -> str:
        return self.ca.cert_pem.bytes().decode()

    def start(self) -> Mirror:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"mirror-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> Mirror:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- faults
    def _norm(self, path: str) -> str:
        return "/" + unquote(urlsplit(path).path if "://" in path else path).lstrip("/")

    def fail(self, path: str, times: int, status: int = 500) -> None:
        with self._server.lock:
            self._server.faults.fail[self._norm(path)] = [times, status]

    def hang(self, path: str) -> None:
        with self._server.lock:
            self._server.faults.hang.add(self._norm(path))

    def throttle(self, latency: float = 0.0, rate: float | None = None) -> None:
        self._server.faults.latency = latency
        self._server.faults.rate = rate

    def clear_faults(self) -> None:
        with self._server.lock:
            self._server.faults = _Faults()

    # -- observation
    def requests(self, path: str | None = None) -> list[tuple[str, int]]:
        with self._server.lock:
            reqs = list(self._server.requests)
        return [r for r in reqs if path is None or r[0] == self._norm(path)]

    def reset_log(self) -> None:
        with self._server.lock:
            self._server.requests.clear()


@contextlib.contextmanager
def serving(root: Path, ca: trustme.CA | None = None) -> Iterator[Mirror]:
    with Mirror(root, ca) as m:
        yield m
