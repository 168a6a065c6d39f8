"""`aks-jumpbox try` end to end: the default spec (Debian 12, mirror mode) in a real QEMU VM.

Three runs, each a fresh VM from the cached base disk: a passing build kept running (--keep); a
tampered artifact; a hardening regression only a real SSH connection sees. The guest reaches the
loopback mirror only, through QEMU's forwards.

The passing run boots the lock's base image as a user's `try` does (no --base-disk): the test disk is
served by the mirror at the pin's place, downloaded through --resolve (the mirror's name does not resolve
here), verified and cached in a temporary XDG_CACHE_HOME. The other runs pass --base-disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from aks_jumpbox.core.baseimages import load_base_images, mirror_path
from aks_jumpbox.core.lock import LockedBaseImage
from tests.rootfs.harness import aptrepo
from tests.rootfs.harness.world import ARCH, BASE_IMAGE, NEWER_AZURE_CLI, World, cli_command

from .basedisk import BaseDisk
from .conftest import MIRROR_HOST

# One run boots a VM under TCG: minutes, more on a busy machine (no assertion on time anywhere).
pytestmark = [pytest.mark.vm, pytest.mark.timeout(2700)]


# The release the test disk stands in for, in Debian's YYYYMMDD-N form.
RELEASE = "20260101-1"


def run_try(
    world: World,
    base: BaseDisk | None,
    out: Path,
    spec: dict[str, Any],
    *extra: str,
    lock: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> tuple[int, dict, str]:
    """Run try on spec; base=None boots the lock's base image (from the mirror) instead of --base-disk."""
    rendered = world.render(out, spec=spec, lock=lock)
    cmd = [
        *cli_command(),
        "try",
        "-f",
        str(rendered.spec_path),
        "--lock",
        str(rendered.lock_path),
        *(["--base-disk", str(base.disk)] if base else []),
        "--resolve",
        f"{MIRROR_HOST}:{world.mirror.port}:127.0.0.1",
        "--workdir",
        str(out / "run"),
        "-o",
        "json",
        *extra,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "SSH_"))} | (env or {})
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=2400)
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"try printed no JSON (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}") from None
    return proc.returncode, doc, proc.stderr


def steps(doc: dict) -> dict[str, str]:
    return {s["name"]: s["status"] for s in doc["steps"]}


def disk_sha256(disk: Path) -> str:
    """The test disk's SHA-256, computed once and kept beside it (valid while its size and mtime hold)."""
    st = disk.stat()
    stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    memo = disk.with_name(disk.name + ".sha256.json")
    if memo.is_file():
        kept = json.loads(memo.read_text())
        if {k: kept.get(k) for k in stamp} == stamp:
            return kept["sha256"]
    digest = hashlib.sha256()
    with open(disk, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    memo.write_text(json.dumps({**stamp, "sha256": digest.hexdigest()}))
    return digest.hexdigest()


def base_image_in_mirror(world: World, base: BaseDisk) -> tuple[dict[str, Any], str]:
    """The test disk served at the pin's place under the mirror's artifacts, and the lock pinning it:
    (the lock, the request path of the image)."""
    image = load_base_images().image(BASE_IMAGE)
    assert image is not None
    entry = LockedBaseImage(
        release=RELEASE,
        url=image.image_url(RELEASE, ARCH),
        sha256=disk_sha256(base.disk),
        checksum_url=image.checksum_url(RELEASE),
        source="test disk",
    )
    rel = mirror_path(BASE_IMAGE, RELEASE, ARCH, entry.url)
    served = world.mirror.root / "artifacts" / rel
    served.parent.mkdir(parents=True, exist_ok=True)
    if not served.exists():
        try:
            os.link(base.disk, served)  # 570 MB: a link, not a copy
        except OSError:  # another file system
            shutil.copyfile(base.disk, served)
    lock = world.lock()
    lock["baseImages"] = {BASE_IMAGE: {ARCH: entry.to_json()}}
    return lock, f"/artifacts/{rel}"


@pytest.fixture(scope="module")
def passing(vm_world: World, base_disk: BaseDisk, tmp_path_factory: pytest.TempPathFactory):
    lock, image_path = base_image_in_mirror(vm_world, base_disk)
    # try caches the downloaded image under XDG_CACHE_HOME: a temporary one, not the real ~/.cache
    xdg = tmp_path_factory.mktemp("xdg")
    (xdg / "aks-jumpbox").mkdir()
    verdict = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "aks-jumpbox" / "kvm-verdict"
    if verdict.is_file():  # this host's KVM verdict, so the run starts as the other runs do
        shutil.copyfile(verdict, xdg / "aks-jumpbox" / "kvm-verdict")
    ca = xdg / "mirror-ca.pem"
    ca.write_text(vm_world.mirror.ca_pem)  # try's own download trusts the mirror's CA, as the guest does
    env = {"XDG_CACHE_HOME": str(xdg), "SSL_CERT_FILE": str(ca)}
    vm_world.mirror.reset_log()
    out = tmp_path_factory.mktemp("pass")
    rc, doc, err = run_try(vm_world, None, out, vm_world.spec(), "--keep", lock=lock, env=env)
    requests = vm_world.mirror.requests()
    yield SimpleNamespace(rc=rc, doc=doc, err=err, requests=requests, image_path=image_path, cache=xdg)
    if doc.get("pid"):
        try:
            os.killpg(doc["pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and Path(f"/proc/{doc['pid']}").exists():
            time.sleep(0.5)
    shutil.rmtree(xdg, ignore_errors=True)  # the cached copy of the image


def test_default_spec_passes_every_step_and_outside_in_check(passing, vm_world: World) -> None:
    rc, doc, err = passing.rc, passing.doc, passing.err
    assert rc == 0, json.dumps(doc, indent=2) + err
    assert doc["verdict"] == "passed"
    seen = steps(doc)
    for name in ("wait-for-boot", "apt-upgrade", "download", "azure-cli", "sshd-hardening", "manifest", "validate"):
        assert seen.get(name) == "passed", seen
    for tool in vm_world.stand_ins:
        assert seen.get(f"tool:{tool}") == "passed"
    checks = {c["name"]: c for c in doc["checks"]}
    assert checks["sshd offers only the allowed authentication methods"]["ok"]
    assert "password" not in checks["sshd offers only the allowed authentication methods"]["detail"].split(";")[0]
    assert checks["root login refused"]["ok"]
    assert checks["manifest"]["ok"]
    for tool, s in vm_world.stand_ins.items():
        assert checks[f"{tool} {s.version}"]["ok"], checks
    assert all(c["ok"] for c in doc["checks"])
    assert doc["seconds"]["boot"] > 0 and doc["seconds"]["reboot"] > 0
    assert "not the same image" in doc["baseNote"]


def test_the_lock_s_base_image_came_through_the_mirror_into_the_cache(passing, base_disk: BaseDisk) -> None:
    assert passing.rc == 0, json.dumps(passing.doc, indent=2) + passing.err
    assert (passing.image_path, 200) in passing.requests  # fetched by try itself, through --resolve
    sha = disk_sha256(base_disk.disk)
    assert passing.doc["baseDisk"] == str(passing.cache / "aks-jumpbox" / "images" / f"{sha}.qcow2")
    assert passing.doc["verdict"] == "passed"


def test_the_guest_reached_only_the_mirror(passing, vm_world: World) -> None:
    doc, requests = passing.doc, passing.requests
    assert doc["reachable"] == [f"{MIRROR_HOST}:{vm_world.mirror.port}"]
    paths = {p for p, _ in requests}
    assert any(p.startswith("/artifacts/") for p in paths)  # the build's downloads came through the mirror
    assert any(p.startswith("/debian/") for p in paths)
    assert not any(str(NEWER_AZURE_CLI) in p for p in paths)


def test_keep_leaves_the_vm_running_with_an_ssh_command_that_works(passing) -> None:
    doc = passing.doc
    assert doc["pid"] and doc["ssh"]
    argv = [*__import__("shlex").split(doc["ssh"]), "cat /etc/aks-jumpbox/manifest.json"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["plan"] == doc["plan"]
    # the guest cannot reach anything but the forwards: not the host's loopback, not the outside
    probe = subprocess.run(
        [*__import__("shlex").split(doc["ssh"]), "curl -sS -m 5 http://10.0.2.2:22/ || echo BLOCKED"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert "BLOCKED" in probe.stdout
    os.killpg(doc["pid"], signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and Path(f"/proc/{doc['pid']}").exists():
        time.sleep(0.5)


def test_a_tampered_artifact_fails_its_step_naming_the_digest_and_installs_nothing(
    vm_world: World, base_disk: BaseDisk, tmp_path: Path
) -> None:
    url, folder = vm_world.artifacts_variant("tampered")
    victim = "kubectl"
    f = vm_world.variant_artifact_file(folder, victim)
    f.unlink()
    f.write_bytes(b"#!/bin/sh\necho tampered\n")
    rc, doc, err = run_try(vm_world, base_disk, tmp_path, vm_world.spec(mirror={"artifacts": url}))
    assert rc == 1, json.dumps(doc, indent=2) + err
    failure = doc["failure"]
    assert failure["step"] == f"tool:{victim}"
    expected = vm_world.stand_ins[victim].sha256
    assert "SHA-256 mismatch" in failure["reason"] and expected in failure["reason"]
    assert any("SHA-256 mismatch" in line for line in failure["lines"])
    install = vm_world.catalog.tools[victim].install
    assert f"{install} is absent from the VM" in failure["notes"]
    assert steps(doc)[f"tool:{victim}"] == "failed"
    assert "validate" not in steps(doc)  # a failed customizer ends the build, as on Image Builder
    assert doc["checks"] == []


def _cli_repo_with_match_block(world: World, work: Path) -> str:
    """A copy of the Azure CLI repository whose package appends an sshd Match block enabling passwords."""
    version = world.spec_doc["azure_cli"]["version"]
    codename = world.repos.codename
    deb = aptrepo.azure_cli_deb(work / "plain", version, codename)
    tree = work / "tree"
    subprocess.run(["dpkg-deb", "-R", str(deb), str(tree)], check=True)
    postinst = tree / "DEBIAN/postinst"
    postinst.write_text(
        "#!/bin/sh\nset -e\n# what a careless vendor package does: passwords back on, for every user\n"
        "printf 'Match User *\\n    PasswordAuthentication yes\\n' >> /etc/ssh/sshd_config\n"
    )
    postinst.chmod(0o755)
    out = work / "debs" / deb.name
    out.parent.mkdir(parents=True)
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(tree), str(out)], check=True, capture_output=True
    )
    repo = world.mirror.root / "variants" / "match-block" / "azure-cli"
    aptrepo.build_repo(
        repo,
        {codename: {"main": [out]}},
        world.repos.cli_key,
        origin=f"azure-cli {codename}",
        label=f"azure-cli {codename}",
        components=("main",),
    )
    aptrepo.stop_agent(world.repos.cli_key.gnupghome)
    return world.mirror.url("variants/match-block/azure-cli/")


def test_a_hardening_regression_sshd_t_misses_is_caught_from_outside(
    vm_world: World, base_disk: BaseDisk, tmp_path: Path
) -> None:
    repo = _cli_repo_with_match_block(vm_world, tmp_path / "deb")
    rc, doc, err = run_try(vm_world, base_disk, tmp_path / "run", vm_world.spec(mirror={"azure_cli_repo": repo}))
    assert rc == 1, json.dumps(doc, indent=2) + err
    assert doc["failure"] is None  # every script step passed, validate.sh's `sshd -T` included ...
    assert steps(doc)["validate"] == "passed"
    checks = {c["name"]: c for c in doc["checks"]}
    auth = checks["sshd offers only the allowed authentication methods"]
    assert not auth["ok"]  # ... but a real client is offered a password
    assert "password" in auth["detail"] and "off in the spec" in auth["detail"]
    assert doc["verdict"] == "failed"
