"""Hostile and careless file-system shapes through the CLI: each is one line naming the file, exit 2,
no hang (a FIFO runs in a subprocess whose timeout fails the test), and nothing outside changes."""

from __future__ import annotations

import errno
import json
import os
import stat

import pytest

from aks_jumpbox.cli.main import main
from aks_jumpbox.core.lock import default_lock_text
from aks_jumpbox.core.spec import default_spec_text
from aks_jumpbox.preflight.snapshot import SnapshotError, load_snapshot
from tests.conftest import run_cli
from tests.unit.test_files import tree

HANG = 60  # seconds: a FIFO that is opened blocks forever; the subprocess timeout turns that into a failure


@pytest.fixture
def work(tmp_path):
    """tmp_path/work holding jumpbox.yaml and a victim file outside it, in tmp_path/outside."""
    w = tmp_path / "work"
    w.mkdir()
    (w / "jumpbox.yaml").write_text(default_spec_text())
    (tmp_path / "outside").mkdir()
    victim = tmp_path / "outside" / "victim"
    victim.write_text("precious\n")
    victim.chmod(0o600)
    return w


def _refused(result, *needles: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for n in needles:
        assert n in result.stderr, (n, result.stderr)


def _outside(work):
    return tree(work.parent / "outside")


@pytest.mark.parametrize("role", ["spec", "lock"])
def test_a_fifo_as_spec_or_lock_is_refused_not_waited_on(work, role):
    fifo = work / f"{role}.fifo"
    os.mkfifo(fifo)
    args = ["-f", str(fifo)] if role == "spec" else ["--lock", str(fifo)]
    result = run_cli("plan", *args, "--no-write", cwd=work, timeout=HANG)
    _refused(result, str(fifo), "named pipe (FIFO)", f"not a {role} file")


def test_a_fifo_beside_the_spec_as_the_default_lock(work):
    os.mkfifo(work / "jumpbox.lock.json")
    _refused(run_cli("plan", "--no-write", cwd=work, timeout=HANG), "jumpbox.lock.json", "named pipe")


def test_dev_zero_as_the_spec(work):
    _refused(run_cli("plan", "-f", "/dev/zero", "--no-write", cwd=work, timeout=HANG), "/dev/zero", "character device")


def test_a_folder_named_like_the_lock_is_an_error_not_the_embedded_lock(work):
    (work / "jumpbox.lock.json").mkdir()
    _refused(run_cli("plan", "--no-write", cwd=work), "jumpbox.lock.json", "is a folder, not a lock file")
    (work / "jumpbox.lock.json").rmdir()
    (work / "jumpbox.lock.json").symlink_to(work / "gone.json")  # dangling: not silently the embedded lock
    _refused(run_cli("plan", "--no-write", cwd=work), "jumpbox.lock.json", "no such file")


def test_a_folder_named_like_the_spec_is_an_error_not_the_embedded_spec(work):
    (work / "jumpbox.yaml").unlink()
    (work / "jumpbox.yaml").mkdir()
    _refused(run_cli("plan", "--no-write", cwd=work), "jumpbox.yaml", "is a folder, not a spec file")


def test_a_non_utf8_lock(work):
    (work / "jumpbox.lock.json").write_bytes(default_lock_text().encode().replace(b'"schema"', b'"sch\xe9ma"', 1))
    _refused(run_cli("plan", "--no-write", cwd=work), "jumpbox.lock.json:", "not UTF-8", "0xe9")


def test_duplicate_keys_in_the_lock(work):
    text = default_lock_text()
    doc = json.loads(text)
    first = next(iter(doc["tools"]))
    # The same tool twice: json.loads would silently keep the second.
    dup = text.replace(f'"{first}":', f'"{first}": [],\n    "{first}":', 1)
    (work / "jumpbox.lock.json").write_text(dup)
    _refused(run_cli("plan", "--no-write", cwd=work), "jumpbox.lock.json:", f"duplicate key '{first}'")


def test_a_huge_spec_is_refused_before_it_is_parsed(work):
    (work / "big.yaml").write_bytes(b"# padding\n" * 200_000)
    _refused(run_cli("plan", "-f", str(work / "big.yaml"), "--no-write", cwd=work), "big.yaml", "larger than 1024 KiB")


@pytest.mark.parametrize("planted", ["provision.sh.tmp", "plan.json", "arm"])
def test_a_link_planted_in_out_never_writes_outside(work, planted):
    out = work / "out"
    out.mkdir()
    victim = work.parent / "outside" / "victim"
    (out / planted).symlink_to(victim if planted != "arm" else victim.parent, target_is_directory=planted == "arm")
    before = _outside(work)
    result = run_cli("plan", "--out", "out", cwd=work)
    assert _outside(work) == before
    assert stat.S_IMODE(victim.stat().st_mode) == 0o600 and victim.read_text() == "precious\n"
    if planted == "provision.sh.tmp":  # the old fixed temporary name: no longer used, so harmless
        assert result.returncode == 0, result.stderr
        assert (out / "provision.sh").is_file() and not (out / "provision.sh").is_symlink()
    else:
        _refused(result, f"out/{planted}", "link")
        assert not (out / "provision.sh").exists()  # all or nothing


def test_out_arm_is_a_file(work):
    (work / "out").mkdir()
    (work / "out" / "arm").write_text("x")
    _refused(run_cli("plan", "--out", "out", cwd=work), "out/arm", "is not a folder")
    assert sorted(os.listdir(work / "out")) == ["arm"]


def test_out_is_a_symlink_loop(work):
    (work / "loop").symlink_to(work / "loop")
    _refused(run_cli("plan", "--out", "loop", cwd=work), "loop", "not a folder")
    (work / "out").mkdir()
    (work / "out" / "arm").symlink_to(work / "out" / "arm")
    _refused(run_cli("plan", "--out", "out", cwd=work), "out/arm", "link")


@pytest.mark.parametrize("code,needle", [(errno.EACCES, "permission denied"), (errno.EROFS, "read-only")])
def test_a_read_only_out(work, monkeypatch, capsys, code, needle):
    """In-process, the kernel's answer is simulated: the tests may run as root, which ignores modes."""
    out = work / "out"
    out.mkdir()
    ino = out.stat().st_ino
    real_open, real_mkdir = os.open, os.mkdir

    def in_out(dir_fd):
        return dir_fd is not None and os.fstat(dir_fd).st_ino == ino

    def fake_open(path, flags, mode=0o777, *, dir_fd=None):
        if flags & os.O_CREAT and in_out(dir_fd):
            raise OSError(code, os.strerror(code))
        return real_open(path, flags, mode, dir_fd=dir_fd)

    def fake_mkdir(path, mode=0o777, *, dir_fd=None):
        if in_out(dir_fd):
            raise OSError(code, os.strerror(code))
        return real_mkdir(path, mode, dir_fd=dir_fd)

    monkeypatch.chdir(work)
    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)
    rc = main(["plan", "--out", "out"])
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: cannot write out/") and needle in err and "Traceback" not in err
    assert os.listdir(out) == []


def test_init_and_ci_refuse_to_write_through_a_link(work):
    victim = work.parent / "outside" / "victim"
    target = work / "new"
    target.mkdir()
    (target / "jumpbox.lock.json").symlink_to(victim)
    _refused(run_cli("init", "--dir", str(target), "--force", cwd=work), "jumpbox.lock.json", "symbolic link")
    assert not (target / "jumpbox.yaml").exists()  # all or nothing
    (work / ".github").symlink_to(victim.parent, target_is_directory=True)
    _refused(run_cli("ci", "github", cwd=work), ".github", "link")
    assert _outside(work) == {"victim": ("file", 0o600, b"precious\n")}


def test_report_log_and_diff_inputs(work, tmp_path):
    os.mkfifo(work / "build.log")
    _refused(
        run_cli("report", "--log", "build.log", "--out", "r", cwd=work, timeout=HANG), "--log build.log", "named pipe"
    )
    assert not (work / "r").exists()
    doc = '{"schema": "aks-jumpbox/software-report/v1", "tools": [], "tools": []}'
    (work / "a.json").write_text(doc)
    _refused(run_cli("diff", "a.json", "a.json", cwd=work), "a.json:1:", "duplicate key 'tools'")
    os.mkfifo(work / "b.json")
    _refused(run_cli("diff", "b.json", "a.json", cwd=work, timeout=HANG), "b.json", "named pipe")


def test_snapshot_documents_with_duplicate_keys_or_not_files(tmp_path):
    snap = tmp_path / "snap"
    snap.mkdir()
    (snap / "vnet.json").write_text('{\n  "id": "/subscriptions/x",\n  "id": "/subscriptions/y"\n}')
    with pytest.raises(SnapshotError, match=r"snap/vnet\.json:1: duplicate key 'id'"):
        load_snapshot(snap)
    (snap / "vnet.json").unlink()
    (snap / "a.json").mkdir()
    (snap / "b.json").write_bytes(b'{"id": "/s\xff"}')
    with pytest.raises(SnapshotError, match=r"snap/b\.json:1: is not UTF-8"):
        load_snapshot(snap)
    (snap / "b.json").write_text("[" * 500 + "]" * 500)
    with pytest.raises(SnapshotError, match=r"snap/b\.json: nested deeper than 64 levels"):
        load_snapshot(snap)


def test_check_snapshot_with_duplicate_keys_exits_2(work):
    snap = work / "snap"
    snap.mkdir()
    (snap / "rg.json").write_text('{"id": "/subscriptions/x/resourceGroups/rg", "location": "a", "location": "b"}')
    _refused(run_cli("check", "--snapshot", "snap", cwd=work), "rg.json:1:", "duplicate key 'location'")


@pytest.mark.parametrize("args", [["plan", "--out", ""], ["report", "--out", " "], ["mirror", "sync", "--to", ""]])
def test_an_empty_output_folder_is_refused_not_the_current_one(work, args):
    before = sorted(os.listdir(work))
    _refused(run_cli(*args, cwd=work), f"{args[-2]} is empty")
    assert sorted(os.listdir(work)) == before
