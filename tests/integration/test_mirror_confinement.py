"""`mirror sync` stays inside --to and --from whatever names reach it, and nothing unverified becomes
visible. MirrorItems are built directly: this is the defence that holds even if a hostile lock URL
decoded to `../../etc/x` or `/abs` got past the catalog checks."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat

import pytest

from aks_jumpbox.core.errors import OperationFailed, UserError
from aks_jumpbox.core.mirror import MirrorItem
from aks_jumpbox.core.mirrorsync import Source, check_items, sync_item
from tests.conftest import run_cli
from tests.integration.test_mirror_sync import synced_once
from tests.unit.test_files import tree

BODY = b"artifact bytes\n" * 100
SHA = hashlib.sha256(BODY).hexdigest()
NAME = "tool-linux-amd64.tar.gz"


def item(
    path=f"tool/1.0.0/amd64/{NAME}", checksum_path="tool/1.0.0/amd64/sha256sums.txt", sha256=None, order_path=None
):
    return MirrorItem(
        tool="tool",
        version="1.0.0",
        arch="amd64",
        upstream_url=f"https://example.invalid/{NAME}",
        path=path,
        sha256=sha256,
        checksum_upstream_url="https://example.invalid/sha256sums.txt",
        checksum_path=checksum_path,
        checksum_format="sha256sum",
        order_upstream_url="https://example.invalid/order" if order_path else None,
        order_path=order_path,
    )


class Upstream:
    """Fake fetch functions: the checksum file lists digest (default: the body's) for NAME."""

    def __init__(self, body: bytes = BODY, digest: str = SHA) -> None:
        self.body, self.digest, self.calls = body, digest, []

    def text(self, url: str) -> str:
        self.calls.append(url)
        return f"{self.digest}  {NAME}\n"

    def file(self, url: str, out) -> str:
        self.calls.append(url)
        out.write(self.body)
        return hashlib.sha256(self.body).hexdigest()


@pytest.fixture
def box(tmp_path):
    """tmp_path/box/{mirror, outside/victim}; tests assert nothing outside tmp_path/box/mirror changes."""
    root = tmp_path / "box"
    (root / "mirror").mkdir(parents=True)
    (root / "outside").mkdir()
    (root / "outside" / "victim").write_text("precious\n")
    return root


def _outside(box):
    return tree(box / "outside")


@pytest.mark.parametrize(
    "field,value",
    [
        ("path", "../../outside/victim"),
        ("path", "tool/../../outside/victim"),
        ("path", "/etc/cron.d/x"),
        ("checksum_path", "../outside/victim"),
        ("checksum_path", "/tmp/x"),
        ("order_path", "tool/1.0.0/../../../x"),
        ("path", "tool/1.0.0/amd64/"),
        ("path", "tool//x"),
    ],
)
def test_a_hostile_mirror_path_is_refused_before_anything_is_read_or_written(box, field, value):
    up = Upstream()
    hostile = item(**{field: value})
    before = tree(box)
    with pytest.raises(UserError, match="not a plain relative path"):
        check_items([item(), hostile], box / "mirror")
    with pytest.raises(UserError, match="not a plain relative path"):
        sync_item(hostile, Source(), box / "mirror", up.text, up.file)
    assert up.calls == [] and tree(box) == before


def test_a_good_item_is_written_and_its_checksum_file_beside_it(box):
    up = Upstream()
    synced = sync_item(item(), Source(), box / "mirror", up.text, up.file)
    assert synced.action == "fetched" and synced.sha256 == SHA
    assert sorted(tree(box / "mirror")) == [
        "tool",
        "tool/1.0.0",
        "tool/1.0.0/amd64",
        "tool/1.0.0/amd64/sha256sums.txt",
        f"tool/1.0.0/amd64/{NAME}",
    ]
    assert sync_item(item(), Source(), box / "mirror", up.text, up.file).action == "up to date"


def test_a_mismatching_artifact_leaves_neither_it_nor_its_checksum_file(box):
    up = Upstream(body=b"tampered")
    with pytest.raises(OperationFailed, match="SHA-256 mismatch"):
        sync_item(item(), Source(), box / "mirror", up.text, up.file)
    assert [p for p, v in tree(box / "mirror").items() if v[0] != stat.S_IFDIR] == []  # folders only: no file, no temp


def test_a_pinned_digest_that_the_checksum_file_contradicts_writes_nothing(box):
    up = Upstream()
    with pytest.raises(OperationFailed, match="the checksum file lists"):
        sync_item(item(sha256="0" * 64), Source(), box / "mirror", up.text, up.file)
    assert tree(box / "mirror") == {}


@pytest.mark.parametrize("planted", [f"tool/1.0.0/amd64/{NAME}", "tool/1.0.0/amd64/sha256sums.txt", "tool/1.0.0"])
def test_a_link_planted_in_the_mirror_is_refused(box, planted):
    victim = box / "outside" / "victim"
    link = box / "mirror" / planted
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(victim.parent if planted == "tool/1.0.0" else victim)
    before = _outside(box)
    up = Upstream()
    with pytest.raises(UserError, match="link"):
        sync_item(item(), Source(), box / "mirror", up.text, up.file)
    assert _outside(box) == before


def test_a_link_to_a_file_with_the_right_digest_is_not_up_to_date(box):
    """The "already in place" check must not read through a link either (and then refuses to write)."""
    (box / "outside" / "victim").write_bytes(BODY)
    dest = box / "mirror" / "tool" / "1.0.0" / "amd64" / NAME
    dest.parent.mkdir(parents=True)
    dest.symlink_to(box / "outside" / "victim")
    up = Upstream()
    with pytest.raises(UserError, match="symbolic link"):
        sync_item(item(), Source(), box / "mirror", up.text, up.file)


def _source_folder(box, artifact: bytes = BODY) -> tuple:
    src = box / "src"
    folder = src / "tool" / "1.0.0" / "amd64"
    folder.mkdir(parents=True)
    (folder / NAME).write_bytes(artifact)
    (folder / "sha256sums.txt").write_text(f"{hashlib.sha256(artifact).hexdigest()}  {NAME}\n")
    return src, folder


def test_from_a_folder_copies_and_verifies(box):
    src, _ = _source_folder(box)
    synced = sync_item(item(), Source(folder=src), box / "mirror", Upstream().text, Upstream().file)
    assert synced.action == "copied" and (box / "mirror" / "tool/1.0.0/amd64" / NAME).read_bytes() == BODY


@pytest.mark.parametrize("which", [NAME, "sha256sums.txt"])
def test_from_a_folder_a_link_out_of_it_is_refused_even_when_the_digest_matches(box, which):
    passwd = open("/etc/passwd", "rb").read()
    src, folder = _source_folder(box, passwd)
    (folder / which).unlink()
    if which == NAME:
        (folder / NAME).symlink_to("/etc/passwd")  # its digest is what the (attacker's) checksum file lists
    else:
        (box / "outside" / "sums").write_text(f"{hashlib.sha256(passwd).hexdigest()}  {NAME}\n")
        (folder / which).symlink_to(box / "outside" / "sums")
    with pytest.raises(UserError, match=f"refusing to read .*{which}: it is a link that leads out of"):
        sync_item(item(), Source(folder=src), box / "mirror", Upstream().text, Upstream().file)
    assert not (box / "mirror" / "tool" / "1.0.0" / "amd64" / NAME).exists()


def test_from_a_folder_a_link_inside_it_is_fine(box):
    src, folder = _source_folder(box)
    shutil.move(folder / NAME, src / "real.tar.gz")
    (folder / NAME).symlink_to(src / "real.tar.gz")
    assert sync_item(item(), Source(folder=src), box / "mirror", Upstream().text, Upstream().file).action == "copied"


def test_from_a_folder_a_fifo_or_a_huge_checksum_file_is_refused(box):
    src, folder = _source_folder(box)
    (folder / NAME).unlink()
    os.mkfifo(folder / NAME)
    with pytest.raises(UserError, match="named pipe"):
        sync_item(item(), Source(folder=src), box / "mirror", Upstream().text, Upstream().file)
    (folder / "sha256sums.txt").write_bytes(b"0" * (5 << 20))
    with pytest.raises(UserError, match="sha256sums.txt: is larger than"):
        sync_item(item(), Source(folder=src), box / "mirror", Upstream().text, Upstream().file)
    assert not (box / "mirror" / "tool").exists()


def test_the_cli_refuses_a_from_folder_with_a_link_to_etc_passwd(tmp_path, default_data):
    spec, first = synced_once(tmp_path, default_data)
    # azwi is locked without a digest: only its checksum file vouches for it, and that file can be edited.
    folder = first / "azwi" / "1.6.0" / "amd64"
    (folder / "azwi-v1.6.0-linux-amd64.tar.gz").unlink()
    (folder / "azwi-v1.6.0-linux-amd64.tar.gz").symlink_to("/etc/passwd")
    passwd_sha = hashlib.sha256(open("/etc/passwd", "rb").read()).hexdigest()
    (folder / "sha256sums.txt").write_text(f"{passwd_sha}  azwi-v1.6.0-linux-amd64.tar.gz\n")
    second = tmp_path / "second"
    result = run_cli("mirror", "sync", "-f", str(spec), "--to", str(second), "--from", str(first))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "azwi-v1.6.0-linux-amd64.tar.gz: it is a link that leads out of" in result.stderr
    assert not (second / "azwi").exists() or not any((second / "azwi").rglob("*.tar.gz"))
