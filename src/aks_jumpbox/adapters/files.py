"""Reading the user's files and writing the tool's own, safely.

Reading: only regular files are opened (a FIFO would block forever, /dev/zero never ends, a device
may act on open), within a size limit, decoded as UTF-8 with an error that names the file and line.
JSON is parsed refusing duplicate keys (the standard library keeps the last one silently).

Writing: every file is written to a temporary file created exclusively (O_EXCL|O_NOFOLLOW, random
name) in its target folder, fsynced, given its mode on the open descriptor, then renamed over the
target. Folders below the one the user named are walked with O_NOFOLLOW through directory
descriptors, so a symlink planted anywhere under it is refused instead of written through, and a
relative path with `..`, an absolute path or an empty segment is refused before anything is written.
Every failure is a UserError (exit 2) naming the path and what to do.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from aks_jumpbox.core.errors import Problem, SpecError, UserError

# Size limits: generous for real files, far below what would exhaust memory.
SPEC_LIMIT = 1 << 20  # a spec or lock (a real one is a few KiB)
CHECKSUM_LIMIT = 4 << 20  # a checksum file (the same limit as an HTTPS fetch of one)
REPORT_LIMIT = 16 << 20  # a software report (thousands of apt packages)
DOCUMENT_LIMIT = 64 << 20  # one snapshot document (e.g. every role definition of a subscription)
LOG_LIMIT = 256 << 20  # a build's customization.log
JSON_DEPTH = 64  # nesting: the deepest document the tool reads (ARM) has about ten levels

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_NOCTTY = getattr(os, "O_NOCTTY", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


class InputError(SpecError):
    """An input file that cannot be read as what it should be: one located problem and the fix."""

    def __init__(
        self, label: str, problem: str, fix: str | None = None, *, line: int | None = None, column: int | None = None
    ) -> None:
        self.label, self.problem, self.line, self.column = label, problem, line, column
        self.hint = fix
        super().__init__([Problem(label, line, "", f"{problem}; {fix[0].lower()}{fix[1:]}" if fix else problem)])


# ---- reading


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _read_problem(label: str, what: str, exc: OSError) -> InputError:
    if exc.errno == errno.ELOOP:
        return InputError(label, "is a symbolic link loop", f"Point it at the {what} itself.")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return InputError(
            label, "cannot be read (permission denied)", "Fix its permissions, or pass a copy you can read."
        )
    if exc.errno == errno.ENOTDIR:
        return InputError(label, "a part of the path is not a folder", f"Pass the path of the {what}.")
    if exc.errno == errno.ENAMETOOLONG:
        return InputError(label, "the path is too long", f"Pass the path of the {what}.")
    return InputError(label, f"cannot be read ({exc.strerror or exc})", f"Pass the path of a readable {what}.")


def open_regular(path: str | Path, *, what: str, missing_fix: str | None = None, label: str | None = None) -> BinaryIO:
    """Open path for reading if it is a regular file (symlinks to one are followed); refuse anything else
    before opening it, and check again on the open descriptor in case it was swapped in between."""
    label = label or str(path)
    not_regular = f"Pass the path of the {what} itself (a regular file)."
    try:
        before = os.stat(path)
    except FileNotFoundError:
        raise InputError(label, "no such file", missing_fix) from None
    except OSError as exc:
        raise _read_problem(label, what, exc) from None
    if not stat.S_ISREG(before.st_mode):
        raise InputError(label, f"is {_kind(before.st_mode)}, not a {what} file", not_regular)
    try:
        # O_NONBLOCK: should a FIFO be swapped in after the stat, opening it does not wait for a writer.
        fd = os.open(path, os.O_RDONLY | _O_NONBLOCK | _O_NOCTTY | _O_CLOEXEC)
    except FileNotFoundError:
        raise InputError(label, "no such file", missing_fix) from None
    except OSError as exc:
        raise _read_problem(label, what, exc) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise InputError(label, f"is {_kind(st.st_mode)}, not a {what} file", not_regular)
    return os.fdopen(fd, "rb")


def read_bytes(
    path: str | Path, *, what: str, limit: int, missing_fix: str | None = None, label: str | None = None
) -> bytes:
    """The bytes of a regular file no larger than limit (see open_regular)."""
    label = label or str(path)
    too_big = InputError(
        label,
        f"is larger than {limit // 1024} KiB, far more than a {what} holds",
        f"Check that this is the {what} you meant.",
    )
    with open_regular(path, what=what, missing_fix=missing_fix, label=label) as fh:
        if os.fstat(fh.fileno()).st_size > limit:
            raise too_big
        try:
            data = fh.read(limit + 1)  # the size may lie (/proc) or grow
        except OSError as exc:
            raise _read_problem(label, what, exc) from None
    if len(data) > limit:
        raise too_big
    return data


def decode_text(data: bytes, label: str, *, encoding: str = "utf-8", errors: str = "strict") -> str:
    try:
        return data.decode(encoding, errors)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            label, f"is not UTF-8 text (byte 0x{data[exc.start]:02x})", "Save it as UTF-8.", line=line
        ) from None


def read_input(
    path: str | Path,
    *,
    what: str,
    limit: int = SPEC_LIMIT,
    missing_fix: str | None = None,
    encoding: str = "utf-8",
    errors: str = "strict",
    label: str | None = None,
) -> str:
    """The text of a user's input file: a regular file, at most limit bytes, UTF-8 (InputError otherwise).
    label names it in messages (default: the path), e.g. "--log out/build.log"."""
    label = label or str(path)
    data = read_bytes(path, what=what, limit=limit, missing_fix=missing_fix, label=label)
    return decode_text(data, label, encoding=encoding, errors=errors)


class _Duplicate(Exception):
    def __init__(self, key: str, offset: int | None = None) -> None:
        self.key, self.offset = key, offset


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _locate_duplicate(text: str) -> int | None:
    """Where the object holding the first duplicate key starts (the C parser does not tell)."""
    decoder = json.JSONDecoder()

    def parse_object(s_and_end, strict, scan_once, object_hook, object_pairs_hook, memo=None):  # noqa: ANN001
        start = s_and_end[1] - 1

        def hook(pairs):  # noqa: ANN001
            try:
                return _unique(pairs)
            except _Duplicate as dup:
                raise _Duplicate(dup.key, start) from None

        # JSONObject, parse_object, scan_once and py_make_scanner: the pure-Python parser's undocumented
        # internals, the one way to learn where an object starts; typeshed leaves them out (hence the ignores).
        return json.decoder.JSONObject(  # type: ignore[attr-defined]
            s_and_end, strict, scan_once, object_hook, hook, memo
        )

    decoder.parse_object = parse_object  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    try:
        decoder.decode(text)
    except _Duplicate as dup:
        return dup.offset
    except (ValueError, RecursionError):
        pass
    return None


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return False


def load_json(text: str, label: str, *, fix: str | None = None, max_depth: int = JSON_DEPTH) -> Any:
    """Parse JSON, refusing duplicate keys, NaN/Infinity and deep nesting; errors name label and line."""
    try:
        value = json.loads(text, object_pairs_hook=_unique, parse_constant=_no_constant)
    except _Duplicate as dup:
        offset = _locate_duplicate(text)
        line = text.count("\n", 0, offset) + 1 if offset is not None else None
        where = f" in the object that starts on line {line}" if line else ""
        raise InputError(
            label,
            f"duplicate key {dup.key!r}{where} (a JSON reader would silently keep only one)",
            fix or "Remove one of them.",
            line=line,
        ) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            label, f"not valid JSON: {exc.msg} (column {exc.colno})", fix, line=exc.lineno, column=exc.colno
        ) from None
    except ValueError as exc:
        raise InputError(label, f"not valid JSON: {exc}", fix) from None
    except RecursionError:
        value = None
        nested = True
    else:
        nested = _depth_exceeds(value, max_depth)
    if nested:
        raise InputError(label, f"nested deeper than {max_depth} levels, far more than this file ever needs", fix)
    return value


# ---- writing


def _write_problem(path: Path | str, exc: OSError) -> UserError:
    p = str(path)
    code = exc.errno
    if code in (errno.EACCES, errno.EPERM):
        return UserError(
            f"cannot write {p}: permission denied.", fix="Choose a folder you can write to, or fix its permissions."
        )
    if code == errno.EROFS:
        return UserError(
            f"cannot write {p}: the file system is read-only.", fix="Choose a folder on a writable file system."
        )
    if code == errno.ELOOP:
        return UserError(
            f"cannot write {p}: it is a symbolic link (or a link loop); aks-jumpbox never writes through links.",
            fix="Remove the link, or choose another folder.",
        )
    if code in (errno.ENOTDIR, errno.EEXIST):
        return UserError(
            f"cannot write {p}: it (or a folder above it) exists and is not a folder.",
            fix="Remove or rename it, or choose another folder.",
        )
    if code == errno.EISDIR:
        return UserError(f"cannot write {p}: it is a folder.", fix="Remove or rename it, or choose another folder.")
    if code in (errno.ENOSPC, errno.EDQUOT):
        return UserError(
            f"cannot write {p}: no space left on the device.", fix="Free some space, or choose another folder."
        )
    if code == errno.ENAMETOOLONG:
        return UserError(f"cannot write {p}: the path is too long.", fix="Choose a shorter folder path.")
    return UserError(f"cannot write {p}: {exc.strerror or exc}.", fix="Choose another folder.")


def safe_parts(rel: str, *, base: str | Path = ".") -> tuple[str, ...]:
    """The segments of a relative '/'-separated path that stays inside base; UserError otherwise."""
    parts = tuple(rel.split("/"))
    bad = not rel or rel.startswith("/") or "\\" in rel or "\0" in rel or any(p in ("", ".", "..") for p in parts)
    if bad:
        raise UserError(
            f"refusing the path {rel!r}: it is not a plain relative path inside {base}.",
            fix="This name came from an input file (lock or mirror item); correct that entry.",
        )
    return parts


def ensure_dir(out_dir: str | Path) -> Path:
    """Create the folder the user named (following links in it: the user chose it); UserError otherwise."""
    out = Path(out_dir)
    try:
        os.makedirs(out, exist_ok=True)
    except FileExistsError:
        raise UserError(
            f"cannot write into {out}: it exists and is not a folder (or is a link that does not lead to one).",
            fix="Remove or rename it, or choose another folder.",
        ) from None
    except OSError as exc:
        raise _write_problem(out, exc) from None
    return out


def _open_dir(out_dir: Path, parts: tuple[str, ...], *, create: bool = True) -> int:
    """A descriptor for out_dir/parts, creating missing folders below out_dir without following links."""
    if create:
        ensure_dir(out_dir)
    try:
        fd = os.open(out_dir, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
    except OSError as exc:
        raise _write_problem(out_dir, exc) from None
    here = out_dir
    for part in parts:
        here = here / part
        try:
            try:
                if create:
                    os.mkdir(part, 0o777, dir_fd=fd)
            except FileExistsError:
                pass
            if stat.S_ISLNK(os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode):
                raise OSError(errno.ELOOP, "a symbolic link")
            child = os.open(part, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC, dir_fd=fd)
        except OSError as exc:
            raise _write_problem(here, exc) from None
        finally:
            os.close(fd)
        fd = child
    return fd


def open_existing(out_dir: str | Path, rel: str) -> BinaryIO | None:
    """The regular file out_dir/rel opened for reading, or None when there is none, or when it (or a folder
    on the way) is a link or not a regular file: never follows a link, never blocks on a FIFO."""
    *folders, name = safe_parts(rel, base=out_dir)
    try:
        dfd = _open_dir(Path(out_dir), tuple(folders), create=False)
    except UserError:
        return None
    try:
        fd = os.open(name, os.O_RDONLY | _O_NOFOLLOW | _O_NONBLOCK | _O_NOCTTY | _O_CLOEXEC, dir_fd=dfd)
    except OSError:
        return None
    finally:
        os.close(dfd)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return os.fdopen(fd, "rb")


class AtomicFile:
    """A file written under out_dir/rel that appears only on commit(), whole, or not at all.

    Usage: `with AtomicFile(out, "a/b.txt") as f: f.file.write(...)` commits on success and removes
    the temporary file on any exception.
    """

    def __init__(self, out_dir: str | Path, rel: str, mode: int = 0o644) -> None:
        self.out = Path(out_dir)
        *folders, self.name = safe_parts(rel, base=self.out)
        self.path = self.out.joinpath(*folders, self.name)
        self.mode = mode
        self._dir: int | None = _open_dir(self.out, tuple(folders))  # None once committed or aborted
        self._tmp: str | None = None
        try:
            self._check_target()
            for _ in range(8):
                # The name is random and O_EXCL: a planted file or link at a guessable name changes nothing.
                tmp = f".{self.name[:200]}.{secrets.token_hex(6)}.tmp"
                try:
                    fd = os.open(
                        tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, 0o600, dir_fd=self._dir
                    )
                    break
                except FileExistsError:
                    continue
            else:
                raise UserError(f"cannot write {self.path}: could not create a temporary file beside it.")
            self._tmp = tmp
            self.file: BinaryIO = os.fdopen(fd, "wb")
        except OSError as exc:
            self._close_dir()
            raise _write_problem(self.path, exc) from None
        except BaseException:
            self._close_dir()
            raise

    def _check_target(self) -> None:
        try:
            st = os.stat(self.name, dir_fd=self._dir, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISLNK(st.st_mode):
            raise UserError(
                f"refusing to write {self.path}: it is a symbolic link, and aks-jumpbox never writes through links.",
                fix="Remove the link (or choose another folder) and run again.",
            )
        if not stat.S_ISREG(st.st_mode):
            raise UserError(
                f"cannot write {self.path}: it is {_kind(st.st_mode)}.",
                fix="Remove or rename it, or choose another folder.",
            )

    def commit(self) -> Path:
        if self._tmp is None or self._dir is None:
            raise ValueError(f"{self.path}: commit() after commit() or abort()")
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            os.fchmod(self.file.fileno(), self.mode)  # on the descriptor: never a chmod through a path
            self.file.close()
            self._check_target()
            os.replace(self._tmp, self.name, src_dir_fd=self._dir, dst_dir_fd=self._dir)
            self._tmp = None
            try:
                os.fsync(self._dir)  # the rename itself survives a crash
            except OSError:
                pass
        except OSError as exc:
            self.abort()
            raise _write_problem(self.path, exc) from None
        except BaseException:
            self.abort()
            raise
        self._close_dir()
        return self.path

    def abort(self) -> None:
        if not self.file.closed:
            self.file.close()
        if self._tmp is not None and self._dir is not None:
            try:
                os.unlink(self._tmp, dir_fd=self._dir)
            except OSError:
                pass
            self._tmp = None
        self._close_dir()

    def _close_dir(self) -> None:
        dfd = getattr(self, "_dir", None)  # unset when __init__ could not open the folder
        if dfd is not None:
            os.close(dfd)
            self._dir = None

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def _data(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def write_atomic(out_dir: str | Path, rel: str, data: str | bytes, mode: int = 0o644) -> Path:
    """Write data (text is UTF-8) to out_dir/rel atomically, never through a link; returns the path."""
    with AtomicFile(out_dir, rel, mode) as f:
        f.file.write(_data(data))
    return f.path


def write_file(path: str | Path, data: str | bytes, mode: int = 0o644) -> Path:
    """write_atomic for a file the user named (a spec, a lock): its folder is theirs, the file itself must
    not be a link; a file replaced keeps its mode (a spec kept 0600 stays 0600)."""
    p = Path(path)
    try:
        st = os.lstat(p)
        if stat.S_ISREG(st.st_mode):
            mode = stat.S_IMODE(st.st_mode)
    except OSError:
        pass
    return write_atomic(p.parent, p.name, data, mode)


def write_all(
    out_dir: str | Path, files: Mapping[str, str | bytes], modes: Mapping[str, int] | None = None
) -> list[Path]:
    """Write every file, or none: all are staged as temporary files first, then renamed in turn."""
    staged: list[AtomicFile] = []
    try:
        for rel, data in files.items():
            f = AtomicFile(out_dir, rel, (modes or {}).get(rel, 0o644))
            staged.append(f)
            try:
                f.file.write(_data(data))
            except OSError as exc:
                raise _write_problem(f.path, exc) from None
    except BaseException:
        for f in staged:
            f.abort()
        raise
    written = []
    for i, f in enumerate(staged):
        try:
            written.append(f.commit())
        except BaseException:
            for rest in staged[i + 1 :]:
                rest.abort()
            raise
    return written


# ---- reading inside a folder (mirror sources)


def confined(folder: str | Path, rel: str) -> Path:
    """folder/rel with every link resolved, refused unless it stays inside folder (resolved too)."""
    parts = safe_parts(rel, base=folder)
    root = Path(folder).resolve()
    try:
        target = root.joinpath(*parts).resolve()
    except (OSError, RuntimeError) as exc:  # a link loop
        raise UserError(
            f"{Path(folder).joinpath(*parts)}: cannot be resolved ({exc}).",
            fix="Remove the link loop from the source folder.",
        ) from None
    if not target.is_relative_to(root):
        raise UserError(
            f"refusing to read {Path(folder).joinpath(*parts)}: it is a link that leads out of {folder} (to {target}).",
            fix="Copy the file itself into the source folder.",
        )
    return target


__all__ = [
    "AtomicFile",
    "InputError",
    "confined",
    "decode_text",
    "ensure_dir",
    "load_json",
    "open_existing",
    "open_regular",
    "read_bytes",
    "read_input",
    "safe_parts",
    "write_all",
    "write_atomic",
    "write_file",
    "SPEC_LIMIT",
    "CHECKSUM_LIMIT",
    "REPORT_LIMIT",
    "DOCUMENT_LIMIT",
    "LOG_LIMIT",
]
