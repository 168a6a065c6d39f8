"""Base cloud images as locked artifacts: the data, the publishers' checksum files, the lock section, the pin
`try` boots and the mirror items."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from aks_jumpbox.core.baseimages import (
    SAME_RELEASE_NOTE,
    base_image_entry,
    find_sha512,
    load_base_images,
    parse_base_images,
)
from aks_jumpbox.core.catalog import ARCHES, load_catalog, url_host
from aks_jumpbox.core.checksums import ChecksumFileError, find_sha256
from aks_jumpbox.core.errors import SpecError
from aks_jumpbox.core.lock import default_lock_text, parse_lock
from aks_jumpbox.core.mirror import mirror_items
from aks_jumpbox.core.spec import load_spec

CATALOG = load_catalog()
DATA = load_base_images()
FIXTURES = Path(__file__).parents[1] / "data" / "baseimages"
NOBLE_SUMS = (FIXTURES / "ubuntu-noble-SHA256SUMS").read_text()
BOOKWORM_SUMS = (FIXTURES / "debian-bookworm-SHA512SUMS").read_text()


def _lock_doc() -> dict:
    return json.loads(default_lock_text())


def _parse(doc: dict):
    return parse_lock(doc, "jumpbox.lock.json", CATALOG)


def _problems(doc: dict) -> str:
    with pytest.raises(SpecError) as exc:
        _parse(doc)
    return str(exc.value)


def test_every_base_image_of_the_catalog_has_its_cloud_image_on_its_listed_hosts():
    assert set(DATA.images) == set(CATALOG.base_images)
    for key, image in DATA.images.items():
        assert set(image.arch) <= set(ARCHES) and image.format == "qcow2"
        release = "20260926" if key.startswith("ubuntu") else "20260909-2596"
        for arch in image.arch:
            assert url_host(image.image_url(release, arch)) in image.hosts
        assert url_host(image.checksum_url(release)) in image.hosts
    noble = DATA.images["ubuntu-24.04"]
    assert noble.image_url("20260926", "arm64") == (
        "https://cloud-images.ubuntu.com/releases/noble/release-20260926/ubuntu-24.04-server-cloudimg-arm64.img"
    )
    assert DATA.images["debian-12"].image_url("20260909-2596", "amd64") == (
        "https://cloud.debian.org/images/cloud/bookworm/20260909-2596/debian-12-genericcloud-amd64-20260909-2596.qcow2"
    )
    assert "same release" in SAME_RELEASE_NOTE and "not the same image" in SAME_RELEASE_NOTE


def test_a_release_that_is_not_the_publishers_is_refused_before_it_becomes_a_url():
    for bad in ("../20260926", "20260926/../x", "latest", "current", "2026092"):
        with pytest.raises(ValueError, match="is not a release of ubuntu-24.04"):
            DATA.images["ubuntu-24.04"].image_url(bad, "amd64")
    with pytest.raises(ValueError, match="is not a release of debian-12"):
        DATA.images["debian-12"].checksum_url("20260909")


def test_a_broken_data_file_is_a_located_error():
    text = (Path(__file__).parents[2] / "src/aks_jumpbox/data/baseimages.yaml").read_text()
    with pytest.raises(SpecError, match=r"baseimages.yaml:\d+: images.debian-12.url: .*hosts does not list"):
        parse_base_images(text.replace("hosts: [cloud.debian.org]", "hosts: [example.org]"))
    with pytest.raises(SpecError, match=r"images.ubuntu-22.04.url: is not a template.*unknown placeholder"):
        parse_base_images(text.replace("jammy/release-{release}/ubuntu-22.04", "jammy/release-{serial}/ubuntu-22.04"))


def test_the_sha256_of_an_ubuntu_image_is_read_from_sha256sums_by_its_whole_name():
    assert find_sha256(NOBLE_SUMS, "sha256sum", "ubuntu-24.04-server-cloudimg-amd64.img") == (
        "0533b0655c32e68b31d792ecd6ccfca95abdbc536c4446874fe0513bd4140ffe"
    )
    assert find_sha256(NOBLE_SUMS, "sha256sum", "ubuntu-24.04-server-cloudimg-arm64.img").startswith("aa6da057")
    with pytest.raises(ChecksumFileError, match="does not list"):  # a prefix of a dozen names is none of them
        find_sha256(NOBLE_SUMS, "sha256sum", "ubuntu-24.04-server-cloudimg-amd64")


def test_the_sha512_of_a_debian_image_is_read_from_sha512sums_and_a_sha256sum_reader_finds_none():
    name = "debian-12-genericcloud-amd64-20260909-2596.qcow2"
    assert find_sha512(BOOKWORM_SUMS, name).startswith("08fea112563461f2")
    with pytest.raises(ChecksumFileError, match="does not list"):
        find_sha512(BOOKWORM_SUMS, "debian-12-genericcloud-arm64-20260909-2596.qcow2")
    with pytest.raises(ChecksumFileError, match="does not list"):  # 128 hex digits are not a SHA-256
        find_sha256(BOOKWORM_SUMS, "sha256sum", name)
    twice = BOOKWORM_SUMS + f"{'0' * 128}  {name}\n"
    with pytest.raises(ChecksumFileError, match="more than once"):
        find_sha512(twice, name)


def test_the_newest_release_is_read_from_the_publishers_folder_listing():
    listing = (
        '<a href="release-20260911/">release-20260911/</a> <a href="release-20260926/">release-20260926/</a>\n'
        '<a href="release-20240523.1/">x</a> <a href="current/">current/</a> <a href="xrelease-20991231/">no</a>'
    )
    assert DATA.images["ubuntu-24.04"].releases_in(listing)[-1] == "20260926"
    debian = '<a href="20260909-2596/">20260909-2596/</a><a href="20260101-2400/">x</a><a href="latest/">latest/</a>'
    assert DATA.images["debian-12"].releases_in(debian) == ["20260101-2400", "20260909-2596"]
    assert DATA.images["debian-12"].releases_in("<html>nothing</html>") == []


def test_the_default_lock_pins_base_images_and_try_gets_a_pin_only_for_a_confirmed_digest():
    lock = _parse(_lock_doc())
    pin = base_image_entry(lock, "ubuntu-24.04", "amd64")
    assert pin is not None and pin.format == "qcow2" and pin.release == "20260926"
    assert pin.sha256 == "6a81c37564db9b1ee84e141922625e1d7c5b389b99bb3c572e0243607d5bb4d2"
    assert pin.file_name == "ubuntu-24.04-server-cloudimg-amd64.img"
    assert pin.mirror_path == "base-images/ubuntu-24.04/20260926/amd64/ubuntu-24.04-server-cloudimg-amd64.img"
    assert pin.mirror_url("https://m.example/tools/") == "https://m.example/tools/" + pin.mirror_path
    assert base_image_entry(lock, "ubuntu-24.04", "arm64") is None  # unconfirmed: null with a reason
    assert lock.base_images["ubuntu-24.04"]["arm64"].source.startswith("unconfirmed:")
    debian = lock.base_images["debian-12"]["amd64"]
    assert debian.sha256 is None and debian.sha512 and debian.sha512.startswith("08fea112")
    assert base_image_entry(lock, "debian-12", "amd64") is None
    assert base_image_entry(lock, "ubuntu-20.04", "amd64") is None
    assert json.loads(lock.dumps()) == _lock_doc()  # written back exactly as read


def test_a_lock_written_before_base_images_still_loads_and_says_nothing_of_them():
    doc = _lock_doc()
    del doc["baseImages"]
    lock = _parse(doc)
    assert lock.base_images == {} and base_image_entry(lock, "ubuntu-24.04", "amd64") is None
    assert "baseImages" not in json.loads(lock.dumps())
    assert _parse({**doc, "baseImages": None}).base_images == {}


def test_a_base_image_entry_that_is_not_the_publishers_is_refused_at_its_field():
    doc = _lock_doc()
    bases = doc["baseImages"]
    bases["ubuntu-24.04"]["amd64"]["url"] = "https://evil.example/ubuntu-24.04-server-cloudimg-amd64.img"
    bases["ubuntu-22.04"]["amd64"]["release"] = "../x"
    bases["ubuntu-22.04"]["arm64"]["release"] = "20260914"  # a release the URLs do not name
    bases["debian-12"]["amd64"]["sha512"] = "abc"
    bases["debian-12"]["riscv64"] = {}
    bases["fedora-44"] = {}
    bases["ubuntu-24.04"]["arm64"]["extra"] = 1
    problems = _problems(doc)
    assert "baseImages.ubuntu-24.04.amd64.url: is not https://cloud-images.ubuntu.com/releases/noble/" in problems
    assert "baseImages.ubuntu-22.04.amd64.release: must be the publisher's release name" in problems
    assert "baseImages.ubuntu-22.04.arm64.url: is not" in problems and "release-20260914" in problems
    assert "baseImages.debian-12.amd64.sha512: must be 128 lowercase hex digits or null" in problems
    assert "baseImages.debian-12.riscv64: Debian publishes debian-12 for amd64, arm64 only" in problems
    assert "baseImages.fedora-44: is not a base image" in problems
    assert "baseImages.ubuntu-24.04.arm64.extra: is not a lock field (allowed: release, url" in problems


def test_a_mirror_copy_of_a_base_image_is_accepted_when_url_and_checksum_share_the_mirror():
    doc = _lock_doc()
    entry = doc["baseImages"]["ubuntu-24.04"]["amd64"]
    m = "https://mirror.contoso.internal/tools/base-images/ubuntu-24.04/20260926/amd64"
    entry["url"], entry["checksumUrl"] = f"{m}/ubuntu-24.04-server-cloudimg-amd64.img", f"{m}/SHA256SUMS"
    assert _parse(copy.deepcopy(doc)).base_images["ubuntu-24.04"]["amd64"].url.startswith(m)
    entry["checksumUrl"] = "https://other.example/base-images/ubuntu-24.04/20260926/amd64/SHA256SUMS"
    assert "baseImages.ubuntu-24.04.amd64.checksumUrl: is not" in _problems(doc)


def test_mirror_items_include_the_specs_confirmed_base_images():
    lock = _parse(_lock_doc())
    spec, _ = load_spec(None, CATALOG)  # the default spec: ubuntu-24.04
    assert not [i for i in mirror_items(spec, lock, CATALOG) if i.path.startswith("base-images/")]  # opt-in
    items = [i for i in mirror_items(spec, lock, CATALOG, base_images=True) if i.path.startswith("base-images/")]
    assert [(i.tool, i.arch, i.path, i.checksum_path, i.checksum_format) for i in items] == [
        (
            "ubuntu-24.04",
            "amd64",
            "base-images/ubuntu-24.04/20260926/amd64/ubuntu-24.04-server-cloudimg-amd64.img",
            "base-images/ubuntu-24.04/20260926/amd64/SHA256SUMS",
            "sha256sum",
        )
    ]  # arm64 is unconfirmed, and only the spec's base image is mirrored
