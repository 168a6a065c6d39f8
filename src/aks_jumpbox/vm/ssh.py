"""The host's OpenSSH client, talking to the guest only with the run's own ephemeral key.

`-F /dev/null` (no user or system client configuration), `IdentitiesOnly=yes` with the one key,
`IdentityAgent=none` (the user's agent is never asked or forwarded), no X11, a known_hosts file of
the run's own (the guest's host key is pinned at the first connection and must not change across the
reboot), BatchMode (never a prompt).
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

_DENIED = re.compile(r"Permission denied \((?P<methods>[^)]*)\)")


def generate_key(workdir: Path) -> Path:
    """A fresh ed25519 key pair for this run only; returns the private key's path."""
    key = workdir / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "aks-jumpbox-try", "-f", str(key)],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )
    return key


@dataclass(frozen=True)
class Ssh:
    key: Path
    port: int
    known_hosts: Path
    host: str = "127.0.0.1"

    @property
    def public_key(self) -> str:
        return self.key.with_suffix(".pub").read_text().strip()

    def options(self) -> list[str]:
        return [
            "-F",
            "/dev/null",
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=accept-new",
            "-o",
            "IdentityAgent=none",
            "-o",
            "ForwardAgent=no",
            "-o",
            "ForwardX11=no",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "ServerAliveInterval=15",
            "-o",
            "ServerAliveCountMax=8",
            "-o",
            "LogLevel=ERROR",
            "-p",
            str(self.port),
        ]

    def argv(self, user: str, *, key: bool = True, extra: tuple[str, ...] = ()) -> list[str]:
        auth = ["-i", str(self.key), "-o", "IdentitiesOnly=yes"] if key else ["-o", "IdentitiesOnly=yes"]
        return ["ssh", *self.options(), *auth, *extra, f"{user}@{self.host}"]

    def interactive_command(self, user: str) -> str:
        """The command a person runs to get into the kept VM."""
        return shlex.join(self.argv(user))

    def run(self, user: str, command: str, *, stdin: bytes | None = None, timeout: float = 120) -> tuple[int, str]:
        proc = subprocess.run(
            [*self.argv(user), command],
            input=stdin if stdin is not None else b"",
            capture_output=True,
            timeout=timeout,
        )
        return proc.returncode, (proc.stdout + proc.stderr).decode("utf-8", errors="replace")

    def stream(self, user: str, command: str, on_line: Callable[[str], None], timeout: float) -> int:
        """Run command, calling on_line with each line of its output (stdout and stderr) as it comes."""
        proc = subprocess.Popen(
            [*self.argv(user), command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert proc.stdout is not None
        try:
            for raw in _lines(proc.stdout):
                on_line(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
            return proc.wait(timeout=timeout)
        except BaseException:
            proc.kill()
            proc.wait()
            raise

    def offered_methods(self, user: str, *, try_key: bool) -> tuple[bool, set[str], str]:
        """Connect as user offering nothing that can succeed but (try_key) the run's key: (logged in,
        the methods sshd said it accepts when it refused, sshd's answer)."""
        extra: tuple[str, ...]
        if try_key:
            extra = ("-o", "PreferredAuthentications=publickey", "-o", "PasswordAuthentication=no")
        else:  # ask for password and keyboard-interactive only, answer none: sshd lists what it allows
            extra = (
                "-o",
                "PreferredAuthentications=password,keyboard-interactive",
                "-o",
                "PubkeyAuthentication=no",
                "-o",
                "NumberOfPasswordPrompts=0",
            )
        proc = subprocess.run(
            [*self.argv(user, key=try_key, extra=extra), "true"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
        )
        out = (proc.stdout + proc.stderr).decode("utf-8", errors="replace").strip()
        if proc.returncode == 0:
            return True, set(), out
        m = _DENIED.search(out)
        return False, (set(m["methods"].split(",")) if m else set()), out


def _lines(stream) -> Iterator[bytes]:
    while True:
        line = stream.readline()
        if not line:
            return
        yield line
