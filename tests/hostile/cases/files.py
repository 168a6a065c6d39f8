"""File-system shapes, resource exhaustion and hostile command-line arguments."""

from __future__ import annotations

from tests.hostile.case import PLAN, Case

SPEC, LOCK = "jumpbox.yaml", "jumpbox.lock.json"
TARGET = "{canary}/target.txt"
MIB = 1 << 20


def _filesystem_cases() -> list[Case]:
    fs = "filesystem"
    return [
        Case("fs-spec-fifo", fs, "reject", (SPEC,), fs=(("fifo", SPEC),), why="a FIFO hung the tool forever"),
        Case("fs-lock-fifo", fs, "reject", (LOCK,), fs=(("fifo", LOCK),)),
        Case("fs-spec-socket", fs, "reject", (SPEC,), fs=(("socket", SPEC),)),
        Case("fs-spec-devzero-link", fs, "reject", (SPEC,), fs=(("symlink", SPEC, "/dev/zero"),)),
        Case("fs-lock-devzero-link", fs, "reject", (LOCK,), fs=(("symlink", LOCK, "/dev/zero"),)),
        Case(
            "fs-lock-a-directory",
            fs,
            "reject",
            (LOCK,),
            fs=(("dir", LOCK),),
            why="a directory named jumpbox.lock.json silently fell back to the embedded lock",
        ),
        Case("fs-spec-symlink-loop", fs, "reject", (SPEC,), fs=(("symlink", SPEC, SPEC),)),
        Case("fs-lock-symlink-loop", fs, "reject", (LOCK,), fs=(("symlink", LOCK, LOCK),)),
        Case("fs-spec-not-utf8", fs, "reject", (SPEC,), spec_text=b"name: \xff\xfe\n"),
        Case(
            "fs-out-plan-json-symlink",
            fs,
            "either",
            ("out",),
            fs=(("symlink", "out/plan.json", TARGET),),
            why="replacing the link (not its target) or refusing both leave the canary alone",
        ),
        Case(
            "fs-out-tmp-symlink",
            fs,
            "either",
            ("out",),
            fs=(("symlink", "out/provision.sh.tmp", TARGET),),
            why="the temp file followed a planted link: overwrite + chmod 0755 of any file",
        ),
        Case(
            "fs-out-arm-tmp-symlink",
            fs,
            "either",
            ("out",),
            fs=(("symlink", "out/arm/resource-group.json.tmp", TARGET),),
        ),
        Case(
            "fs-out-arm-dir-symlink",
            fs,
            "either",
            ("out",),
            fs=(("symlink", "out/arm", "{canary}/dir"),),
            why="a planted folder link: writes must stay inside out/ (refuse, or replace the link)",
        ),
        Case("fs-out-arm-a-file", fs, "reject", ("arm",), fs=(("file", "out/arm", "not a folder\n"),)),
        Case("fs-out-read-only", fs, "reject", ("out",), fs=(("immutable", "out"),)),
        Case("fs-out-symlink-loop", fs, "reject", ("out",), fs=(("symlink", "out", "out"),)),
        Case(
            "fs-out-through-symlinked-parent",
            fs,
            "either",
            ("link",),
            args=("plan", "-f", SPEC, "--out", "link/out"),
            fs=(("symlink", "link", "{canary}/dir"),),
            writes=("{canary}/dir/out",),
            out="link/out",
            why="the user named link/out; writing where it resolves (only there) or refusing are both sound",
        ),
        Case(
            "fs-report-tmp-symlink",
            fs,
            "either",
            ("out",),
            args=("report", "-f", SPEC, "--out", "out"),
            fs=(("symlink", "out/sbom.cdx.json.tmp", TARGET),),
            verify=None,
        ),
        Case(
            "fs-init-spec-symlink",
            fs,
            "either",
            ("jumpbox.yaml",),
            args=("init", "--dir", "new", "--force"),
            fs=(("symlink", "new/jumpbox.yaml", TARGET),),
            writes=("{work}/new",),
            verify=None,
        ),
        Case(
            "fs-init-lock-tmp-symlink",
            fs,
            "either",
            ("jumpbox.lock.json",),
            args=("init", "--dir", "new", "--force"),
            fs=(("symlink", "new/jumpbox.lock.json.tmp", TARGET),),
            writes=("{work}/new",),
            verify=None,
        ),
        Case(
            "fs-ci-out-symlink",
            fs,
            "either",
            ("wf.yml",),
            args=("ci", "github", "--out", "wf.yml", "--force"),
            fs=(("symlink", "wf.yml", TARGET),),
            writes=("{work}/wf.yml",),
            verify=None,
        ),
        Case(
            "fs-lock-tmp-symlink",
            fs,
            "either",
            (LOCK,),
            args=("lock", "-f", SPEC),
            server=True,
            spec={"tools": {"helm": "4.3.0"}, "mirror.artifacts": "{mirror}/m"},
            prepare=_serve_helm_checksums,
            fs=(("symlink", "jumpbox.lock.json.tmp", TARGET),),
            writes=("{work}/jumpbox.lock.json", "{work}/jumpbox.lock.json.tmp"),
            verify=None,
            why="`lock` wrote <lock>.tmp through a planted link",
        ),
    ]


def _serve_helm_checksums(ws) -> None:
    """The mirror `lock` reads checksum files from: {root}/www/m/helm/4.3.0/<arch>/<file>.sha256sum, listing
    the digests the lock already pins (a changed digest is refused, rightly)."""
    import json

    locked = json.loads((ws.work / LOCK).read_text())["tools"]["helm"][0]["artifacts"]
    for arch in ("amd64", "arm64"):
        folder = ws.root / "www" / "m" / "helm" / "4.3.0" / arch
        folder.mkdir(parents=True)
        name = f"helm-v4.3.0-linux-{arch}.tar.gz"
        (folder / f"{name}.sha256sum").write_text(f"{locked[arch]['sha256']}  {name}\n")
    # and Microsoft's extension index, where `lock` reads the spec's Azure CLI extensions in mirror mode
    ext = json.loads((ws.work / LOCK).read_text())["azureCli"]["extensions"]["aks-preview"][0]
    index = ws.root / "www" / "m" / "azure-cli-extensions" / "index.json"
    index.parent.mkdir(parents=True)
    index.write_text(
        json.dumps(
            {
                "extensions": {
                    "aks-preview": [
                        {
                            "downloadUrl": ext["url"],
                            "sha256Digest": ext["sha256"],
                            "metadata": {"version": ext["version"]},
                        }
                    ]
                }
            }
        )
    )


# ---------------------------------------------------------------------------------------------

ALIAS_BOMB = """a: &a ["x","x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]
name: [*i,*i,*i,*i,*i,*i,*i,*i,*i,*i]
"""


def _big(name: str, size: int, fill: bytes = b" "):
    """The file as init wrote it, then `size` bytes of `fill` (whitespace or comments: still valid)."""

    def prepare(ws) -> None:
        with open(ws.work / name, "ab") as fh:
            chunk = fill * (MIB // len(fill))
            fh.writelines(chunk for _ in range(size // MIB))

    return prepare


def _exhaustion_cases() -> list[Case]:
    ex = "resource-exhaustion"
    return [
        Case(
            "ex-yaml-alias-bomb",
            ex,
            "reject",
            (SPEC,),
            spec_text=ALIAS_BOMB,
            why="ten lines expanded past 60 s and 5 GB",
        ),
        Case(
            "ex-yaml-deep-sequences",
            ex,
            "reject",
            (SPEC,),
            spec_text="name: " + "[" * 10000 + "]" * 10000 + "\n",
        ),
        Case(
            "ex-yaml-deep-mappings",
            ex,
            "reject",
            (SPEC,),
            spec_text="name: " + "{a: " * 10000 + "1" + "}" * 10000 + "\n",
        ),
        Case(
            "ex-yaml-many-aliases",
            ex,
            "reject",
            (SPEC,),
            spec_text="x: &x " + "a" * 1000 + "\nname: [" + ",".join(["*x"] * 100000) + "]\n",
        ),
        Case(
            "ex-spec-huge",
            ex,
            "reject",
            (SPEC,),
            prepare=_big(SPEC, 24 * MIB, b"#" * 79 + b"\n"),
            why="every input file has a size limit (a spec is a few KB)",
        ),
        Case("ex-lock-huge", ex, "reject", (LOCK,), prepare=_big(LOCK, 64 * MIB)),
        Case("ex-lock-deep-json", ex, "reject", (LOCK,), lock_text="[" * 100000 + "]" * 100000),
        Case(
            "ex-spec-devzero-arg",
            ex,
            "reject",
            ("/dev/zero",),
            args=("plan", "-f", "/dev/zero", "--out", "out"),
        ),
        Case(
            "ex-lock-devzero-arg",
            ex,
            "reject",
            ("/dev/zero",),
            args=("plan", "-f", SPEC, "--lock", "/dev/zero", "--out", "out"),
        ),
        Case(
            "ex-report-log-devzero",
            ex,
            "reject",
            ("/dev/zero",),
            args=("report", "-f", SPEC, "--log", "/dev/zero", "--out", "out"),
            verify=None,
        ),
        Case(
            "ex-diff-devzero",
            ex,
            "reject",
            ("/dev/zero",),
            args=("diff", "/dev/zero", "/dev/zero"),
            verify=None,
        ),
    ]


# ---------------------------------------------------------------------------------------------


def _cli_cases() -> list[Case]:
    cli = "cli-argument"
    return [
        Case(
            "cli-spec-fifo",
            cli,
            "reject",
            ("spec.fifo",),
            args=("plan", "-f", "spec.fifo", "--out", "out"),
            fs=(("fifo", "spec.fifo"),),
        ),
        Case(
            "cli-spec-a-directory",
            cli,
            "reject",
            ("somedir",),
            args=("plan", "-f", "somedir", "--out", "out"),
            fs=(("dir", "somedir"),),
        ),
        Case(
            "cli-lock-fifo",
            cli,
            "reject",
            ("l.fifo",),
            args=("plan", "-f", SPEC, "--lock", "l.fifo", "--out", "out"),
            fs=(("fifo", "l.fifo"),),
        ),
        Case(
            "cli-out-a-file",
            cli,
            "reject",
            ("--out", "afile"),
            args=("plan", "-f", SPEC, "--out", "afile"),
            fs=(("file", "afile", "x\n"),),
        ),
        Case("cli-out-dev-null", cli, "reject", ("/dev/null",), args=("plan", "-f", SPEC, "--out", "/dev/null")),
        Case(
            "cli-out-empty",
            cli,
            "reject",
            ("--out",),
            args=("plan", "-f", SPEC, "--out", ""),
            why="an empty --out would scatter the files into the current folder",
        ),
        Case("cli-bad-output-format", cli, "reject", ("--output",), args=("plan", "-f", SPEC, "-o", "yaml")),
        Case(
            "cli-spec-path-newline",
            cli,
            "reject",
            ("name",),
            args=("plan", "-f", "x\ny.yaml", "--out", "out"),
            spec={"name": "BAD NAME"},
            max_lines=1,
            prepare=lambda ws: (ws.work / "x\ny.yaml").write_bytes((ws.work / SPEC).read_bytes()),
            why="a file name with a newline must not split the one error line in two",
        ),
        Case(
            "cli-report-log-fifo",
            cli,
            "reject",
            ("log.fifo",),
            args=("report", "-f", SPEC, "--log", "log.fifo", "--out", "out"),
            fs=(("fifo", "log.fifo"),),
            verify=None,
        ),
        Case(
            "cli-diff-fifo",
            cli,
            "reject",
            ("a.fifo",),
            args=("diff", "a.fifo", "a.fifo"),
            fs=(("fifo", "a.fifo"),),
            verify=None,
        ),
        Case(
            "cli-diff-duplicate-keys",
            cli,
            "reject",
            ("a.json",),
            args=("diff", "a.json", "a.json"),
            fs=(("file", "a.json", '{"schema": "x", "schema": "aks-jumpbox/software-report/v1"}'),),
            verify=None,
        ),
        Case(
            "cli-mirror-to-a-file",
            cli,
            "reject",
            ("--to", "afile"),
            args=("mirror", "sync", "-f", SPEC, "--to", "afile", "--from", "src"),
            fs=(("file", "afile", "x\n"), ("dir", "src")),
            verify=None,
        ),
        Case(
            "cli-init-dir-a-file",
            cli,
            "reject",
            ("afile",),
            args=("init", "--dir", "afile"),
            fs=(("file", "afile", "x\n"),),
            verify=None,
        ),
        Case(
            "cli-check-snapshot-a-file",
            cli,
            "reject",
            ("--snapshot",),
            args=("check", "-f", SPEC, "--snapshot", "afile"),
            fs=(("file", "afile", "{}"),),
            verify=None,
        ),
        Case(
            "cli-report-upload-userinfo",
            cli,
            "reject",
            ("--upload-to",),
            args=(
                "report",
                "-f",
                SPEC,
                "--out",
                "out",
                "--upload-to",
                "https://user:secret@acct.blob.core.windows.net/reports",
            ),
            verify=None,
            why="credentials in a URL are refused before anything is written or contacted",
        ),
        Case(
            "cli-feed-userinfo",
            cli,
            "reject",
            ("--feed",),
            args=("outdated", "-f", SPEC, "--feed", "https://u:p@127.0.0.1:{trip}/feed"),
            verify=None,
        ),
        Case(
            "cli-plan-no-write",
            cli,
            "inert",
            args=("plan", "-f", SPEC, "--no-write", "-o", "json"),
            writes=(),
            verify=None,
            why="--no-write writes nothing at all",
        ),
    ]


CASES = _filesystem_cases() + _exhaustion_cases() + _cli_cases()
PLAN_ARGS = PLAN
