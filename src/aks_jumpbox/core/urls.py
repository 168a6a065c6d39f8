"""One rule for every URL the tool reads (spec, lock, mirror): parsed, not pattern-matched.

A URL ends up in places that do not quote it: a deb822 `.sources` field (`URIs: <url>`), a TAB
table in provision.sh, the image's JSON manifest, ARM strings, the egress
allow-list and markdown tables. So a URL is accepted only if it is inert in all of them:

- scheme http(s) as the field allows; a host that is a DNS name (RFC 1123 labels) or an IP
  address; an optional port; no user name or password (credentials do not belong in a spec or lock);
- no query and no fragment (a mirror base is extended with paths, a download needs neither);
- only RFC 3986 characters (ASCII letters, digits and -._~:/?#[]@!$&()*+,;=%), percent escapes
  well formed. That rules out whitespace, control characters, `"`, `\\`, `<>`, `{}` (`{{` is a
  template marker to Image Builder), `|`, `^`, backticks and non-ASCII text;
- and, though RFC 3986 allows it, no `'`: no download needs one, and it is the quote of every
  shell word the scripts write.

Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

# RFC 3986 section 2: unreserved, reserved and "%" (checked below to start an escape); minus "'".
_ALLOWED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&()*+,;=%")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
MAX_URL = 2048


class UrlError(ValueError):
    """Why a URL is refused, as one sentence (the caller adds where it came from)."""


def _describe(ch: str) -> str:
    names = {
        " ": "a space",
        "\t": "a tab",
        "\n": "a newline",
        "\r": "a carriage return",
        '"': 'a double quote (")',
        "'": "a single quote (')",
        "\\": "a backslash",
    }
    if ch in names:
        return names[ch]
    return f"the character {ch!r}" if ch.isprintable() else f"the control character {ch!r}"


def is_dns_name(name: str) -> bool:
    """Dot-separated RFC 1123 labels (letters, digits, inner hyphens), at most 253 characters; a trailing
    dot (fully qualified) is allowed."""
    labels = name.removesuffix(".").split(".")
    return bool(name) and len(name) <= 253 and all(_LABEL.fullmatch(label) for label in labels)


def valid_host(host: str) -> bool:
    """A DNS name (letters, digits, hyphens; dot-separated labels) or an IPv4/IPv6 address."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    # A name of digits and dots only is a malformed IP address, not a host name.
    return is_dns_name(host) and not all(label.isdigit() for label in host.removesuffix(".").split("."))


def check_url(value: object, *, schemes: tuple[str, ...] = ("https",)) -> str:
    """value if it is a URL safe for every place URLs go (see the module docstring); else UrlError."""
    if not isinstance(value, str):
        raise UrlError("must be a URL string")
    if not value:
        raise UrlError("is empty; give a URL such as https://mirror.example.com/path")
    if len(value) > MAX_URL:
        raise UrlError(f"is longer than {MAX_URL} characters")
    bad = next((ch for ch in value if ch not in _ALLOWED), None)
    if bad is not None and not bad.isascii() and bad.isprintable():  # e.g. a Greek omicron posing as an "o"
        raise UrlError(
            f"contains the non-ASCII character {bad!r}; write a host name in its ASCII "
            "(IDNA, xn--) form and percent-encode anything else"
        )
    if bad is not None:
        raise UrlError(
            f"contains {_describe(bad)}; a URL may hold only RFC 3986 characters (percent-encode "
            "anything else) and no quotes"
        )
    if _BAD_ESCAPE.search(value):
        raise UrlError("has a % that does not start a percent escape (%XX)")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise UrlError(f"is not a valid URL ({exc})") from None
    want = " or ".join(f"{s}://" for s in schemes)
    # Lowercase, as provision.sh's own HTTPS-only check (`case $url in https://*`) expects.
    if not any(value.startswith(f"{s}://") for s in schemes):
        raise UrlError(f"must be an {want} URL")
    if "@" in parts.netloc:
        raise UrlError("must not hold a user name or password (user@host); give credentials no place in a URL")
    host = parts.hostname or ""
    if not host:
        raise UrlError("has no host; write it as https://host/path")
    if parts.netloc.startswith("["):
        if not parts.netloc.lower().startswith(f"[{host}]"):
            raise UrlError("has a malformed IPv6 host")
    if not valid_host(host):
        raise UrlError(f"has host {host!r}, which is not a DNS name or an IP address")
    if port is None and parts.netloc.endswith(":"):
        raise UrlError("has an empty port after ':'")
    if port == 0:
        raise UrlError("has port 0")
    if "[" in parts.path or "]" in parts.path:
        raise UrlError("has [ or ] outside an IPv6 host")
    if parts.query or "?" in value:
        raise UrlError("must not have a query (?...); give the plain URL of the file or folder")
    if parts.fragment or "#" in value:
        raise UrlError("must not have a fragment (#...)")
    return value
