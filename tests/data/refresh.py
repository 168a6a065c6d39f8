"""Re-copy the vendored upstream test data, unchanged, from local git checkouts of its repositories.

    python tests/data/refresh.py --arm-schemas ~/src/azure-resource-manager-schemas
    python tests/data/refresh.py --rest-api-specs ~/src/azure-rest-api-specs@<commit> [--check]
    python tests/data/refresh.py --upstream-guide ~/src/aks-jumpbox-imagebuilder@4420841

Each option takes a git repository on this machine (a clone, a sparse or a bare one) and an optional
``@REV`` (default HEAD). Files are read with ``git show REV:path``, so the work tree may be anywhere.
Exactly the files in SOURCES are copied, byte for byte, then the folder's PROVENANCE.md is rewritten
with the commit. ``--check`` compares instead and writes nothing (exit 1 when a file differs).
This needs no network and is not run by the tests or CI; tests/contract/test_vendored_data.py keeps
SOURCES, the files on disk and the PROVENANCE tables in step.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMAGEBUILDER = (
    "specification/imagebuilder/resource-manager/Microsoft.VirtualMachineImages/ImageBuilder/stable/2025-10-01"
)
IMAGE_TEMPLATE_EXAMPLES = (
    "CreateImageTemplateLinux",
    "CreateImageTemplateWindows",
    "GetImageTemplate",
    "ListImageTemplates",
    "ListImageTemplatesByRg",
    "UpdateImageTemplateTags",
    "UpdateImageTemplateToRemoveIdentities",
    "UpdateImageTemplateVmProfile",
)


@dataclass(frozen=True)
class Source:
    option: str  # the command-line option naming a checkout of ``repo``
    repo: str  # owner/name on GitHub
    folder: str  # under tests/data
    files: dict[str, str]  # vendored path (relative to folder) -> path in the upstream repository
    note: str  # what the files are for, for PROVENANCE.md

    @property
    def dest(self) -> Path:
        return HERE / self.folder


SOURCES = (
    Source(
        "--arm-schemas",
        "Azure/azure-resource-manager-schemas",
        "arm-schemas",
        {
            path: f"schemas/{path}"
            for path in (
                "2022-04-01/Microsoft.Authorization.json",
                "2024-11-30/Microsoft.ManagedIdentity.json",
                "2025-03-03/Microsoft.Compute.json",
                "2025-07-01/Microsoft.Network.NRP.json",
                "2025-10-01/Microsoft.VirtualMachineImages.json",
                "common/definitions.json",
            )
        }
        | {"LICENSE": "LICENSE"},
        "Microsoft's ARM JSON schemas for the resource types and api-versions the rendered templates and the "
        "ARM emulator's PUT bodies use (tests/support/arm_schema.py, tests/emulator/schemas.py). The layout "
        "is upstream's `schemas/` folder, so a `$ref` to "
        "`https://schema.management.azure.com/schemas/<path>` is `<path>` here.",
    ),
    Source(
        "--rest-api-specs",
        "Azure/azure-rest-api-specs",
        "rest-api-specs/imagebuilder/2025-10-01",
        {"imagebuilder.json": f"{IMAGEBUILDER}/imagebuilder.json"}
        | {f"examples/{n}.json": f"{IMAGEBUILDER}/examples/{n}.json" for n in IMAGE_TEMPLATE_EXAMPLES}
        | {"LICENSE": "LICENSE"},
        "Azure VM Image Builder's REST API (OpenAPI 2.0) for api-version 2025-10-01 and its examples of "
        "image template requests and responses (tests/contract/test_imagebuilder_swagger.py).",
    ),
    Source(
        "--upstream-guide",
        "mspnp/aks-jumpbox-imagebuilder",
        "mspnp-aks-jumpbox-imagebuilder",
        {"README.md": "README.md", "LICENSE": "LICENSE"},
        'The upstream AKS jump box guide at the commit whose "Before we begin" network tables (the build '
        "subnet's NSG, the egress FQDNs including fluxcd.io) the locked-down network fixtures in "
        "tests/unit/preflight/fixtures/upstream model (tests/unit/preflight/test_upstream_network.py).",
    ),
)


class Refusal(Exception):
    """Bad input: one message naming the argument and the fix; exit 2."""


def git(repo: Path, *args: str) -> bytes:
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True)
    if result.returncode != 0:
        raise Refusal(f"git -C {repo} {' '.join(args)}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def read_upstream(source: Source, spec: str) -> tuple[str, str, dict[str, bytes]]:
    """(commit, commit date, vendored path -> bytes) for every file of source, or Refusal."""
    path, _, rev = spec.partition("@")
    repo = Path(path).expanduser()
    if not repo.exists():
        raise Refusal(f"{source.option} {spec}: no such folder; give a local clone of github.com/{source.repo}")
    try:
        commit = git(repo, "rev-parse", "--verify", f"{rev or 'HEAD'}^{{commit}}").decode().strip()
    except Refusal as err:
        raise Refusal(f"{source.option} {spec}: not a git checkout with that revision ({err})") from None
    date = git(repo, "show", "-s", "--format=%cs", commit).decode().strip()
    missing, data = [], {}
    for vendored, upstream in sorted(source.files.items()):
        try:
            data[vendored] = git(repo, "show", f"{commit}:{upstream}")
        except Refusal:
            missing.append(upstream)
    if missing:
        raise Refusal(
            f"{source.option} {spec}: commit {commit[:12]} lacks {', '.join(missing)}; "
            f"is it a clone of github.com/{source.repo} (a sparse one must include these paths)?"
        )
    return commit, date, data


def provenance(source: Source, commit: str, date: str) -> str:
    files = sorted((v, u) for v, u in source.files.items() if v != "LICENSE")
    rows = "\n".join(f"| {v} | {u} | {commit} | {date} |" for v, u in files)
    return (
        f"# Vendored from {source.repo}\n\n{source.note}\n\n"
        f"Every file below is a byte-for-byte copy of https://github.com/{source.repo} at the commit "
        f"shown, under that repository's MIT licence (LICENSE here, copied from the same commit). Nothing "
        f"is edited; what the tests must adjust, they adjust in memory. Refresh with "
        f"`python tests/data/refresh.py {source.option} PATH[@REV]` (a local clone; never run by the tests "
        f"or CI).\n\n"
        f"| file | upstream path | commit | commit date |\n|---|---|---|---|\n{rows}\n"
    )


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for source in SOURCES:
        parser.add_argument(source.option, metavar="PATH[@REV]", help=f"a local clone of github.com/{source.repo}")
    parser.add_argument("--check", action="store_true", help="compare with upstream, write nothing")
    args = parser.parse_args(argv)
    chosen = [(s, getattr(args, s.option[2:].replace("-", "_"))) for s in SOURCES]
    chosen = [(s, spec) for s, spec in chosen if spec]
    if not chosen:
        parser.error("give at least one of " + ", ".join(s.option for s in SOURCES))
    try:  # read everything before writing anything
        fetched = [(source, *read_upstream(source, spec)) for source, spec in chosen]
    except Refusal as err:
        print(f"refresh: {err}", file=sys.stderr)
        return 2
    differ = 0
    for source, commit, date, data in fetched:
        for vendored, content in data.items():
            target = source.dest / vendored
            same = target.exists() and target.read_bytes() == content
            if args.check:
                differ += not same
                print(f"{'same' if same else 'DIFFERS'} {source.folder}/{vendored}")
            elif not same:
                write_atomically(target, content)
        if not args.check:
            write_atomically(source.dest / "PROVENANCE.md", provenance(source, commit, date).encode())
            print(f"{source.folder}: {len(data)} files at {source.repo}@{commit[:12]} ({date})")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
