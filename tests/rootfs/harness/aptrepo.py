"""Signed local apt repositories for the loopback mirror, built with dpkg-deb and apt-ftparchive.

Three repositories, laid out like the real ones so the product's mirror settings point at them:
  debian/           suites bookworm, bookworm-updates: the .debs the rootfs was built from, plus
                    `harness-canary` 1.0 (see below)
  debian-security/  suite bookworm-security: `harness-canary` 1.1 (a security update)
  azure-cli/        suite bookworm, component main: stand-in `azure-cli` packages, the locked
                    version and a newer one (so an unpinned install shows)
Every component the product names (main contrib non-free non-free-firmware) exists (empty
where Debian would have packages we do not need).

Two throw-away OpenPGP keys (batch, no passphrase, in a temporary GNUPGHOME): the OS key is put
into the rootfs's trusted keyring as part of the "base image" (as Debian's archive key is on a
real image); the Azure CLI key is only published on the mirror, so the product must fetch it,
check its fingerprint and use it with Signed-By for the Azure CLI repository to verify.

`harness-canary` 1.0 is installed in the base image and its conffile edited locally, as cloud
images edit sshd_config; 1.1 changes that conffile. A full upgrade that is not fully
non-interactive stops at dpkg's conffile question (and fails without a terminal).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
COMPONENTS = ("main", "contrib", "non-free", "non-free-firmware")
CANARY = "harness-canary"
CANARY_CONFFILE = "/etc/harness-canary.conf"


# ---------------------------------------------------------------------------------------------
# Keys


@dataclass(frozen=True)
class SigningKey:
    gnupghome: Path
    fingerprint: str
    armored: str  # the public key, ASCII-armored (what a vendor publishes)
    keyring: bytes  # the public key, binary (what goes into /etc/apt/trusted.gpg.d/*.gpg)


def _gpg(home: Path, *args: str, input: bytes | None = None) -> bytes:
    proc = subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--quiet", "--no-tty", *args],
        input=input,
        capture_output=True,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"gpg {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
    return proc.stdout


def make_key(home: Path, uid: str) -> SigningKey:
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    _gpg(home, "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never")
    colons = _gpg(home, "--with-colons", "--list-keys", uid).decode()
    fpr = next(line.split(":")[9] for line in colons.splitlines() if line.startswith("fpr:"))
    return SigningKey(
        gnupghome=home,
        fingerprint=fpr,
        armored=_gpg(home, "--armor", "--export", fpr).decode(),
        keyring=_gpg(home, "--export", fpr),
    )


def stop_agent(home: Path) -> None:
    """gpg starts an agent per GNUPGHOME; end it so no process outlives the run."""
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True)


# ---------------------------------------------------------------------------------------------
# Packages


def build_deb(
    out_dir: Path,
    name: str,
    version: str,
    files: dict[str, tuple[bytes, int]],
    description: str,
    conffiles: Sequence[str] = (),
    depends: str | None = None,
    arch: str = "all",
    section: str = "misc",
) -> Path:
    """A .deb with the given files ({path: (content, mode)}), built by dpkg-deb as root:root."""
    with tempfile.TemporaryDirectory(prefix="deb-") as tmp:
        root = Path(tmp)
        for path, (content, mode) in files.items():
            p = root / path.lstrip("/")
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content)
            p.chmod(mode)
        (root / "DEBIAN").mkdir()
        control = (
            f"Package: {name}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: aks-jumpbox harness"
            f" <harness@invalid>\nSection: {section}\nPriority: optional\n"
        )
        if depends:
            control += f"Depends: {depends}\n"
        control += f"Description: {description}\n Built by the aks-jumpbox rootfs test harness.\n"
        (root / "DEBIAN/control").write_text(control)
        if conffiles:
            (root / "DEBIAN/conffiles").write_text("".join(c + "\n" for c in conffiles))
        out_dir.mkdir(parents=True, exist_ok=True)
        deb = out_dir / f"{name}_{version.replace(':', '%3a')}_{arch}.deb"
        subprocess.run(
            ["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root), str(deb)], check=True, capture_output=True
        )
    return deb


def canary_deb(out_dir: Path, version: str) -> Path:
    conf = f"# harness-canary configuration, version {version}\nsetting = {version}\n".encode()
    return build_deb(
        out_dir,
        CANARY,
        version,
        {CANARY_CONFFILE: (conf, 0o644), f"/usr/share/doc/{CANARY}/VERSION": (version.encode() + b"\n", 0o644)},
        "canary for the full upgrade (conffile changes between versions)",
        conffiles=[CANARY_CONFFILE],
    )


def azure_cli_deb(out_dir: Path, version: str, codename: str) -> Path:
    script = (HERE / "az_standin.sh").read_text().replace("@AZ_VERSION@", version).encode()
    return build_deb(
        out_dir,
        "azure-cli",
        f"{version}-1~{codename}",
        {"/usr/bin/az": (script, 0o755), "/usr/share/doc/azure-cli/VERSION": (version.encode() + b"\n", 0o644)},
        "Azure CLI (stand-in)",
        depends="ca-certificates, curl, unzip",
        arch="amd64",
        section="python",
    )


def extension_wheel(name: str, version: str) -> tuple[str, bytes]:
    """A minimal wheel for an Azure CLI extension: (file name, bytes)."""
    module = "azext_" + name.replace("-", "_")
    dist = f"{name.replace('-', '_')}-{version}"
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, text in (
            (f"{module}/__init__.py", f"# stand-in {name} {version}\n"),
            (f"{module}/azext_metadata.json", json.dumps({"azext.minCliCoreVersion": "2.60.0"}) + "\n"),
            (f"{dist}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
            (
                f"{dist}.dist-info/WHEEL",
                "Wheel-Version: 1.0\nGenerator: harness\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            ),
        ):
            info = zipfile.ZipInfo(path, date_time=(2025, 6, 15, 12, 0, 0))
            zf.writestr(info, text)
    return f"{dist}-py2.py3-none-any.whl", raw.getvalue()


# ---------------------------------------------------------------------------------------------
# Repositories


def _sign(key: SigningKey, release: Path) -> None:
    _gpg(
        key.gnupghome,
        "--yes",
        "--local-user",
        key.fingerprint,
        "--digest-algo",
        "SHA512",
        "--clearsign",
        "--output",
        str(release.with_name("InRelease")),
        str(release),
    )
    _gpg(
        key.gnupghome,
        "--yes",
        "--local-user",
        key.fingerprint,
        "--digest-algo",
        "SHA512",
        "--armor",
        "--detach-sign",
        "--output",
        str(release.with_name("Release.gpg")),
        str(release),
    )


def build_repo(
    repo: Path,
    suites: dict[str, dict[str, Sequence[Path]]],
    key: SigningKey,
    *,
    origin: str,
    label: str,
    suite_names: dict[str, str] | None = None,
    components: Sequence[str] = COMPONENTS,
    arch: str = "amd64",
) -> None:
    """A signed repository at repo: suites = {codename: {component: [.deb, ...]}}."""
    for codename, comps in suites.items():
        for comp in components:
            pool = repo / "pool" / codename / comp
            pool.mkdir(parents=True, exist_ok=True)
            for deb in comps.get(comp, ()):
                target = pool / deb.name
                if not target.exists():
                    with contextlib.suppress(OSError):
                        os.link(deb, target)
                    if not target.exists():
                        shutil.copy2(deb, target)
            bindir = repo / "dists" / codename / comp / f"binary-{arch}"
            bindir.mkdir(parents=True, exist_ok=True)
            packages = subprocess.run(
                ["apt-ftparchive", "packages", f"pool/{codename}/{comp}"], cwd=repo, check=True, capture_output=True
            ).stdout
            (bindir / "Packages").write_bytes(packages)
            subprocess.run(["gzip", "-9nkf", str(bindir / "Packages")], check=True)
        dist = repo / "dists" / codename
        opts = {
            "Origin": origin,
            "Label": label,
            "Suite": (suite_names or {}).get(codename, codename),
            "Codename": codename,
            "Architectures": arch,
            "Components": " ".join(components),
            "Description": f"{label} {codename} (aks-jumpbox harness)",
        }
        cmd = ["apt-ftparchive"]
        for k, v in opts.items():
            cmd += ["-o", f"APT::FTPArchive::Release::{k}={v}"]
        release = subprocess.run([*cmd, "release", "."], cwd=dist, check=True, capture_output=True).stdout
        (dist / "Release").write_bytes(release)
        _sign(key, dist / "Release")


@dataclass(frozen=True)
class Repos:
    """What the harness publishes for apt on the mirror, and the keys behind it."""

    os_key: SigningKey
    cli_key: SigningKey
    codename: str
    canary_old: Path
    azure_cli_versions: tuple[str, ...]
    extension_index: str  # path on the mirror of the Azure CLI extension index
    # name -> (version, wheel file name, sha256): the wheels, also in the mirror layout the plan fetches
    # (artifacts/azure-cli-extensions/<name>/<version>/<file>), for the lock to pin
    extension_wheels: dict[str, tuple[str, str, str]]
    key_path: str  # path on the mirror of the Azure CLI signing key


def build_all(
    mirror_root: Path,
    work: Path,
    rootfs_debs: Path,
    azure_cli_versions: Sequence[str],
    codename: str = "bookworm",
    extensions: dict[str, str] | None = None,
    artifacts_url: str | None = None,
    os_key: SigningKey | None = None,
) -> Repos:
    """Publish debian/, debian-security/, azure-cli/ and the key under mirror_root (the OS repositories
    signed with os_key when given, else a new throw-away key)."""
    os_key = os_key or make_key(work / "gnupg-os", "aks-jumpbox harness OS archive <os@harness.invalid>")
    cli_key = make_key(work / "gnupg-cli", "aks-jumpbox harness Azure CLI <cli@harness.invalid>")
    try:
        debs = work / "debs"
        old, new = canary_deb(debs, "1.0"), canary_deb(debs, "1.1")
        base = sorted(p for p in rootfs_debs.glob("*.deb"))
        build_repo(
            mirror_root / "debian",
            {codename: {"main": [*base, old]}, f"{codename}-updates": {}},
            os_key,
            origin="Debian",
            label="Debian",
            suite_names={codename: "stable", f"{codename}-updates": "stable-updates"},
        )
        build_repo(
            mirror_root / "debian-security",
            {f"{codename}-security": {"main": [new]}},
            os_key,
            origin="Debian",
            label="Debian-Security",
            suite_names={f"{codename}-security": "stable-security"},
        )
        cli = [azure_cli_deb(debs / "cli", v, codename) for v in azure_cli_versions]
        build_repo(
            mirror_root / "azure-cli",
            {codename: {"main": cli}},
            cli_key,
            origin=f"azure-cli {codename}",
            label=f"azure-cli {codename}",
            components=("main",),
        )
    finally:
        stop_agent(os_key.gnupghome)
        stop_agent(cli_key.gnupghome)
    keys = mirror_root / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    (keys / "azure-cli.asc").write_text(cli_key.armored)
    # Azure CLI extensions: wheels plus an index in the public index's format, where mirror
    # mode looks for them: {artifacts}/azure-cli-extensions/index.json
    ext_dir = mirror_root / "artifacts" / "azure-cli-extensions"
    ext_dir.mkdir(parents=True, exist_ok=True)
    entries, wheels = {}, {}
    for name, version in (extensions or {}).items():
        fname, data = extension_wheel(name, version)
        (ext_dir / fname).write_bytes(data)
        pinned = ext_dir / name / version / fname
        pinned.parent.mkdir(parents=True, exist_ok=True)
        pinned.write_bytes(data)
        wheels[name] = (version, fname, hashlib.sha256(data).hexdigest())
        url = f"{artifacts_url}/azure-cli-extensions/{fname}" if artifacts_url else fname
        entries[name] = [
            {
                "downloadUrl": url,
                "filename": fname,
                "sha256Digest": hashlib.sha256(data).hexdigest(),
                "metadata": {"name": name, "version": version},
            }
        ]
    # one entry per line: the stand-in az reads it without a JSON parser
    lines = ['{"formatVersion": "1", "extensions": {']
    lines.append(",\n".join(f'"{n}": [{json.dumps(e[0])}]' for n, e in sorted(entries.items())))
    lines.append("}}")
    (ext_dir / "index.json").write_text("\n".join(lines) + "\n")
    return Repos(
        os_key=os_key,
        cli_key=cli_key,
        codename=codename,
        canary_old=old,
        azure_cli_versions=tuple(azure_cli_versions),
        extension_index="artifacts/azure-cli-extensions/index.json",
        extension_wheels=wheels,
        key_path="keys/azure-cli.asc",
    )


# ---------------------------------------------------------------------------------------------
# The "base image" side: what a Debian image on Azure has before provision.sh runs


def azure_debian_sources(archive: str, security: str, codename: str) -> str:
    """/etc/apt/sources.list as a Debian image on Azure has it (the catalog's archive URLs).

    No Signed-By: the image trusts the keys in /etc/apt/trusted.gpg.d, where the base image
    setup also puts the harness's OS archive key.
    """
    comps = "main contrib non-free non-free-firmware"
    return (
        f"deb {archive} {codename} {comps}\n"
        f"deb {archive} {codename}-updates {comps}\n"
        f"deb {security} {codename}-security {comps}\n"
    )


@contextlib.contextmanager
def temporary_gnupghome() -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="aksjb-gnupg-"))
    try:
        yield home
    finally:
        stop_agent(home)
        shutil.rmtree(home, ignore_errors=True)
