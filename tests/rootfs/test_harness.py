"""Self-tests of the harness pieces: rootfs mounts and cleanup, mirror faults, stand-in layouts,
and the signed apt repositories used the way provision.sh must use them."""

from __future__ import annotations

import io
import os
import socket
import ssl
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from aks_jumpbox.core.catalog import load_catalog, url_basename
from aks_jumpbox.core.checksums import find_sha256

from .harness import aptrepo
from .harness.archives import build_stand_in, extract_member, version_output
from .harness.mirror import Mirror
from .harness.rootfs import Chroot, mounts_below, processes_inside

pytestmark = pytest.mark.rootfs

CATALOG = load_catalog()


# ---------------------------------------------------------------------------------------------
# stand-in archives (pure: no root needed, but they live with the harness)


@pytest.mark.parametrize("name", sorted(CATALOG.tools))
def test_stand_in_is_laid_out_like_upstream(name: str, tmp_path: Path) -> None:
    tool = CATALOG.tools[name]
    version = tool.version.parse(tool.version.example)
    s = build_stand_in(tool, version, "amd64")
    # the artifact has the upstream's name and archive type, the binary sits at the member path
    assert s.basename == url_basename(tool.artifact_url(version, "amd64"))
    if tool.archive == "tar.gz":
        with tarfile.open(fileobj=io.BytesIO(s.artifact), mode="r:gz") as tar:
            assert tool.archive_member(version, "amd64") in tar.getnames()
    elif tool.archive == "zip":
        assert tool.archive_member(version, "amd64") in zipfile.ZipFile(io.BytesIO(s.artifact)).namelist()
    else:
        assert s.artifact == s.binary
    assert extract_member(s) == s.binary
    # the checksum file, read the product's way, gives the artifact's real digest
    order_url = tool.checksum_order_file_url(version, "amd64")
    order_name = url_basename(order_url) if order_url else None
    text = s.files[url_basename(s.checksum_url)].decode()
    order = s.files[order_name].decode() if order_name else None
    assert find_sha256(text, tool.checksum_format, s.basename, order) == s.sha256
    # the binary answers the version command in the real format, and nothing else
    binary = tmp_path / name
    binary.write_bytes(s.binary)
    binary.chmod(0o755)
    out = subprocess.run([str(binary), *tool.version.command[1:]], capture_output=True, text=True)
    assert out.returncode == 0
    assert tool.version.parse(out.stdout) == version
    assert subprocess.run([str(binary), "--frobnicate"], capture_output=True).returncode == 2


def test_stand_in_can_lie_about_its_version() -> None:
    tool = CATALOG.tools["helm"]
    s = build_stand_in(tool, "4.3.0", "amd64", reported_version="4.2.9")
    assert tool.version.parse(version_output(tool, "4.2.9")) == "4.2.9"
    assert b"4.2.9" in s.binary


def test_shared_checksum_file_lists_other_platforms_and_a_prefix_decoy() -> None:
    tool = CATALOG.tools["flux"]
    s = build_stand_in(tool, "2.9.6", "amd64")
    lines = s.files[url_basename(s.checksum_url)].decode().splitlines()
    names = [line.split()[1] for line in lines]
    assert s.basename in names and any(n.startswith(s.basename) and n != s.basename for n in names)
    assert any("arm64" in n for n in names) and len(names) >= 4


# ---------------------------------------------------------------------------------------------
# the mirror


def _get(mirror: Mirror, path: str, timeout: float = 10) -> tuple[int, bytes]:
    ctx = ssl.create_default_context(cadata=mirror.ca_pem)
    try:
        with urllib.request.urlopen(mirror.url(path), context=ctx, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def test_mirror_fails_n_times_then_serves(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f.bin").write_bytes(b"payload")
    with Mirror(tmp_path) as m:
        m.fail("/a/f.bin", times=2, status=500)
        assert [_get(m, "a/f.bin")[0] for _ in range(3)] == [500, 500, 200]
        assert _get(m, "a/f.bin") == (200, b"payload")
        assert _get(m, "a/missing")[0] == 404
        assert [s for _, s in m.requests("/a/f.bin")] == [500, 500, 200, 200]


def test_mirror_never_answers_a_hung_path_but_serves_others(tmp_path: Path) -> None:
    (tmp_path / "ok").write_bytes(b"fine")
    (tmp_path / "slow").write_bytes(b"never")
    with Mirror(tmp_path) as m:
        m.hang("/slow")
        with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
            _get(m, "slow", timeout=1.5)
        assert _get(m, "ok") == (200, b"fine")  # a hung connection does not block the server


def test_mirror_throttles_per_connection(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(os.urandom(300_000))
    with Mirror(tmp_path) as m:
        m.throttle(latency=0.05, rate=1_000_000)
        started = time.monotonic()
        assert _get(m, "f")[0] == 200
        # pacing is a property of the server: 300 kB at 1 MB/s cannot arrive in under 0.3 s
        assert time.monotonic() - started >= 0.3


def test_mirror_honours_ranges(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"0123456789")
    with Mirror(tmp_path) as m:
        ctx = ssl.create_default_context(cadata=m.ca_pem)
        req = urllib.request.Request(m.url("f"), headers={"Range": "bytes=4-"})
        with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:
            assert resp.status == 206 and resp.read() == b"456789"


# ---------------------------------------------------------------------------------------------
# the root filesystem


def test_chroot_has_vm_mounts_and_cleans_up_processes_and_mounts(rootfs_image, tmp_path: Path) -> None:
    work = tmp_path / "vm"
    with Chroot(rootfs_image, work) as root:
        res = root.run(
            [
                "/bin/bash",
                "-c",
                "cat /etc/debian_version; test -c /dev/null; echo x > /dev/null;"
                " ls /proc/self/fd >/dev/null; mountpoint -q /dev/pts; id -u; echo HOME=$HOME",
            ]
        )
        assert res.returncode == 0, res.output
        assert res.output.splitlines()[0].startswith("12.")
        assert "HOME=/root" in res.output and "\n0\n" in res.output
        # a daemon left behind by a script (as package scripts or gpg-agent do)
        root.run(["/bin/bash", "-c", "setsid sleep 600 </dev/null >/dev/null 2>&1 &"])
        assert processes_inside(root.root), "the stray process should be running inside the chroot"
        assert len(mounts_below(work)) >= 6
        assert not (rootfs_image.tree / "root" / "marker").exists()
        root.write("/root/marker", "x")
    assert processes_inside(root.root) == []
    assert mounts_below(work) == []
    assert not (rootfs_image.tree / "root" / "marker").exists(), "a test must never write the cached image"


def test_chroot_cleans_up_when_the_test_body_fails(rootfs_image, tmp_path: Path) -> None:
    work = tmp_path / "vm"
    with pytest.raises(RuntimeError), Chroot(rootfs_image, work) as root:
        root.run(["/bin/bash", "-c", "setsid sleep 600 </dev/null >/dev/null 2>&1 &"])
        raise RuntimeError("test failed")
    assert processes_inside(work / "root") == [] and mounts_below(work) == []


def test_run_times_out_and_kills(rootfs_image, tmp_path: Path) -> None:
    with Chroot(rootfs_image, tmp_path / "vm") as root:
        res = root.run(["/bin/sleep", "600"], timeout=1)
        assert res.returncode == -9 and "killed after" in res.output


def test_rootfs_has_what_an_azure_debian_image_has(rootfs_image, tmp_path: Path) -> None:
    with Chroot(rootfs_image, tmp_path / "vm") as root:
        res = root.run(
            [
                "/bin/bash",
                "-c",
                "for c in curl gpg sshd unzip tar gzip ps mount update-ca-certificates;"
                " do command -v $c >/dev/null || { echo missing $c; exit 1; }; done; sshd -t && echo sshd-ok",
            ]
        )
        assert res.returncode == 0 and "sshd-ok" in res.output, res.output


# ---------------------------------------------------------------------------------------------
# the apt repositories, used the way provision.sh must use them in mirror mode


TRUST_AND_SOURCES = r"""
set -euo pipefail
install -m 0644 /tmp/mirror-ca.crt /usr/local/share/ca-certificates/mirror-ca.crt
update-ca-certificates >/dev/null
rm -f /etc/apt/sources.list
cat > /etc/apt/sources.list.d/mirror.sources <<EOF
Types: deb
URIs: {apt}
Suites: bookworm bookworm-updates
Components: main contrib non-free non-free-firmware

Types: deb
URIs: {apt_security}
Suites: bookworm-security
Components: main contrib non-free non-free-firmware
EOF
install -d -m 0755 /etc/apt/keyrings
curl --proto '=https' -fsS -o /tmp/cli.asc {key_url}
fpr=$(gpg --show-keys --with-colons /tmp/cli.asc | awk -F: '/^fpr:/ {{print $10; exit}}')
[ "$fpr" = "{fingerprint}" ] || {{ echo "fingerprint mismatch: $fpr"; exit 1; }}
gpg --dearmor < /tmp/cli.asc > /etc/apt/keyrings/azure-cli.gpg
cat > /etc/apt/sources.list.d/azure-cli.sources <<EOF
Types: deb
URIs: {cli_repo}
Suites: bookworm
Components: main
Architectures: amd64
Signed-By: /etc/apt/keyrings/azure-cli.gpg
EOF
apt-get update -q -o APT::Update::Error-Mode=any
"""


def _prepare_mirror_trust(vm: Chroot, world) -> None:
    s = world.mirror_settings()
    vm.write("/tmp/mirror-ca.crt", s["ca_certificate"])
    vm.write(
        "/tmp/trust.sh",
        TRUST_AND_SOURCES.format(
            apt=s["apt"],
            apt_security=s["apt_security"],
            key_url=s["azure_cli_key_url"],
            fingerprint=s["azure_cli_key_fingerprints"][0],
            cli_repo=s["azure_cli_repo"],
        ),
    )
    res = vm.run(["/bin/bash", "/tmp/trust.sh"], timeout=120)
    assert res.returncode == 0, res.output


def test_apt_repo_installs_pinned_stand_in_azure_cli_with_signed_by(vm: Chroot, world, mirror) -> None:
    _prepare_mirror_trust(vm, world)
    version = world.spec_doc["azure_cli"]["version"]
    res = vm.run(
        [
            "/bin/bash",
            "-c",
            "set -e; apt-cache policy azure-cli; "
            f"DEBIAN_FRONTEND=noninteractive apt-get install -y -q azure-cli={version}-1~bookworm; az version -o json;"
            f" AZURE_EXTENSION_INDEX_URL={world.mirror.url(world.repos.extension_index)}"
            " az extension add -n aks-preview --system --yes; az extension show -n aks-preview --query version -o tsv",
        ],
        timeout=180,
    )
    assert res.returncode == 0, res.output
    assert "9.99.0-1~bookworm" in res.output, "the repository offers a newer version than the pin"
    assert CATALOG.azure_cli.version.parse(res.output) == version
    assert res.output.strip().splitlines()[-1] == "19.0.0"
    assert vm.path("/opt/az/azcliextensions/aks-preview").is_dir()


def test_azure_cli_repo_is_refused_without_its_key(vm: Chroot, world, mirror) -> None:
    _prepare_mirror_trust(vm, world)
    vm.path("/etc/apt/keyrings/azure-cli.gpg").unlink()
    res = vm.run(["/bin/bash", "-c", "apt-get update -q -o APT::Update::Error-Mode=any"], timeout=120)
    assert res.returncode != 0 and "azure-cli" in res.output


def test_full_upgrade_applies_the_security_canary_only_non_interactively(vm: Chroot, world, mirror) -> None:
    _prepare_mirror_trust(vm, world)
    # without the conffile options dpkg asks about the locally edited conffile, and with no
    # terminal that question fails the upgrade: the canary really does catch interactive upgrades
    res = vm.run(["/bin/bash", "-c", "DEBIAN_FRONTEND=noninteractive apt-get full-upgrade -y -q"], timeout=180)
    assert res.returncode != 0 and "harness-canary" in res.output, res.output
    vm.run(["/bin/bash", "-c", "dpkg --configure -a --force-confdef --force-confold"], timeout=60)
    res = vm.run(
        [
            "/bin/bash",
            "-c",
            "DEBIAN_FRONTEND=noninteractive apt-get full-upgrade -y -q"
            " -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold;"
            " dpkg-query -W -f '${Version}\\n' harness-canary",
        ],
        timeout=180,
    )
    assert res.returncode == 0, res.output
    assert res.output.strip().splitlines()[-1] == "1.1"
    assert "edited on the image" in vm.path(aptrepo.CANARY_CONFFILE).read_text()
