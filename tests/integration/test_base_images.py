"""Base cloud images end to end on 127.0.0.1: `lock` resolving them from a loopback HTTPS mirror (and from a
publisher-shaped loopback folder listing), `mirror sync` copying one, and the local cache by digest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from aks_jumpbox.adapters import http
from aks_jumpbox.adapters.imagecache import ensure_base_image
from aks_jumpbox.core.baseimages import BaseImagePin, load_base_images
from aks_jumpbox.core.catalog import load_catalog
from aks_jumpbox.core.errors import OperationFailed
from aks_jumpbox.core.lock import Lock, LockedBaseImage, load_lock
from aks_jumpbox.core.resolve import DigestRefused, resolve_base_images
from aks_jumpbox.core.spec import load_spec
from tests.conftest import run_cli, variant
from tests.integration.test_lock_online import TOOLS, _publish
from tests.support.https_server import StaticHttps

DATA = load_base_images()
NOBLE, BOOKWORM = DATA.images["ubuntu-24.04"], DATA.images["debian-12"]
DISK = b"QFI\xfb" + b"not really a qcow2 disk, but bytes with a digest " * 2000


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _pin(release: str = "20260926", data: bytes = DISK) -> BaseImagePin:
    url = NOBLE.image_url(release, "amd64")
    return BaseImagePin("ubuntu-24.04", "amd64", release, url, _sha256(data), url.rsplit("/", 1)[1], "qcow2")


def _serve(root: Path, pin: BaseImagePin, data: bytes = DISK) -> Path:
    """The image in the mirror layout under root; returns its path."""
    path = root / pin.mirror_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def https(tmp_path, monkeypatch):
    with StaticHttps(tmp_path / "www", tmp_path) as srv:
        monkeypatch.setenv("SSL_CERT_FILE", str(srv.ca_file))
        yield srv


# --- the cache -------------------------------------------------------------------------------------------


def test_a_miss_downloads_from_the_mirror_verifies_and_a_hit_needs_no_network(tmp_path, https):
    pin, cache = _pin(), tmp_path / "cache"
    _serve(tmp_path / "www" / "m", pin)
    path = ensure_base_image(pin, mirror_base_url=f"{https.url}/m", cache_dir=cache)
    assert path == cache / f"{pin.sha256}.qcow2" and path.read_bytes() == DISK
    assert not path.stat().st_mode & 0o222  # read-only: `try` only ever reads it (as a backing file)

    def no_network(url, out):
        raise AssertionError(f"a hit fetched {url}")

    assert ensure_base_image(pin, mirror_base_url=f"{https.url}/m", cache_dir=cache, fetch=no_network) == path
    assert sorted(p.name for p in cache.iterdir()) == [path.name, f"{path.name}.verified"]


def test_a_tampered_cache_file_is_rehashed_and_replaced_by_a_fresh_download(tmp_path, https):
    pin, cache = _pin(), tmp_path / "cache"
    _serve(tmp_path / "www" / "m", pin)
    path = ensure_base_image(pin, mirror_base_url=f"{https.url}/m", cache_dir=cache)
    path.chmod(0o644)
    path.write_bytes(DISK[:-1] + b"!")  # same size, new content: the stamp no longer matches
    fetched = []

    def counting(url, out):
        fetched.append(url)
        return http.fetch_file(url, out)

    assert ensure_base_image(pin, mirror_base_url=f"{https.url}/m", cache_dir=cache, fetch=counting) == path
    assert path.read_bytes() == DISK and fetched == [f"{https.url}/m/{pin.mirror_path}"]


def test_a_tampered_download_is_refused_naming_url_and_both_digests_and_nothing_is_cached(tmp_path, https):
    pin, cache = _pin(), tmp_path / "cache"
    _serve(tmp_path / "www" / "m", pin, DISK + b"x")
    with pytest.raises(OperationFailed) as exc:
        ensure_base_image(pin, mirror_base_url=f"{https.url}/m", cache_dir=cache)
    message = str(exc.value)
    assert f"{https.url}/m/{pin.mirror_path}: SHA-256 mismatch" in message
    assert f"expected {pin.sha256}" in message and f"got {_sha256(DISK + b'x')}" in message
    assert list(cache.iterdir()) == []


def test_a_download_that_breaks_off_or_runs_too_long_leaves_nothing(tmp_path, https):
    pin, cache = _pin(), tmp_path / "cache"

    def broken(url, out):
        out.write(DISK[:1000])
        raise ConnectionResetError("connection reset by peer")

    with pytest.raises(OperationFailed, match="connection reset by peer.*nothing was cached"):
        ensure_base_image(pin, mirror_base_url=None, cache_dir=cache, fetch=broken)
    assert list(cache.iterdir()) == []
    _serve(tmp_path / "www" / "m", pin)
    with pytest.raises(OperationFailed, match="larger than 4096 bytes; not a base image"):
        ensure_base_image(pin, mirror_base_url=f"{https.url}/m", cache_dir=cache, max_bytes=4096)
    assert list(cache.iterdir()) == []


def test_without_a_mirror_the_publishers_url_is_fetched_and_plain_http_is_refused(tmp_path):
    pin = _pin()
    seen = []

    def fake(url, out):
        seen.append(url)
        out.write(DISK)
        return _sha256(DISK)

    ensure_base_image(pin, mirror_base_url=None, cache_dir=tmp_path / "c", fetch=fake)
    assert seen == [pin.url]
    with pytest.raises(OperationFailed, match="only https:// URLs are fetched"):
        ensure_base_image(_pin(data=b"other"), mirror_base_url="http://127.0.0.1:1/m", cache_dir=tmp_path / "c")


# --- lock ------------------------------------------------------------------------------------------------


def _entry(image, release: str, arch: str, sha256: str | None, sha512: str | None = None) -> dict:
    return LockedBaseImage(
        release=release,
        url=image.image_url(release, arch),
        sha256=sha256,
        checksum_url=image.checksum_url(release),
        sha512=sha512,
        source="test",
    ).to_json()


def _lock_setup(tmp_path, default_data, srv, base: str, entries: dict) -> Path:
    """A spec in mirror mode on base, the tools' checksum files in the mirror, and a lock that already pins
    base's release (a mirror has no folder listing: the release comes from the lock)."""
    _publish(tmp_path / "www" / "m", TOOLS)
    spec = tmp_path / "jumpbox.yaml"
    data = variant(default_data, tools=TOOLS, base_image=base, mirror={"artifacts": f"{srv.url}/m"})
    spec.write_text(yaml.safe_dump(data))
    lock = {"schema": "aks-jumpbox/lock/v1", "tools": {}, "baseImages": {base: entries}}
    (tmp_path / "jumpbox.lock.json").write_text(json.dumps(lock))
    return spec


def test_lock_confirms_an_ubuntu_image_from_the_mirrors_sha256sums_and_refuses_a_changed_digest(tmp_path, default_data):
    sums = tmp_path / "www" / "m" / "base-images" / "ubuntu-24.04" / "20260926" / "amd64" / "SHA256SUMS"
    sums.parent.mkdir(parents=True)
    sums.write_text(f"{'1' * 64} *ubuntu-24.04-server-cloudimg-arm64.img\n{_sha256(DISK)} *{_pin().file_name}\n")
    with StaticHttps(tmp_path / "www", tmp_path) as srv:
        spec = _lock_setup(
            tmp_path, default_data, srv, "ubuntu-24.04", {"amd64": _entry(NOBLE, "20260926", "amd64", None)}
        )
        env = {"SSL_CERT_FILE": str(srv.ca_file)}
        result = run_cli("lock", "-f", str(spec), env=env)
        assert result.returncode == 0, result.stderr
        written = json.loads((tmp_path / "jumpbox.lock.json").read_text())["baseImages"]["ubuntu-24.04"]
        assert written["amd64"]["sha256"] == _sha256(DISK) and written["amd64"]["release"] == "20260926"
        assert written["amd64"]["url"] == _pin().url, "the lock keeps the publisher's URL"
        assert (
            written["amd64"]["source"] == f"checksum-file {srv.url}/m/{_pin().mirror_path.rsplit('/', 1)[0]}/SHA256SUMS"
        )
        # arm64's checksum file is not in the mirror: a note and a null digest, not a failed lock
        assert written["arm64"]["sha256"] is None and written["arm64"]["source"].startswith("unconfirmed: GET")
        assert f"base image ubuntu-24.04 20260926 amd64: sha256 {_sha256(DISK)}" in result.stdout
        assert "base image ubuntu-24.04 20260926 arm64: no digest" in result.stdout

        before = (tmp_path / "jumpbox.lock.json").read_text()
        sums.write_text(f"{'f' * 64} *{_pin().file_name}\n")
        again = run_cli("lock", "-f", str(spec), env=env)
        assert again.returncode == 1 and "base image ubuntu-24.04 20260926 (amd64)" in again.stderr
        assert f"now gives {'f' * 64}, but the lock has {_sha256(DISK)} for the same URL" in again.stderr
        assert (tmp_path / "jumpbox.lock.json").read_text() == before


def test_lock_hashes_a_debian_image_once_from_the_mirror_and_checks_its_sha512(tmp_path, default_data):
    release = "20260909-2596"
    pin = BaseImagePin("debian-12", "amd64", release, BOOKWORM.image_url(release, "amd64"), "0" * 64, "x", "qcow2")
    image = _serve(tmp_path / "www" / "m", pin)
    sha512 = hashlib.sha512(DISK).hexdigest()
    sums = image.parent / "SHA512SUMS"
    sums.write_text(f"{sha512}  {image.name}\n")
    entries = {"amd64": _entry(BOOKWORM, release, "amd64", None, sha512)}  # as the embedded lock has it
    with StaticHttps(tmp_path / "www", tmp_path) as srv:
        spec = _lock_setup(tmp_path, default_data, srv, "debian-12", entries)
        env = {"SSL_CERT_FILE": str(srv.ca_file)}
        result = run_cli("lock", "-f", str(spec), env=env)
        assert result.returncode == 0, result.stderr
        amd64 = json.loads((tmp_path / "jumpbox.lock.json").read_text())["baseImages"]["debian-12"]["amd64"]
        assert amd64["sha256"] == _sha256(DISK) and amd64["sha512"] == sha512
        assert f"sha256 computed from the image downloaded from {srv.url}/m/{pin.mirror_path}" in amd64["source"]

        # The image changed under the same name: its SHA-512 no longer matches SHA512SUMS.
        image.write_bytes(DISK + b"!")
        (tmp_path / "jumpbox.lock.json").write_text(
            json.dumps({"schema": "aks-jumpbox/lock/v1", "baseImages": {"debian-12": entries}})
        )
        bad = run_cli("lock", "-f", str(spec), env=env)
        assert bad.returncode == 1 and f"has SHA-512 {hashlib.sha512(DISK + b'!').hexdigest()}" in bad.stderr
        assert f"lists {sha512}; refusing to lock it" in bad.stderr


def test_without_a_locked_release_lock_picks_the_newest_in_the_publishers_listing(tmp_path, https):
    """The publisher's folder (listing and SHA256SUMS) stands on the loopback server; fetch_text maps the
    publisher's URLs there, the way a proxy would, and the real HTTPS client reads them."""
    root = tmp_path / "www" / "up" / "releases" / "noble"
    for release, data in (("20260911", b"older"), ("20260926", DISK)):
        (root / f"release-{release}").mkdir(parents=True)
        (root / f"release-{release}" / "SHA256SUMS").write_text(f"{_sha256(data)} *{_pin().file_name}\n")
    (root / "current").mkdir()

    def via_loopback(url: str) -> str:
        return http.fetch_text(url.replace("https://cloud-images.ubuntu.com/", f"{https.url}/up/"), attempts=1)

    spec, _ = load_spec(None, load_catalog())
    bases, notes = resolve_base_images(spec, Lock(), via_loopback, None)
    assert bases["amd64"].release == "20260926" and bases["amd64"].sha256 == _sha256(DISK)
    assert bases["arm64"].sha256 is None and any("arm64: no digest" in n for n in notes)
    # A re-lock keeps the locked release; --upgrade moves to the newest.
    older = _with(bases["amd64"], release="20260911", sha256=_sha256(b"older"))
    assert resolve_base_images(spec, older, via_loopback, None)[0]["amd64"].release == "20260911"
    assert resolve_base_images(spec, older, via_loopback, None, upgrade=True)[0]["amd64"].release == "20260926"
    # The same URL with another digest is refused, never softened into a note.
    changed = _with(bases["amd64"], release="20260926", sha256="e" * 64)
    with pytest.raises(DigestRefused, match="now gives"):
        resolve_base_images(spec, changed, via_loopback, None)


def _with(entry: LockedBaseImage, *, release: str, sha256: str) -> Lock:
    """A lock holding entry moved to release (its URLs follow) with sha256."""
    url, sums = NOBLE.image_url(release, "amd64"), NOBLE.checksum_url(release)
    moved = entry.model_copy(update={"release": release, "url": url, "checksum_url": sums, "sha256": sha256})
    return Lock().with_base_image("ubuntu-24.04", "amd64", moved)


def test_an_unreachable_publisher_keeps_what_the_lock_had_with_a_note(tmp_path):
    spec, _ = load_spec(None, load_catalog())
    lock, _ = load_lock(None, load_catalog())

    def offline(url: str) -> str:
        raise http.FetchError(f"GET {url} failed after 1 attempt(s): no route")

    bases, notes = resolve_base_images(spec, lock, offline, None)
    assert bases == lock.base_images["ubuntu-24.04"]
    assert notes == [
        f"base image ubuntu-24.04 20260926 {a}: not re-confirmed (GET {NOBLE.checksum_url('20260926')} failed after "
        "1 attempt(s): no route); kept the locked entry"
        for a in ("amd64", "arm64")
    ]


# --- mirror sync -----------------------------------------------------------------------------------------


def test_mirror_sync_copies_the_pinned_base_image_and_its_checksum_file(tmp_path, default_data):
    pin = _pin()
    image = _serve(tmp_path / "www" / "m", pin)
    (image.parent / "SHA256SUMS").write_text(f"{pin.sha256} *{pin.file_name}\n")
    spec = tmp_path / "jumpbox.yaml"
    spec.write_text(yaml.safe_dump(variant(default_data, tools={"helm": "4.3.0"})))
    lock = {
        "schema": "aks-jumpbox/lock/v1",
        "baseImages": {"ubuntu-24.04": {"amd64": _entry(NOBLE, "20260926", "amd64", pin.sha256)}},
    }
    (tmp_path / "jumpbox.lock.json").write_text(json.dumps(lock))
    out = tmp_path / "mirror"
    with StaticHttps(tmp_path / "www", tmp_path) as srv:
        env = {"SSL_CERT_FILE": str(srv.ca_file)}
        without = run_cli("mirror", "sync", "-f", str(spec), "--to", str(out), "--from", f"{srv.url}/m", env=env)
        assert not (out / pin.mirror_path).exists(), without.stderr  # the image is opt-in: --base-image
        sync = ("mirror", "sync", "-f", str(spec), "--to", str(out), "--from", f"{srv.url}/m", "--base-image")
        result = run_cli(*sync, env=env)
        assert result.returncode == 0, result.stderr
        assert (out / pin.mirror_path).read_bytes() == DISK
        assert (out / pin.mirror_path).with_name("SHA256SUMS").is_file()
        (listed,) = json.loads((out / "aks-jumpbox-mirror.json").read_text())["artifacts"]
        assert listed["path"] == pin.mirror_path and listed["sha256"] == pin.sha256
        # The filled mirror serves the cache exactly as `try` will use it.
        image.write_bytes(b"the source changed after the sync")
        cached = ensure_base_image(
            pin, mirror_base_url=None, cache_dir=tmp_path / "cache", fetch=_from_folder(out, pin)
        )
        assert cached.read_bytes() == DISK

        image.write_bytes(DISK + b"tampered")
        (out / pin.mirror_path).unlink()
        bad = run_cli(*sync, env=env)
        assert bad.returncode == 1 and "SHA-256 mismatch" in bad.stderr
        assert not (out / pin.mirror_path).exists()


def _from_folder(folder: Path, pin: BaseImagePin):
    def fetch(url, out):
        data = (folder / pin.mirror_path).read_bytes()
        out.write(data)
        return _sha256(data)

    return fetch


# --- try's base disk -------------------------------------------------------------------------------------


def try_inputs(tmp_path, served: Path, artifacts_url: str, default_data, monkeypatch):
    """What `try` gets without --base-disk: a spec in mirror mode (artifacts_url), a lock pinning an image the
    mirror serves (from the folder served), an empty cache under XDG_CACHE_HOME. Returns (pin, inputs, plan)."""
    from types import SimpleNamespace

    pin = _pin()
    _serve(served, pin)
    spec_path = tmp_path / "jumpbox.yaml"
    spec_path.write_text(yaml.safe_dump(variant(default_data, mirror={"artifacts": artifacts_url})))
    doc = {
        "schema": "aks-jumpbox/lock/v1",
        "baseImages": {"ubuntu-24.04": {"amd64": _entry(NOBLE, pin.release, "amd64", pin.sha256)}},
    }
    (tmp_path / "jumpbox.lock.json").write_text(json.dumps(doc))
    catalog = load_catalog()
    spec, _ = load_spec(spec_path, catalog)
    lock, label = load_lock(tmp_path / "jumpbox.lock.json", catalog)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return pin, SimpleNamespace(lock=lock, lock_label=label), SimpleNamespace(spec=spec)


def test_try_takes_the_locked_base_image_from_the_mirror_into_its_cache(tmp_path, https, default_data, monkeypatch):
    """The glue `try` runs without --base-disk: the lock's pin for the spec's base, read through the mirror
    (mirror mode), verified and cached under XDG_CACHE_HOME; the VM tests pass --base-disk, so this is it."""
    from aks_jumpbox.cli.commands.try_ import _pinned_base_disk

    pin, inputs, plan = try_inputs(tmp_path, tmp_path / "www" / "m", f"{https.url}/m", default_data, monkeypatch)
    disk = _pinned_base_disk(inputs, plan)
    assert disk == tmp_path / "xdg" / "aks-jumpbox" / "images" / f"{pin.sha256}.qcow2"
    assert disk.read_bytes() == DISK
    served = tmp_path / "www" / "m" / pin.mirror_path
    served.write_bytes(DISK + b"tampered")  # a second try reads the cache, not the mirror
    assert _pinned_base_disk(inputs, plan) == disk
