"""adapters/files.py: inputs are regular files within a size limit, JSON has no duplicate keys, and
writes are atomic, confined to their folder and never follow a link."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from aks_jumpbox.adapters.files import (
    AtomicFile,
    InputError,
    confined,
    load_json,
    open_existing,
    read_input,
    write_all,
    write_atomic,
    write_file,
)
from aks_jumpbox.core.errors import SpecError, UserError


def tree(root) -> dict[str, tuple]:
    """Every path under root (links not followed) with its type, mode and content or link target."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[os.path.relpath(p, root)] = ("link", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as fh:
                    out[os.path.relpath(p, root)] = ("file", stat.S_IMODE(st.st_mode), fh.read())
            else:
                out[os.path.relpath(p, root)] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode))
    return out


@pytest.fixture
def victim(tmp_path):
    """A file outside the output folder that a planted link points at; must never change."""
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "victim"
    target.write_text("precious\n")
    target.chmod(0o600)
    return target


# ---- reading


def test_a_regular_file_and_a_link_to_one_are_read(tmp_path):
    (tmp_path / "spec.yaml").write_text("a: 1\n")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "spec.yaml")
    assert read_input(tmp_path / "spec.yaml", what="spec") == "a: 1\n"
    assert read_input(tmp_path / "link.yaml", what="spec") == "a: 1\n"


def test_a_fifo_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    (tmp_path / "link.yaml").symlink_to(fifo)
    for path in (fifo, tmp_path / "link.yaml"):
        with pytest.raises(InputError, match=r"is a named pipe \(FIFO\), not a spec file") as e:
            read_input(path, what="spec")
        assert str(path) in str(e.value)


@pytest.mark.parametrize("kind,path", [("a character device", "/dev/zero"), ("a character device", "/dev/null")])
def test_a_device_is_refused(kind, path):
    with pytest.raises(InputError, match=f"{path}: is {kind}, not a lock file"):
        read_input(path, what="lock")


def test_a_folder_a_missing_file_and_a_link_loop_are_refused(tmp_path):
    with pytest.raises(InputError, match="is a folder, not a lock file"):
        read_input(tmp_path, what="lock")
    with pytest.raises(InputError, match="no such file; create it") as e:
        read_input(tmp_path / "nope", what="lock", missing_fix="Create it with `aks-jumpbox lock`.")
    assert isinstance(e.value, SpecError) and e.value.exit_code == 2
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(InputError, match="symbolic link loop"):
        read_input(tmp_path / "loop", what="lock")


def test_a_file_over_the_limit_is_refused(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * 2049)
    with pytest.raises(InputError, match="is larger than 2 KiB"):
        read_input(big, what="spec", limit=2048)
    assert read_input(big, what="spec", limit=4096).startswith("#")


def test_non_utf8_names_the_line(tmp_path):
    bad = tmp_path / "lock.json"
    bad.write_bytes(b'{\n"a":\n"\xff"}')
    with pytest.raises(InputError) as e:
        read_input(bad, what="lock")
    assert e.value.line == 3 and "is not UTF-8 text (byte 0xff)" in str(e.value)
    assert str(e.value).startswith(f"{bad}:3:")


def test_duplicate_json_keys_are_refused_with_the_line_of_their_object():
    text = '{\n  "tools": {\n    "helm": 1,\n    "helm": 2\n  }\n}'
    with pytest.raises(InputError, match=r"lock\.json:2: duplicate key 'helm' in the object that starts on line 2"):
        load_json(text, "lock.json")
    assert load_json('{"a": {"b": 1}, "b": [1, {"a": 2}]}', "x") == {"a": {"b": 1}, "b": [1, {"a": 2}]}


def test_invalid_json_nan_and_deep_nesting_are_located_errors():
    with pytest.raises(InputError) as e:
        load_json('{\n  "a": ,\n}', "x.json", fix="Regenerate it.")
    assert e.value.line == 2 and "not valid JSON" in str(e.value) and "regenerate it" in str(e.value)
    with pytest.raises(InputError, match="NaN is not a JSON number"):
        load_json('{"a": NaN}', "x.json")
    for depth in (100, 100_000):
        with pytest.raises(InputError, match="nested deeper than 64 levels"):
            load_json("[" * depth + "]" * depth, "x.json")


# ---- writing


def test_write_atomic_creates_folders_sets_the_mode_and_leaves_no_temporary_file(tmp_path):
    out = tmp_path / "out"
    path = write_atomic(out, "a/b/run.sh", "echo hi\n", 0o755)
    assert path == out / "a" / "b" / "run.sh" and path.read_text() == "echo hi\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    write_atomic(out, "a/b/run.sh", b"again\n", 0o644)
    assert path.read_bytes() == b"again\n" and stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(tree(out)) == ["a", "a/b", "a/b/run.sh"]


def test_a_link_planted_at_the_old_temporary_name_is_left_alone(tmp_path, victim):
    out = tmp_path / "out"
    out.mkdir()
    (out / "provision.sh.tmp").symlink_to(victim)
    before = tree(tmp_path / "outside")
    write_atomic(out, "provision.sh", "#!/bin/bash\n", 0o755)
    assert tree(tmp_path / "outside") == before
    assert (out / "provision.sh").read_text() == "#!/bin/bash\n" and not (out / "provision.sh").is_symlink()


@pytest.mark.parametrize("rel", ["plan.json", "arm/network.json"])
def test_a_link_at_the_destination_or_on_the_way_is_refused(tmp_path, victim, rel):
    out = tmp_path / "out"
    (out / "arm").mkdir(parents=True)
    if rel == "plan.json":
        (out / "plan.json").symlink_to(victim)
    else:
        (out / "arm").rmdir()
        (out / "arm").symlink_to(victim.parent, target_is_directory=True)
    before = tree(tmp_path)
    with pytest.raises(UserError, match="link") as e:
        write_atomic(out, rel, "{}\n")
    assert str(out / rel.split("/")[0]) in str(e.value)
    assert tree(tmp_path) == before


@pytest.mark.parametrize("rel", ["../x", "a/../../x", "/etc/x", "a//b", "./a", "", "a/", "a\\..\\b", "a\x00b"])
def test_a_path_that_could_leave_the_folder_is_refused_before_anything_is_written(tmp_path, rel):
    out = tmp_path / "out"
    with pytest.raises(UserError, match="not a plain relative path"):
        write_atomic(out, rel, "x")
    assert not out.exists() and sorted(tree(tmp_path)) == []


def test_a_file_where_a_folder_is_needed_and_a_folder_where_a_file_goes(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "arm").write_text("not a folder")
    with pytest.raises(
        UserError, match=r"cannot write .*out/arm: it \(or a folder above it\) exists and is not a folder"
    ):
        write_atomic(out, "arm/network.json", "{}")
    (out / "plan.json").mkdir()
    with pytest.raises(UserError, match=r"out/plan\.json: it is a folder"):
        write_atomic(out, "plan.json", "{}")
    assert sorted(tree(out)) == ["arm", "plan.json"]


def test_an_out_folder_that_is_a_file_or_a_link_loop(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    for name in ("file", "loop"):
        with pytest.raises(UserError, match=f"{name}: it exists and is not a folder"):
            write_atomic(tmp_path / name, "plan.json", "{}")
    with pytest.raises(UserError, match="loop"):
        write_atomic(tmp_path / "loop" / "sub", "plan.json", "{}")


def _read_only(monkeypatch, folder):
    """The kernel's EACCES for creating in a folder without write permission, also when tests run as root."""
    real_open, real_mkdir = os.open, os.mkdir
    ino = os.stat(folder).st_ino

    def denied(dir_fd):
        return dir_fd is not None and os.fstat(dir_fd).st_ino == ino

    def fake_open(path, flags, mode=0o777, *, dir_fd=None):
        if flags & os.O_CREAT and denied(dir_fd):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, mode, dir_fd=dir_fd)

    def fake_mkdir(path, mode=0o777, *, dir_fd=None):
        if denied(dir_fd):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_mkdir(path, mode, dir_fd=dir_fd)

    folder.chmod(0o555)
    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)


def test_a_read_only_folder(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    _read_only(monkeypatch, out)
    for rel in ("plan.json", "arm/network.json"):
        with pytest.raises(
            UserError, match=r"cannot write .*out/(plan\.json|arm): permission denied\. Choose a folder"
        ):
            write_atomic(out, rel, "{}")
    monkeypatch.undo()
    out.chmod(0o755)
    assert sorted(tree(out)) == []


def test_write_all_writes_every_file_or_none(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    (out / "b").write_text("a file where a folder goes")
    with pytest.raises(UserError, match="out/b"):
        write_all(out, {"old.txt": "new", "a.txt": "a", "b/c.txt": "c"})
    assert sorted(tree(out)) == ["b", "old.txt"] and (out / "old.txt").read_text() == "old"
    (out / "b").unlink()
    paths = write_all(out, {"old.txt": "new", "b/c.sh": "c"}, {"b/c.sh": 0o755})
    assert [p.read_text() for p in paths] == ["new", "c"] and os.access(out / "b" / "c.sh", os.X_OK)


def test_an_atomic_file_that_fails_half_way_leaves_nothing(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with AtomicFile(out, "big.bin") as f:
            f.file.write(b"partial")
            raise RuntimeError("digest mismatch")
    assert sorted(tree(out)) == []


def test_write_file_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    spec = tmp_path / "jumpbox.yaml"
    spec.write_text("old")
    spec.chmod(0o600)
    write_file(spec, "new")
    assert spec.read_text() == "new" and stat.S_IMODE(spec.stat().st_mode) == 0o600
    assert stat.S_IMODE(write_file(tmp_path / "fresh.json", "{}").stat().st_mode) == 0o644


def test_write_file_for_a_user_named_file_refuses_a_link(tmp_path, victim):
    (tmp_path / "jumpbox.lock.json").symlink_to(victim)
    with pytest.raises(UserError, match="jumpbox.lock.json: it is a symbolic link"):
        write_file(tmp_path / "jumpbox.lock.json", "{}")
    assert victim.read_text() == "precious\n" and stat.S_IMODE(victim.stat().st_mode) == 0o600


# ---- reading inside a folder


def test_confined_refuses_a_link_out_of_the_folder(tmp_path, victim):
    src = tmp_path / "src"
    (src / "helm").mkdir(parents=True)
    (src / "helm" / "ok").write_text("x")
    (src / "helm" / "inner").symlink_to(src / "helm" / "ok")
    (src / "helm" / "passwd").symlink_to("/etc/passwd")
    (src / "up").symlink_to(victim.parent, target_is_directory=True)
    assert confined(src, "helm/ok") == (src / "helm" / "ok").resolve()
    assert confined(src, "helm/inner") == (src / "helm" / "ok").resolve()
    for rel in ("helm/passwd", "up/victim"):
        with pytest.raises(UserError, match="a link that leads out of"):
            confined(src, rel)
    with pytest.raises(UserError, match="not a plain relative path"):
        confined(src, "../outside/victim")


def test_open_existing_never_follows_a_link_or_opens_a_fifo(tmp_path, victim):
    out = tmp_path / "out"
    (out / "a").mkdir(parents=True)
    (out / "a" / "file").write_text("x")
    (out / "a" / "link").symlink_to(victim)
    os.mkfifo(out / "a" / "fifo")
    (out / "b").symlink_to(out / "a", target_is_directory=True)
    with open_existing(out, "a/file") as fh:
        assert fh.read() == b"x"
    for rel in ("a/link", "a/fifo", "b/file", "a/missing", "missing/x"):
        assert open_existing(out, rel) is None, rel
