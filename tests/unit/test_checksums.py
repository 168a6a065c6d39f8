from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aks_jumpbox.core.checksums import ChecksumFileError, find_sha256

names = st.from_regex(r"[a-z][a-z0-9_.-]{2,30}", fullmatch=True)
digests = st.binary(min_size=1, max_size=8).map(lambda b: hashlib.sha256(b).hexdigest())


@given(st.dictionaries(names, digests, min_size=1, max_size=8), st.data())
def test_sha256sum_lines_find_exactly_the_named_file(entries, data):
    text = "".join(f"{d}  {n}\n" for n, d in entries.items())
    name = data.draw(st.sampled_from(sorted(entries)))
    assert find_sha256(text, "sha256sum", name) == entries[name]


@given(st.dictionaries(names, digests, min_size=1, max_size=5), names)
def test_sha256sum_missing_file_is_an_error(entries, other):
    if other in entries:
        return
    text = "".join(f"{d}  {n}\n" for n, d in entries.items())
    with pytest.raises(ChecksumFileError, match="does not list"):
        find_sha256(text, "sha256sum", other)


def test_binary_mode_marker_and_bare_format():
    d = hashlib.sha256(b"x").hexdigest()
    assert find_sha256(f"{d} *kubelogin-linux-amd64.zip\n", "sha256sum", "kubelogin-linux-amd64.zip") == d
    assert find_sha256(d.upper() + "\n", "bare", "kubectl") == d
    with pytest.raises(ChecksumFileError):
        find_sha256("not a digest\n", "bare", "kubectl")


def test_conflicting_duplicates_are_refused():
    a, b = hashlib.sha256(b"a").hexdigest(), hashlib.sha256(b"b").hexdigest()
    with pytest.raises(ChecksumFileError, match="more than once"):
        find_sha256(f"{a}  f\n{b}  f\n", "sha256sum", "f")


def test_yq_multi_hash_table_uses_the_order_file():
    sha256 = hashlib.sha256(b"yq").hexdigest()
    sha3 = hashlib.sha3_256(b"yq").hexdigest()  # same length: only the order file tells them apart
    order = "CRC32\nMD5\nSHA-1\nSHA-256\nSHA-512\nSHA3-256\n"
    md5, sha1, sha512 = (
        hashlib.md5(b"yq").hexdigest(),
        hashlib.sha1(b"yq").hexdigest(),
        hashlib.sha512(b"yq").hexdigest(),
    )
    text = f"yq_linux_amd64  1a2b3c4d {md5} {sha1} {sha256} {sha512} {sha3}\nyq_linux_arm64  0 {md5} {sha1} {sha3} {sha512} {sha256}\n"  # noqa: E501 - literal data
    assert find_sha256(text, "yq-multi", "yq_linux_amd64", order) == sha256
    assert find_sha256(text, "yq-multi", "yq_linux_arm64", order) == sha3
    with pytest.raises(ChecksumFileError):
        find_sha256(text, "yq-multi", "yq_linux_amd64", None)
