"""HTTPS fetches for `lock` and `mirror`: bounded, retried, and never over plain HTTP.

The standard library's urllib suffices (one GET at a time, small checksum files, streamed
artifacts); trust comes from the system CA store, or SSL_CERT_FILE for an internal CA.

A host that cannot be reached at all (its name does not resolve, no route, connection refused, no answer
to a connect) is not retried: on an offline or air-gapped machine that only costs time. The first such
failure is remembered for the process, and every later fetch from a host that has not answered fails at
once with it, so the command can say "no network" once and what to do instead.

A resolve map ((host, port) -> address, as curl's --resolve) connects to another address for a host while
TLS still names the host: SNI and the certificate check are the host's, only the TCP connection differs.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import os
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from aks_jumpbox.core.errors import OperationFailed, Unreachable

USER_AGENT = "aks-jumpbox"


class FetchError(OperationFailed):
    pass


class _HttpsOnlyRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001 - urllib's signature
        if not newurl.startswith("https://"):
            raise FetchError(f"{req.full_url} redirects to {newurl}, which is not HTTPS; refusing")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


Resolve = Mapping[tuple[str, int], str]  # (lowercase host, port) -> the address to connect to instead


class _ResolvingConnection(http.client.HTTPSConnection):
    """An HTTPS connection whose TCP connect goes to the resolve map's address for (host, port); TLS is
    set up by the base class afterwards with server_hostname=host, so SNI and verification are unchanged."""

    def __init__(self, *args, resolve: Resolve, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._resolve_map = resolve
        self._create_connection = self._connect_resolved

    def _connect_resolved(self, address: tuple[str, int], *args, **kwargs) -> socket.socket:
        host, port = address
        target = self._resolve_map.get((host.lower(), port))
        return socket.create_connection((target.strip("[]") if target else host, port), *args, **kwargs)


class _ResolvingHttpsHandler(urllib.request.HTTPSHandler):
    def __init__(self, context: ssl.SSLContext, resolve: Resolve) -> None:
        super().__init__(context=context)
        self._ctx, self._resolve_map = context, resolve

    def https_open(self, req):
        def connection(host: str, **kwargs) -> _ResolvingConnection:
            return _ResolvingConnection(host, resolve=self._resolve_map, **kwargs)

        return self.do_open(connection, req, context=self._ctx)


def _context() -> ssl.SSLContext:
    cafile = os.environ.get("SSL_CERT_FILE")
    return ssl.create_default_context(cafile=cafile if cafile and Path(cafile).is_file() else None)


_NO_ROUTE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ECONNREFUSED, errno.ENETDOWN}
_state = threading.Lock()
_answered: set[str] = set()  # hosts that answered in this process (an HTTP error is an answer)
_first_unreachable: list[Unreachable] = []  # the first host that could not be reached at all


def _host(url: str) -> str:
    return (urlsplit(url).hostname or url).lower()


def _unreachable_reason(exc: BaseException) -> str | None:
    """Why exc means the host cannot be reached at all, or None for a failure a retry may cure."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else None  # connect failures come wrapped
    if isinstance(reason, socket.gaierror):
        return f"its name does not resolve: {reason.strerror or reason}"
    if isinstance(reason, TimeoutError):
        return "no answer to a connect"
    if isinstance(reason, OSError) and not isinstance(reason, ssl.SSLError) and reason.errno in _NO_ROUTE:
        return reason.strerror or str(reason)
    return None


def _known_unreachable(url: str) -> Unreachable | None:
    host = _host(url)
    with _state:
        if host in _answered or not _first_unreachable:
            return None
        first = _first_unreachable[0]
    if first.host == host:
        return first
    return Unreachable(
        host, f"not tried: {first.host} could not be reached ({first.reason}); this machine seems offline"
    )


def _open(url: str, timeout: float, resolve: Resolve | None = None):
    if not url.startswith("https://"):
        raise FetchError(f"refusing to fetch {url}: only https:// URLs are fetched")
    known = _known_unreachable(url)
    if known is not None:
        raise known
    context = _context()
    https = _ResolvingHttpsHandler(context, resolve) if resolve else urllib.request.HTTPSHandler(context=context)
    opener = urllib.request.build_opener(https, _HttpsOnlyRedirects())
    return opener.open(urllib.request.Request(url, headers={"User-Agent": USER_AGENT}), timeout=timeout)


def _retrying(url: str, attempts: int, action):
    delay = 1.0
    for attempt in range(1, attempts + 1):
        try:
            result = action()
            with _state:
                _answered.add(_host(url))
            return result
        except urllib.error.HTTPError as exc:
            with _state:
                _answered.add(_host(url))
            transient = exc.code in (408, 429) or exc.code >= 500
            if not transient or attempt == attempts:
                raise FetchError(f"GET {url} failed: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, ssl.SSLError) as exc:
            why = _unreachable_reason(exc)
            if why is not None:
                down = Unreachable(_host(url), why)
                with _state:
                    if not _first_unreachable:
                        _first_unreachable.append(down)
                raise down from None
            if attempt == attempts:
                reason = getattr(exc, "reason", exc)
                raise FetchError(f"GET {url} failed after {attempts} attempt(s): {reason}") from None
        time.sleep(delay)
        delay = min(delay * 2, 30.0)
    raise AssertionError("unreachable")


def fetch_text(
    url: str, *, attempts: int = 4, timeout: float = 30.0, limit: int = 4 << 20, resolve: Resolve | None = None
) -> str:
    def get() -> str:
        with _open(url, timeout, resolve) as resp:
            data = resp.read(limit + 1)
        if len(data) > limit:
            raise FetchError(f"GET {url}: larger than {limit} bytes; not a checksum file")
        return data.decode("utf-8", errors="replace")

    return _retrying(url, attempts, get)


def fetch_file(
    url: str, out: BinaryIO, *, attempts: int = 4, timeout: float = 300.0, resolve: Resolve | None = None
) -> str:
    """Stream url into out (an open file the caller made, e.g. an exclusive temporary file it renames only
    once the digest is verified); returns the SHA-256 of what was written. A retry starts over.
    resolve: connect to another address for a (host, port), as curl's --resolve."""

    def get() -> str:
        digest = hashlib.sha256()
        out.seek(0)
        out.truncate()
        with _open(url, timeout, resolve) as resp:
            while chunk := resp.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        out.flush()
        return digest.hexdigest()

    return _retrying(url, attempts, get)
