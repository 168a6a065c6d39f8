"""--resolve HOST:PORT:ADDRESS for host-side fetches (adapters/http.py), on a loopback HTTPS mirror served
under a name this machine does not resolve (.test is reserved, RFC 6761) with a throw-away CA: the TCP
connection goes to the address, TLS still names the host (SNI and the certificate check are the host's).
"""

from __future__ import annotations

import io

import pytest

from aks_jumpbox.adapters import http
from aks_jumpbox.core.errors import Unreachable
from tests.integration.test_base_images import DISK, try_inputs
from tests.rootfs.harness.mirror import Mirror

HOST = "mirror.aks-jumpbox.test"  # the one name (besides 127.0.0.1 and localhost) the certificate covers
BODY = b"served under the mirror's name\n"


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    with Mirror(tmp_path / "www", host=HOST) as m:
        (m.root / "file.txt").write_bytes(BODY)
        ca = tmp_path / "ca.pem"
        ca.write_text(m.ca_pem)
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))
        # a fresh process's view of which hosts answered: the unresolvable name is tried below
        monkeypatch.setattr(http, "_answered", set())
        monkeypatch.setattr(http, "_first_unreachable", [])
        yield m


def test_a_name_that_does_not_resolve_is_fetched_through_resolve(mirror):
    with pytest.raises(Unreachable, match="does not resolve"):
        http.fetch_text(mirror.url("file.txt"), attempts=1)
    http._first_unreachable.clear()  # the memo of the miss above would refuse the next try at once
    got = http.fetch_text(mirror.url("file.txt"), attempts=1, resolve={(HOST, mirror.port): "127.0.0.1"})
    assert got == BODY.decode()
    out = io.BytesIO()
    digest = http.fetch_file(mirror.url("file.txt"), out, attempts=1, resolve={(HOST, mirror.port): "127.0.0.1"})
    assert out.getvalue() == BODY and digest == __import__("hashlib").sha256(BODY).hexdigest()
    assert mirror.requests("/file.txt") == [("/file.txt", 200), ("/file.txt", 200)]


def test_resolve_keeps_the_certificate_check_for_the_name(mirror):
    """A name the certificate does not cover fails verification although it connects to the right server."""
    other = "other.aks-jumpbox.test"
    url = f"https://{other}:{mirror.port}/file.txt"
    with pytest.raises(http.FetchError, match="(?i)certificate"):
        http.fetch_text(url, attempts=1, resolve={(other, mirror.port): "127.0.0.1"})
    assert mirror.requests() == []  # no request got past the handshake


def test_resolve_keeps_trust_in_the_ca(mirror, monkeypatch, tmp_path):
    """The right name, but a CA this process does not trust: refused."""
    stranger = tmp_path / "stranger.pem"
    stranger.write_text(Mirror(tmp_path / "unused").ca_pem)
    monkeypatch.setenv("SSL_CERT_FILE", str(stranger))
    with pytest.raises(http.FetchError, match="(?i)certificate"):
        http.fetch_text(mirror.url("file.txt"), attempts=1, resolve={(HOST, mirror.port): "127.0.0.1"})


def test_resolve_applies_to_its_host_and_port_only(mirror):
    """A map for another port or host leaves the name to DNS, which does not know it."""
    with pytest.raises(Unreachable, match="does not resolve"):
        http.fetch_text(mirror.url("file.txt"), attempts=1, resolve={(HOST, mirror.port + 1): "127.0.0.1"})


def _try_inputs(tmp_path, mirror, default_data, monkeypatch):
    """A spec in mirror mode on the mirror's name, a lock pinning an image the mirror serves, an empty cache."""
    return try_inputs(tmp_path, mirror.root / "m", mirror.url("m"), default_data, monkeypatch)


def test_try_downloads_the_locked_base_image_through_resolve(tmp_path, mirror, default_data, monkeypatch):
    """try's base disk without --base-disk: from the mirror named in the spec, reached through --resolve."""
    from aks_jumpbox.cli.commands.try_ import _pinned_base_disk

    pin, inputs, plan = _try_inputs(tmp_path, mirror, default_data, monkeypatch)
    disk = _pinned_base_disk(inputs, plan, resolve={(HOST, mirror.port): "127.0.0.1"})
    assert disk.read_bytes() == DISK
    assert mirror.requests() == [(f"/m/{pin.mirror_path}", 200)]


def test_try_without_resolve_does_not_reach_the_unresolvable_mirror(tmp_path, mirror, default_data, monkeypatch):
    from aks_jumpbox.cli.commands.try_ import _pinned_base_disk

    pin, inputs, plan = _try_inputs(tmp_path, mirror, default_data, monkeypatch)
    with pytest.raises(Unreachable):
        _pinned_base_disk(inputs, plan)
    assert mirror.requests() == []
    assert not list((tmp_path / "xdg" / "aks-jumpbox" / "images").glob("*.qcow2"))
