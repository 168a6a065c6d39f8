"""The rendered provision.sh and validate.sh, run for real as root in a Debian 12 root filesystem.

One build VM is provisioned for this module (as Image Builder would: `bash provision.sh`, then
`bash validate.sh`), from the loopback mirror only; the tests then inspect it. The tests that
break it (a missing tool, a lying tool) put it back; the last one provisions it a second time.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator

import pytest

from aks_jumpbox.core.catalog import load_catalog

from .harness import aptrepo
from .harness.archives import build_stand_in
from .harness.rootfs import Chroot, RunResult
from .harness.world import NEWER_AZURE_CLI, Rendered, World

pytestmark = pytest.mark.rootfs

MARKER = re.compile(r"^==> aks-jumpbox step (\S+) (begin|end|FAILED)")


def steps(result: RunResult) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for line in result.output.splitlines() if (m := MARKER.match(line))]


@pytest.fixture(scope="module")
def rendered(world: World, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return world.render(tmp_path_factory.mktemp("plan"))


@pytest.fixture(scope="module")
def build(world: World, rendered: Rendered, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    world.mirror.clear_faults()
    world.mirror.reset_log()
    with world.vm(tmp_path_factory.mktemp("vm")) as root:
        world.install_scripts(root, rendered)
        provision = root.script("provision.sh")
        requests = world.mirror.requests()
        validate = root.script("validate.sh", timeout=120)
        yield {"root": root, "provision": provision, "validate": validate, "requests": requests}


def _ok(build: dict) -> Chroot:
    assert build["provision"].returncode == 0, build["provision"].output[-6000:]
    return build["root"]


def test_provision_then_validate_succeed_with_every_step_marked(build: dict, world: World) -> None:
    prov = build["provision"]
    assert prov.returncode == 0, prov.output[-6000:]
    marks = steps(prov)
    assert not [m for m in marks if m[1] == "FAILED"]
    began = [s for s, what in marks if what == "begin"]
    assert began == [s for s, what in marks if what == "end"], "every step that begins ends"
    for name in world.stand_ins:
        assert f"tool:{name}" in began
    for name in ("apt-upgrade", "download", "azure-cli", "sshd-hardening", "manifest"):
        assert name in began
    assert "==> aks-jumpbox provision complete" in prov.output
    val = build["validate"]
    assert val.returncode == 0, val.output
    assert "FAILED" not in val.output
    assert "==> aks-jumpbox step validate end" in val.output


def test_tools_are_the_locked_binaries_installed_root_owned_0755(build: dict, world: World) -> None:
    root = _ok(build)
    catalog = load_catalog()
    for name, stand_in in world.stand_ins.items():
        path = root.path(catalog.tools[name].install)
        st = path.stat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, 0, 0o755), f"{name}: {path}"
        assert path.read_bytes() == stand_in.binary, f"{name}: not the binary of the locked artifact"


def test_sshd_effective_settings_match_the_hardening(build: dict, world: World) -> None:
    root = _ok(build)
    res = root.run(["/usr/sbin/sshd", "-T"], timeout=30)
    assert res.returncode == 0, res.output
    effective = dict(line.split(" ", 1) for line in res.output.splitlines() if " " in line)
    hardening = world.spec_doc["hardening"]["sshd"]
    yn = {True: "yes", False: "no"}
    assert effective["x11forwarding"] == yn[hardening["x11_forwarding"]]
    assert effective["maxauthtries"] == str(hardening["max_auth_tries"])
    assert effective["passwordauthentication"] == yn[hardening["password_authentication"]]
    assert effective["permitrootlogin"] == yn[hardening["permit_root_login"]]


def test_manifest_lists_every_tool_with_version_and_digest(build: dict, world: World) -> None:
    root = _ok(build)
    manifest = json.loads(root.path("/etc/aks-jumpbox/manifest.json").read_text())
    listed = {t["name"]: t for t in manifest["tools"]}
    assert set(listed) == set(world.stand_ins)
    for name, stand_in in world.stand_ins.items():
        assert listed[name]["sha256"] == stand_in.sha256
        assert listed[name]["version"] == stand_in.version
    assert manifest["azureCli"]["version"] == world.spec_doc["azure_cli"]["version"]


def test_azure_cli_is_the_pinned_version_from_the_signed_repo_with_its_extension(build: dict, world: World) -> None:
    root = _ok(build)
    res = root.run(["az", "version", "-o", "json"], timeout=30)
    assert res.returncode == 0, res.output
    assert load_catalog().azure_cli.version.parse(res.output) == world.spec_doc["azure_cli"]["version"]
    assert root.run(["apt-mark", "showhold"], timeout=30).output.split() == ["azure-cli"]
    policy = root.run(["apt-cache", "policy", "azure-cli"], timeout=30).output
    assert f"Candidate: {NEWER_AZURE_CLI}-1~bookworm" in policy, "a newer version was available and not taken"
    for ext in world.spec_doc["azure_cli"]["extensions"]:
        name = ext if isinstance(ext, str) else ext["name"]
        assert root.path(f"/opt/az/azcliextensions/{name}").is_dir(), "extensions go to the system directory"
        shown = root.run(["az", "extension", "show", "--name", name, "--query", "version", "-o", "tsv"], timeout=30)
        assert shown.output.strip() == world.repos.extension_wheels[name][0], "the locked wheel's version"


def test_full_upgrade_took_the_security_update_without_asking(build: dict) -> None:
    root = _ok(build)
    res = root.run(["dpkg-query", "-W", "-f", "${Version}", aptrepo.CANARY], timeout=30)
    assert res.output.strip() == "1.1"
    assert "edited on the image" in root.path(aptrepo.CANARY_CONFFILE).read_text(), "local edits kept"


def test_everything_came_from_the_mirror(build: dict, world: World) -> None:
    root = _ok(build)
    res = root.run(["apt-get", "indextargets", "--format", "$(REPO_URI)"], timeout=30)
    repos = set(res.output.split())
    assert repos and all(r.startswith(world.mirror.base_url + "/") for r in repos), repos
    fetched = [path for path, status in build["requests"] if status == 200]
    for name in world.stand_ins:
        assert fetched.count(world.artifact_path(name)) == 1, f"{name} fetched once"
    for name, (version, fname, _) in world.repos.extension_wheels.items():  # the locked wheel, not the index
        assert fetched.count(f"/artifacts/azure-cli-extensions/{name}/{version}/{fname}") == 1, name
        assert "/artifacts/azure-cli-extensions/index.json" not in fetched
    assert not [r for r in build["requests"] if r[1] >= 400], "no failed request"


def test_validate_names_a_missing_tool(build: dict) -> None:
    root = _ok(build)
    path = root.path("/usr/local/bin/kubelogin")
    saved = path.with_name("kubelogin.saved")
    shutil.move(path, saved)
    try:
        res = root.script("validate.sh", timeout=120)
    finally:
        shutil.move(saved, path)
    assert res.returncode == 1, res.output
    failed = [line for line in res.output.splitlines() if line.startswith("==> aks-jumpbox validate FAILED:")]
    assert failed == ["==> aks-jumpbox validate FAILED: kubelogin: /usr/local/bin/kubelogin is missing"]
    assert re.search(r"^==> aks-jumpbox step validate FAILED: 1 of \d+ checks failed$", res.output, re.MULTILINE)


def test_validate_names_a_tool_reporting_the_wrong_version(build: dict, world: World) -> None:
    root = _ok(build)
    helm = load_catalog().tools["helm"]
    locked = world.stand_ins["helm"].version
    path = root.path(helm.install)
    original = path.read_bytes()
    path.write_bytes(build_stand_in(helm, locked, "amd64", reported_version="4.2.9").binary)
    try:
        res = root.script("validate.sh", timeout=120)
    finally:
        path.write_bytes(original)
    assert res.returncode == 1, res.output
    failed = [line for line in res.output.splitlines() if line.startswith("==> aks-jumpbox validate FAILED:")]
    assert len(failed) == 1, failed
    assert "helm" in failed[0] and "4.2.9" in failed[0] and f"expected {locked}" in failed[0]


def test_provision_twice_is_harmless(build: dict, world: World) -> None:
    root = _ok(build)
    before = sorted(p.name for p in root.path("/etc/apt/sources.list.d").iterdir())
    again = root.script("provision.sh")
    assert again.returncode == 0, again.output[-6000:]
    assert sorted(p.name for p in root.path("/etc/apt/sources.list.d").iterdir()) == before
    assert root.path("/etc/ssh/sshd_config").read_text().count("Include /etc/ssh/sshd_config.d/") == 1
    manifest = json.loads(root.path("/etc/aks-jumpbox/manifest.json").read_text())
    assert sorted(t["name"] for t in manifest["tools"]) == sorted(world.stand_ins)
    val = root.script("validate.sh", timeout=120)
    assert val.returncode == 0, val.output
