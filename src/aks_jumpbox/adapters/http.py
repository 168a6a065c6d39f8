"""HTTPS fetches for `lock` and `mirror`: bounded, retried, and never over plain HTTP.

The standard library's urllib suffices (one GET at a time, small checksum files, streamed
artifacts); trust comes from the system CA store, or SSL_CERT_FILE for an internal CA.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO

from aks_jumpbox.core.errors import OperationFailed

USER_AGENT = "aks-jumpbox"


class FetchError(OperationFailed):
    pass


class _HttpsOnlyRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001 - urllib's signature
        if not newurl.startswith("https://"):
            raise FetchError(f"{req.full_url} redirects to {newurl}, which is not HTTPS; refusing")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _context() -> ssl.SSLContext:
    cafile = os.environ.get("SSL_CERT_FILE")
    return ssl.create_default_context(cafile=cafile if cafile and Path(cafile).is_file() else None)


def _open(url: str, timeout: float):
    if not url.startswith("https://"):
        raise FetchError(f"refusing to fetch {url}: only https:// URLs are fetched")
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=_context()), _HttpsOnlyRedirects())
    return opener.open(urllib.request.Request(url, headers={"User-Agent": USER_AGENT}), timeout=timeout)


def _retrying(url: str, attempts: int, action):
    delay = 1.0
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except urllib.error.HTTPError as exc:
            transient = exc.code in (408, 429) or exc.code >= 500
            if not transient or attempt == attempts:
                raise FetchError(f"GET {url} failed: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, ssl.SSLError) as exc:
            if attempt == attempts:
                reason = getattr(exc, "reason", exc)
                raise FetchError(f"GET {url} failed after {attempts} attempt(s): {reason}") from None
        time.sleep(delay)
        delay = min(delay * 2, 30.0)
    raise AssertionError("unreachable")


def fetch_text(url: str, *, attempts: int = 4, timeout: float = 30.0, limit: int = 4 << 20) -> str:
    def get() -> str:
        with _open(url, timeout) as resp:
            data = resp.read(limit + 1)
        if len(data) > limit:
            raise FetchError(f"GET {url}: larger than {limit} bytes; not a checksum file")
        return data.decode("utf-8", errors="replace")

    return _retrying(url, attempts, get)


def fetch_file(url: str, out: BinaryIO, *, attempts: int = 4, timeout: float = 300.0) -> str:
    """Stream url into out (an open file the caller made, e.g. an exclusive temporary file it renames only
    once the digest is verified); returns the SHA-256 of what was written. A retry starts over."""

    def get() -> str:
        digest = hashlib.sha256()
        out.seek(0)
        out.truncate()
        with _open(url, timeout) as resp:
            while chunk := resp.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        out.flush()
        return digest.hexdigest()

    return _retrying(url, attempts, get)
