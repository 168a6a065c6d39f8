"""The harness's world: mirror content, spec and lock written like a user would, rendered scripts.

A `World` holds, for one test session, the loopback HTTPS mirror (artifacts laid out as mirror
mode expects, signed apt repositories, the Azure CLI key, extension wheels), the throw-away CA,
and the cached rootfs image. `vm()` gives a fresh "build VM": the rootfs with the base-image
setup done (Azure's Debian sources, the OS archive key trusted, the canary package installed).
`render()` writes jumpbox.yaml + jumpbox.lock.json and runs the product's CLI on them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trustme
import yaml

from aks_jumpbox.core.catalog import Catalog, load_catalog
from aks_jumpbox.core.spec import default_spec_text

from . import aptrepo
from .archives import StandIn, build_stand_in
from .mirror import Mirror
from .rootfs import Chroot, RootfsImage

BASE_IMAGE = "debian-12"
ARCH = "amd64"
# Besides the locked one, the Azure CLI repository has a newer version: an unpinned install shows.
NEWER_AZURE_CLI = "9.99.0"


def cli_command() -> list[str]:
    """How to run the product's CLI from this test process's environment."""
    exe = Path(sys.executable).parent / "aks-jumpbox"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("aks-jumpbox")
    if found:
        return [found]
    return [sys.executable, "-c", "from aks_jumpbox.cli.main import main; main()"]


@dataclass
class Rendered:
    out: Path
    spec_path: Path
    lock_path: Path
    provision: Path
    validate: Path
    plan_output: str


@dataclass
class World:
    image: RootfsImage
    mirror: Mirror
    repos: aptrepo.Repos
    stand_ins: dict[str, StandIn]
    spec_doc: dict[str, Any]
    workdir: Path
    catalog: Catalog = field(default_factory=load_catalog)

    # -- mirror paths
    @property
    def artifacts_url(self) -> str:
        return self.mirror.url("artifacts")

    def artifact_path(self, tool: str) -> str:
        s = self.stand_ins[tool]
        return f"/artifacts/{s.tool}/{s.version}/{s.arch}/{s.basename}"

    def artifact_file(self, tool: str) -> Path:
        return self.mirror.root / self.artifact_path(tool).lstrip("/")

    def mirror_settings(self) -> dict[str, Any]:
        return {
            "artifacts": self.artifacts_url,
            "apt": self.mirror.url("debian/"),
            "apt_security": self.mirror.url("debian-security/"),
            "azure_cli_repo": self.mirror.url("azure-cli/"),
            "azure_cli_key_url": self.mirror.url(self.repos.key_path),
            "azure_cli_key_fingerprints": [self.repos.cli_key.fingerprint],
            "ca_certificate": self.mirror.ca_pem,
        }

    # -- spec, lock, render
    def spec(self, mirror: dict[str, Any] | None = None, **build_overrides: Any) -> dict[str, Any]:
        """The test spec: the default spec on debian-12, in mirror mode (mirror overrides settings)."""
        doc = json.loads(json.dumps(self.spec_doc))
        doc["base_image"] = BASE_IMAGE
        doc["architecture"] = ARCH
        doc["mirror"] = self.mirror_settings() | (mirror or {})
        doc["build"].update(build_overrides)
        return doc

    def artifacts_variant(self, label: str) -> tuple[str, Path]:
        """A copy of the artifact tree at /variants/<label>/artifacts: (its URL, its folder).

        Files are hard links to the originals: replace a file (unlink, write), never edit it.
        """
        folder = self.mirror.root / "variants" / label / "artifacts"
        if folder.exists():
            shutil.rmtree(folder)
        shutil.copytree(self.mirror.root / "artifacts", folder, copy_function=os.link)
        return self.mirror.url(f"variants/{label}/artifacts"), folder

    def variant_artifact_file(self, folder: Path, tool: str) -> Path:
        s = self.stand_ins[tool]
        return folder / s.tool / s.version / s.arch / s.basename

    def lock(self, digests: dict[str, str] | None = None) -> dict[str, Any]:
        """The lock for the stand-ins; digests overrides a tool's recorded SHA-256."""
        return lock_document(
            self.stand_ins, [self.spec_doc["azure_cli"]["version"]], digests, self.repos.extension_wheels
        )

    def render(self, out: Path, spec: dict[str, Any] | None = None, lock: dict[str, Any] | None = None) -> Rendered:
        return render_plan(out, spec or self.spec(), lock or self.lock())

    # -- the build VM
    @contextlib.contextmanager
    def vm(self, workdir: Path) -> Iterator[Chroot]:
        with Chroot(self.image, workdir) as root:
            self.prepare_base_image(root)
            yield root

    def prepare_base_image(self, root: Chroot) -> None:
        """What a Debian 12 image on Azure has before the build's script runs."""
        img = self.catalog.base_images[BASE_IMAGE]
        root.write(
            "/etc/apt/sources.list", aptrepo.azure_debian_sources(img.apt_archive, img.apt_security, img.codename)
        )
        root.write("/etc/apt/trusted.gpg.d/aks-jumpbox-harness-os.gpg", self.repos.os_key.keyring)
        deb = root.write("/tmp/harness-canary.deb", self.repos.canary_old.read_bytes())
        res = root.run(["dpkg", "-i", "/tmp/harness-canary.deb"], timeout=60)
        if res.returncode != 0:
            raise RuntimeError(f"base image: installing the canary failed:\n{res.output}")
        deb.unlink()
        conf = root.path(aptrepo.CANARY_CONFFILE)
        conf.write_text(conf.read_text() + "# edited on the image\n")

    def install_scripts(self, root: Chroot, rendered: Rendered) -> None:
        for script in (rendered.provision, rendered.validate):
            root.write(f"/root/{script.name}", script.read_bytes(), mode=0o700)


def lock_document(
    stand_ins: dict[str, StandIn],
    azure_cli_versions: list[str],
    digests: dict[str, str] | None = None,
    wheels: dict[str, tuple[str, str, str]] | None = None,
) -> dict[str, Any]:
    """A jumpbox.lock.json (aks-jumpbox/lock/v1) pinning the stand-ins' real digests, and the Azure CLI
    extensions' wheels (name -> version, file, sha256) at an upstream URL the plan maps into the mirror."""
    tools = {}
    for name, s in sorted(stand_ins.items()):
        tools[name] = [
            {
                "version": s.version,
                "artifacts": {
                    s.arch: {
                        "url": s.upstream_url,
                        "sha256": (digests or {}).get(name, s.sha256),
                        "checksumUrl": s.checksum_url,
                        "source": "checksum-file",
                    }
                },
            }
        ]
    extensions = {
        name: [
            {
                "version": version,
                "sha256": sha,
                "source": "harness",
                "url": f"https://azcliprod.blob.core.windows.net/cli-extensions/{fname}",
            }
        ]
        for name, (version, fname, sha) in sorted((wheels or {}).items())
    }
    return {
        "schema": "aks-jumpbox/lock/v1",
        "tools": tools,
        "azureCli": {"versions": azure_cli_versions, "extensions": extensions},
    }


def render_plan(out: Path, spec: dict[str, Any], lock: dict[str, Any]) -> Rendered:
    """Write spec and lock as files and run `aks-jumpbox plan` on them, as a user would."""
    out.mkdir(parents=True, exist_ok=True)
    spec_path, lock_path = out / "jumpbox.yaml", out / "jumpbox.lock.json"
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    lock_path.write_text(json.dumps(lock, indent=2) + "\n")
    rendered = out / "rendered"
    cmd = [*cli_command(), "plan", "-f", str(spec_path), "--lock", str(lock_path), "--out", str(rendered)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=120)
    if proc.returncode != 0:
        raise AssertionError(f"`{' '.join(cmd)}` failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return Rendered(
        out=rendered,
        spec_path=spec_path,
        lock_path=lock_path,
        provision=rendered / "provision.sh",
        validate=rendered / "validate.sh",
        plan_output=proc.stdout + proc.stderr,
    )


def default_tools(spec_doc: dict[str, Any]) -> dict[str, str]:
    return {name: str(v["version"] if isinstance(v, dict) else v) for name, v in spec_doc["tools"].items()}


def create_world(
    image: RootfsImage,
    workdir: Path,
    ca: trustme.CA | None = None,
    *,
    mirror_host: str = "127.0.0.1",
    os_key: aptrepo.SigningKey | None = None,
) -> World:
    """Build mirror content for the default spec's tools and start the mirror (caller stops it).

    image: anything with `.debs` (the OS packages the debian/ repository serves); mirror_host: the name
    the mirror's URLs use; os_key: sign the OS repositories with this key (one the image already trusts)."""
    catalog = load_catalog()
    spec_doc = yaml.safe_load(default_spec_text())
    mirror_root = workdir / "mirror"
    mirror = Mirror(mirror_root, ca, host=mirror_host)
    stand_ins = {}
    for name, version in default_tools(spec_doc).items():
        stand_ins[name] = build_stand_in(catalog.tools[name], version, ARCH)
        stand_ins[name].publish(mirror_root / "artifacts")
    extensions = {}
    for ext in spec_doc["azure_cli"].get("extensions", []):
        name = ext if isinstance(ext, str) else ext["name"]
        extensions[name] = (None if isinstance(ext, str) else ext.get("version")) or "19.0.0"
    mirror.start()
    try:
        repos = aptrepo.build_all(
            mirror_root,
            workdir / "apt-work",
            image.debs,
            [spec_doc["azure_cli"]["version"], NEWER_AZURE_CLI],
            codename=catalog.base_images[BASE_IMAGE].codename,
            extensions=extensions,
            artifacts_url=mirror.url("artifacts"),
            os_key=os_key,
        )
    except BaseException:
        mirror.stop()
        raise
    return World(
        image=image,
        mirror=mirror,
        repos=repos,
        stand_ins=stand_ins,
        spec_doc=spec_doc,
        workdir=workdir,
        catalog=catalog,
    )
