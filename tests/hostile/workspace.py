"""A temp root per case: the work folder, canary files that must never change, and the CLI run in a
bounded child process (timeout, memory, CPU and file-size limits; HOME and proxies pointed inside)."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import os
import resource
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.hostile.case import DELETE, Case

SKIP = ("home", "tmp")  # the environment's own folders (HOME, TMPDIR) are not compared
MEMORY_LIMIT = 3 << 30  # address space of a CLI run: an exhaustion case fails with MemoryError, not the host
FILE_LIMIT = 256 << 20  # largest file a CLI run may write


class Tripwire:
    """A loopback port that counts connections: proxies and Azure endpoints point here; nothing may
    connect."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.count += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@dataclass
class Result:
    code: int | None
    stdout: str
    stderr: str
    hung: bool


def tree(root: Path) -> dict[str, tuple]:
    """Every path under root: kind, mode and sha256 (files) or target (links); never follows links or opens
    anything but regular files."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in SKIP]
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                digest = hashlib.sha256()
                with open(p, "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        digest.update(chunk)
                out[rel] = ("file", stat.S_IMODE(st.st_mode), digest.hexdigest())
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                out[rel] = ("special", stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode))
    return out


def changed(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


def _path(data: Any, dotted: Any) -> list[Any]:
    parts = dotted if isinstance(dotted, tuple) else tuple(dotted.split("."))
    return [int(p) if isinstance(p, str) and p.isdigit() else p for p in parts]


def set_path(data: Any, dotted: Any, value: Any) -> None:
    *parents, last = _path(data, dotted)
    node = data
    for p in parents:
        if isinstance(node, dict) and p not in node:
            node[p] = {}
        node = node[p]
    if value is DELETE:
        node.pop(last, None) if isinstance(node, dict) else node.pop(last)
    else:
        node[last] = copy.deepcopy(value)


def warm_up() -> None:
    """Import every module of the tool here, once, so a forked run starts with them loaded (what a fresh
    interpreter would spend most of a case importing). Importing has no side effects but definitions."""
    import importlib
    import pkgutil

    import aks_jumpbox

    for mod in pkgutil.walk_packages(aks_jumpbox.__path__, "aks_jumpbox."):
        importlib.import_module(mod.name)


def _child(argv: list[str], cwd: Path, env: dict[str, str], out_fd: int, err_fd: int, timeout: float) -> None:
    """Run `aks-jumpbox ARGV` as `python -m aks_jumpbox.cli.main` would, in a forked child, then _exit."""
    code = 70
    try:
        os.setsid()  # its own process group: killed as a whole on a hang
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
        cpu = int(timeout) + 5
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", write_through=True)
        sys.stderr = io.TextIOWrapper(
            io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace", write_through=True
        )
        from aks_jumpbox.cli.main import main

        try:
            code = main(argv)
        except SystemExit as exc:  # as the interpreter would turn it into an exit status
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - what the interpreter would print: the judge looks for it
        code = 1
        try:
            os.write(2, traceback.format_exc().encode("utf-8", "replace"))
        except BaseException:  # noqa: BLE001
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code & 0xFF)


def _wait(pid: int, timeout: float) -> int | None:
    """The child's exit code (negative: killed by that signal), or None when it hung and was killed."""
    pidfd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], timeout)
    finally:
        os.close(pidfd)
    if not ready:
        for kill in (os.killpg, os.kill):  # the group, and the child should it not lead one yet
            with contextlib.suppress(ProcessLookupError):
                kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return None
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


class Workspace:
    def __init__(self, base: Path, case: Case, init_dir: Path, trip: Tripwire) -> None:
        self.case = case
        self.root = base / "root"
        self.work = self.root / "work"
        self.canary = self.root / "canary"
        self.trip = trip
        self.mirror_url = ""
        self._server = None
        self._immutable: list[Path] = []
        for d in (self.work, self.canary / "dir", self.root / "home", self.root / "tmp"):
            d.mkdir(parents=True)
        (self.canary / "secret.txt").write_text("canary: a secret the tool must never read out\n")
        (self.canary / "secret.txt").chmod(0o600)
        (self.canary / "target.txt").write_text("canary: a file the tool must never write\n")
        (self.canary / "dir" / "inner.txt").write_text("canary: inside a folder\n")
        (self.canary / "dir" / "bad.json").write_text('{"canary": "read through a link"}')
        (self.canary / "doc.json").write_text(json.dumps({"id": "/subscriptions/x/resourceGroups/canary"}))
        os.symlink("target.txt", self.canary / "link")
        shutil.copy(init_dir / "jumpbox.yaml", self.work / "jumpbox.yaml")
        shutil.copy(init_dir / "jumpbox.lock.json", self.work / "jumpbox.lock.json")

    # ---- placeholders

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            return (
                value.replace("{root}", str(self.root))
                .replace("{work}", str(self.work))
                .replace("{canary}", str(self.canary))
                .replace("{trip}", str(self.trip.port))
                .replace("{mirror}", self.mirror_url)
            )
        if isinstance(value, dict):
            return {self.fill(k): self.fill(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.fill(v) for v in value)
        return value

    def at(self, rel: str) -> Path:
        rel = self.fill(rel)
        return Path(rel) if os.path.isabs(rel) else self.work / rel

    # ---- setup

    def setup(self) -> None:
        c = self.case
        if c.server:
            self._start_server()
        if c.spec_base == "proxy-world" or c.snapshot:
            from tests.preflight.world import World, spec_data

            data = spec_data("proxy")
            self.write_spec(data)
            if c.snapshot:
                World.upstream().write(self.work / "snap")
        if c.spec:
            data = yaml.safe_load((self.work / "jumpbox.yaml").read_text())
            for path, value in c.spec.items():
                set_path(data, path, self.fill(value))
            self.write_spec(data)
        if c.lock:
            doc = json.loads((self.work / "jumpbox.lock.json").read_text())
            for path, value in c.lock.items():
                set_path(doc, path, self.fill(value))
            (self.work / "jumpbox.lock.json").write_text(json.dumps(doc, indent=2))
        for name, text in (("jumpbox.yaml", c.spec_text), ("jumpbox.lock.json", c.lock_text)):
            if isinstance(text, bytes):
                (self.work / name).write_bytes(text)
            elif text is not None:
                (self.work / name).write_text(self.fill(text))
        if c.prepare is not None:
            c.prepare(self)
        for shape in c.fs:
            self.shape(*shape)

    def write_spec(self, data: Any) -> None:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1 << 20)
        (self.work / "jumpbox.yaml").write_text(text, encoding="utf-8")

    def shape(self, kind: str, rel: str, *extra: Any) -> None:
        p = self.at(rel)
        p.parent.mkdir(parents=True, exist_ok=True)
        if kind != "immutable" and (p.exists() or p.is_symlink()):
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        if kind == "fifo":
            os.mkfifo(p)
        elif kind == "dir":
            p.mkdir()
        elif kind == "file":
            content = self.fill(extra[0]) if extra else ""
            p.write_bytes(content) if isinstance(content, bytes) else p.write_text(content)
        elif kind == "symlink":
            os.symlink(self.fill(extra[0]), p)
        elif kind == "socket":
            s = socket.socket(socket.AF_UNIX)
            s.bind(str(p))
            s.close()
        elif kind == "immutable":  # read-only even for root
            p.mkdir(exist_ok=True)
            if os.geteuid() == 0:
                subprocess.run(["chattr", "+i", str(p)], check=True)
                self._immutable.append(p)
            else:
                p.chmod(0o555)
        elif kind != "rm":
            raise ValueError(kind)

    def _start_server(self) -> None:
        from tests.support.https_server import StaticHttps

        (self.root / "www").mkdir()
        (self.root / "ca").mkdir()
        self._server = StaticHttps(self.root / "www", self.root / "ca").__enter__()
        self.mirror_url = self._server.url

    # ---- running

    def env(self) -> dict[str, str]:
        proxy = f"http://127.0.0.1:{self.trip.port}"
        home = self.root / "home"
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(home),
            "TMPDIR": str(self.root / "tmp"),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_DATA_HOME": str(home / ".local/share"),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "COLUMNS": "200",
            "NO_COLOR": "1",
            "HTTP_PROXY": proxy,
            "HTTPS_PROXY": proxy,
            "ALL_PROXY": proxy,
            "http_proxy": proxy,
            "https_proxy": proxy,
            "all_proxy": proxy,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
        if self._server is not None:
            env["SSL_CERT_FILE"] = str(self._server.ca_file)
        env.update(self.fill(self.case.env))
        return env

    def run(self) -> Result:
        """The CLI in a child forked from this (test) process: the same isolation as a fresh interpreter
        (its own cwd, environment, session, stdio and resource limits; killed with its group after the
        timeout), without paying an interpreter start and the tool's imports per case (see `warm_up`)."""
        args = [self.fill(a) for a in self.case.args]
        out_path, err_path = self.root.parent / "stdout", self.root.parent / "stderr"
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            pid = os.fork()
            if pid == 0:  # the child: never returns
                _child(args, self.work, self.env(), out.fileno(), err.fileno(), self.case.timeout)
        code = _wait(pid, self.case.timeout)
        return Result(
            code,
            out_path.read_bytes().decode("utf-8", "replace"),
            err_path.read_bytes().decode("utf-8", "replace"),
            code is None,
        )

    def read_out(self, rel: str) -> dict[str, str]:
        out = self.at(rel)
        files = {}
        for p in sorted(out.rglob("*")):
            if p.is_file() and not p.is_symlink():
                files[p.relative_to(out).as_posix()] = p.read_text(encoding="utf-8", errors="replace")
        return files

    def close(self) -> None:
        if self._server is not None:
            self._server.__exit__(None, None, None)
        for p in self._immutable:
            subprocess.run(["chattr", "-i", str(p)], check=False)
        for dirpath, dirnames, _ in os.walk(self.root, followlinks=False):  # chmod'ed folders, for cleanup
            for d in dirnames:
                p = os.path.join(dirpath, d)
                if not os.path.islink(p):
                    os.chmod(p, 0o755)
