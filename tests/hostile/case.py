"""A hostile-input case as data: what to set up, what to run, what must happen.

Setup starts from the files `aks-jumpbox init` writes into a work folder (or a preflight world's spec),
then applies the case's mutations in this order: spec (YAML paths set), lock (JSON paths set), raw
texts, file-system shapes, then an optional `prepare` hook for what data cannot say.

Paths in `fs`, `args`, `env`, `writes` and string values may use placeholders: {root} (the temp root),
{work} (the work folder, also the command's cwd), {canary} (files that must never change),
{trip} (a 127.0.0.1 port that counts connections: nothing may connect to it) and {mirror} (the
loopback HTTPS server of cases with server=True).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CLASSES = (
    "spec-field",
    "deb822",
    "url",
    "lock",
    "lock-vs-catalog",
    "arm-expression",
    "resource-name",
    "filesystem",
    "resource-exhaustion",
    "snapshot",
    "mirror-index",
    "cli-argument",
    "environment",
    "ci-workflow",
    "markup",
    "workflow-command",
)
DELETE = object()  # a spec/lock value that removes the key

PLAN = ("plan", "-f", "jumpbox.yaml", "--out", "out")


@dataclass(frozen=True)
class Case:
    id: str
    cls: str
    # reject: exit 2, located one-line message naming `mentions`, nothing changed anywhere.
    # inert: exit 0, changes only under `writes`, and the rendered payload is inert.
    # either: whichever of the two the exit code says (0: inert, else: reject).
    expect: str
    mentions: tuple[str, ...] = ()
    args: tuple[str, ...] = PLAN
    spec: dict[Any, Any] = field(default_factory=dict)  # "a.b.0.c" or a tuple path -> value (DELETE removes)
    spec_base: str = "init"  # "init" (aks-jumpbox init) or "proxy-world" (tests/preflight/world.py)
    spec_text: str | bytes | None = None  # replaces jumpbox.yaml
    lock: dict[Any, Any] = field(default_factory=dict)
    lock_text: str | bytes | None = None  # replaces jumpbox.lock.json
    fs: tuple[tuple[Any, ...], ...] = ()  # ("fifo"|"dir"|"file"|"symlink"|"socket"|"immutable"|"rm", rel, ...)
    env: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[Any], None] | None = None  # hook(workspace) for setups data cannot express
    writes: tuple[str, ...] = ("{work}/out",)  # where an accepted run may write
    verify: str | None = "plan"  # inertness checks of an accepted run: "plan" (out/), "ci", or None
    out: str = "out"  # the folder `verify="plan"` reads
    expect_vars: dict[str, str] = field(default_factory=dict)  # provision.sh variables that must read back
    expect_uris: dict[int, str] = field(default_factory=dict)  # deb822 URIs values (in file order)
    expect_arm: tuple[str, ...] = ()  # strings that must read back (ARM-unescaped) from arm/*.json
    payload: str | None = None  # ci: the value that must stay one quoted shell word
    snapshot: bool = False  # write the preflight world's snapshot to {work}/snap
    server: bool = False  # serve {root}/www over HTTPS at {mirror}
    ok_codes: tuple[int, ...] = (0,)  # exit codes of an accepted run
    max_lines: int = 6  # non-empty stderr lines a rejection may print (click's usage errors take four)
    forbid: tuple[str, ...] = ()  # text that must appear in no output and no written file (a canary's secret)
    reject_writes: bool = False  # a rejection may leave what it wrote under `writes` (mirror sync, mid-way)
    timeout: float = 10.0
    why: str = ""

    def __post_init__(self) -> None:
        assert self.cls in CLASSES, self.cls
        assert self.expect in ("reject", "inert", "either"), self.expect
        assert self.expect == "inert" or self.mentions or self.expect == "either", f"{self.id}: name what to mention"
