"""The pure parts of `try` (src/aks_jumpbox/vm): how Packer's scripts are made, what the guest may reach,
the seed, the SSH client's isolation, the relay; and the command's bad input. No VM: tests/vm boots one."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading

import pytest

from aks_jumpbox.core.errors import UserError
from aks_jumpbox.render.arm import resource_group_template
from aks_jumpbox.vm import network, packer, seed
from aks_jumpbox.vm.checks import version_of
from aks_jumpbox.vm.ssh import Ssh
from tests.conftest import make_plan, run_cli, variant

MIRROR = "https://mirror.corp.example:8443"
FPR = "BC528686B50D79E339D3721CEB3E94ADBE1229CF"


@pytest.fixture(scope="module")
def mirror_plan(default_data, default_lock):
    return make_plan(
        variant(
            default_data,
            mirror={
                "artifacts": f"{MIRROR}/artifacts",
                "apt": f"{MIRROR}/debian/",
                "apt_security": f"{MIRROR}/debian-security/",
                "azure_cli_repo": f"{MIRROR}/azure-cli/",
                "azure_cli_key_url": f"{MIRROR}/keys/azure-cli.asc",
                "azure_cli_key_fingerprints": [FPR],
            },
        ),
        default_lock,
    )


def _unescape(value: str) -> str:
    return value[1:] if value.startswith("[[") else value


def test_packer_script_is_the_templates_inline_lines_under_bin_sh_e(default_plan):
    steps = packer.shell_steps(default_plan)
    assert [(s.phase, s.name) for s in steps] == [
        ("customize", "aks-jumpbox provision"),
        ("validate", "aks-jumpbox validate"),
    ]
    template = next(
        r
        for r in resource_group_template(default_plan)["resources"]
        if r["type"] == "Microsoft.VirtualMachineImages/imageTemplates"
    )
    customize = template["properties"]["customize"][0]["inline"]
    validate = template["properties"]["validate"]["inVMValidations"][0]["inline"]
    for step, lines in zip(steps, (customize, validate), strict=True):
        # the rendered ARM template's strings, once ARM removed its `[[` escape, are what Packer joins
        assert step.script == "#!/bin/sh -e\n" + "\n".join(_unescape(x) for x in lines) + "\n"
        assert "sudo bash /tmp/aks-jumpbox-" in step.script  # the build user is not root
    vars_ = "PACKER_BUILDER_TYPE='azure-arm' PACKER_BUILD_NAME='azure-arm'"
    assert steps[0].execute_command(1) == f"chmod +x /tmp/script_0001.sh; {vars_} /tmp/script_0001.sh"


def test_with_a_mirror_the_guest_reaches_the_mirror_only(mirror_plan):
    assert network.allowed_endpoints(mirror_plan) == [("mirror.corp.example", 8443)]
    fwds = network.forwards(network.allowed_endpoints(mirror_plan), {("mirror.corp.example", 8443): "127.0.0.1"})
    assert [(f.guest_ip, f.target) for f in fwds] == [("10.0.2.100", "127.0.0.1")]
    assert network.hosts_lines(fwds) == ["10.0.2.100 mirror.corp.example"]
    netdev = network.netdev(2222, fwds)
    parts = netdev.split(",")
    assert parts[:4] == ["user", "id=net0", "restrict=on", "hostfwd=tcp:127.0.0.1:2222-:22"]
    assert len([p for p in parts if p.startswith("guestfwd=")]) == 1
    assert parts[4].startswith("guestfwd=tcp:10.0.2.100:8443-cmd:") and parts[4].endswith(
        "-m aks_jumpbox.vm.relay 127.0.0.1 8443"
    )


def test_without_a_mirror_the_guest_reaches_the_locks_hosts_and_no_wildcard(default_plan):
    endpoints = network.allowed_endpoints(default_plan)
    hosts = {h for h, _ in endpoints}
    for a in default_plan.artifacts:
        assert a.url.split("/")[2] in hosts
    assert not any("*" in h for h in hosts)
    fwds = network.forwards(endpoints)
    assert len({f.guest_ip for f in fwds}) == len(hosts)  # one guest address per host name


def test_an_ip_literal_host_cannot_be_forwarded_by_name():
    with pytest.raises(UserError, match="names an IP address"):
        network.forwards([("127.0.0.1", 8443)])


def test_seed_holds_the_run_key_and_hosts_and_nothing_else_of_this_machine():
    text = seed.user_data("ssh-ed25519 AAAAtest aks-jumpbox-try", ["10.0.2.100 mirror.corp.example"])
    assert text.startswith("#cloud-config\n")
    doc = json.loads(text.split("\n", 1)[1])
    (user,) = doc["users"]
    assert user["name"] == seed.BUILD_USER != "root"
    assert user["sudo"] == "ALL=(ALL) NOPASSWD:ALL" and user["lock_passwd"] is True
    assert user["ssh_authorized_keys"] == ["ssh-ed25519 AAAAtest aks-jumpbox-try"]
    assert "10.0.2.100 mirror.corp.example" in doc["write_files"][0]["content"]
    assert "ssh-" not in json.dumps({k: v for k, v in doc.items() if k != "users"})


def test_seed_iso_is_a_cidata_volume(tmp_path):
    import pycdlib

    iso = seed.write_seed_iso(tmp_path / "seed.iso", {"user-data": "#cloud-config\n{}\n", "meta-data": "{}\n"})
    reader = pycdlib.PyCdlib()
    reader.open(str(iso))
    try:
        assert reader.pvd.volume_identifier.decode().strip() == "cidata"
        files = [c for c in reader.list_children(rr_path="/") if c.is_file()]
        names = {reader.full_path_from_dirrecord(c, rockridge=True).rsplit("/", 1)[1] for c in files}
        assert names == {"user-data", "meta-data"}
    finally:
        reader.close()


def test_ssh_is_isolated_from_the_users_keys_agent_and_config(tmp_path):
    ssh = Ssh(key=tmp_path / "id_ed25519", port=2222, known_hosts=tmp_path / "known_hosts")
    argv = ssh.argv("packer")
    text = " ".join(argv)
    assert argv[:3] == ["ssh", "-F", "/dev/null"]
    for option in ("IdentityAgent=none", "ForwardAgent=no", "IdentitiesOnly=yes", "BatchMode=yes"):
        assert option in text
    assert f"UserKnownHostsFile={tmp_path / 'known_hosts'}" in text and "GlobalKnownHostsFile=/dev/null" in text
    assert argv[-1] == "packer@127.0.0.1"


@pytest.mark.parametrize(
    ("regex", "text", "want"),
    [
        ('"gitVersion": *"v([^"]+)"', '{\n  "gitVersion": "v1.33.1",\n}', "1.33.1"),
        ("^v([0-9.]+)", "x v9\nv3.17.3+g1\n", "3.17.3"),
        ("git hash: v([0-9][^/ ]*)/", "nothing", None),
        ("v([0-9][^ ]*)", "Version: v1.6.0\nGitCommit: 04d01a2", "1.6.0"),  # per line, as sed reads it
        ("flux: v(.*)", "flux: v2.9.6\n", "2.9.6"),
    ],
)
def test_version_of_reads_like_the_scripts(regex, text, want):
    assert version_of(regex, text) == want


def test_relay_copies_both_ways_to_its_one_target():
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def echo() -> None:
        conn, _ = server.accept()
        with conn:
            data = conn.recv(100)
            conn.sendall(b"echo:" + data)

    t = threading.Thread(target=echo, daemon=True)
    t.start()
    proc = subprocess.run(
        [sys.executable, "-m", "aks_jumpbox.vm.relay", "127.0.0.1", str(port)],
        input=b"hello",
        capture_output=True,
        timeout=30,
    )
    server.close()
    assert proc.stdout == b"echo:hello", proc.stderr


def test_try_without_a_pinned_base_image_asks_for_a_base_disk(tmp_path):
    # The default lock has no SHA-256 for Debian 12 (its publisher gives SHA-512 only): nothing to download.
    from aks_jumpbox.core.spec import default_spec_text

    spec = tmp_path / "jumpbox.yaml"
    spec.write_text(default_spec_text().replace("base_image: ubuntu-24.04", "base_image: debian-12", 1))
    proc = run_cli("try", "-f", str(spec), "--workdir", str(tmp_path / "w"))
    assert proc.returncode == 2, proc.stderr
    assert "pins no base image for debian-12" in proc.stderr and "--base-disk" in proc.stderr
    assert not (tmp_path / "w").exists()  # nothing made before the refusal
    assert "Traceback" not in proc.stderr


def test_try_with_a_missing_base_disk_is_one_message(tmp_path):
    proc = run_cli("try", "--base-disk", str(tmp_path / "none.qcow2"), "--workdir", str(tmp_path / "w"))
    assert proc.returncode == 2, proc.stderr
    assert "none.qcow2" in proc.stderr and "Traceback" not in proc.stderr


def test_try_rejects_a_malformed_resolve(tmp_path):
    proc = run_cli("try", "--base-disk", str(tmp_path / "x"), "--resolve", "mirror:notaport:1.2.3.4")
    assert proc.returncode == 2
    assert "HOST:PORT:ADDRESS" in proc.stderr


def test_a_kvm_failure_is_remembered_for_this_host_only(tmp_path):
    from aks_jumpbox.vm import qemu

    if not __import__("shutil").which(qemu.QEMU):
        pytest.skip("QEMU is not installed")
    assert qemu.kvm_known_bad(tmp_path) is None
    qemu.remember_kvm_bad(tmp_path, "no console output")
    assert qemu.kvm_known_bad(tmp_path) == "no console output"
    (tmp_path / "kvm-verdict").write_text("another kernel | QEMU 1.0\nno console output\n")
    assert qemu.kvm_known_bad(tmp_path) is None


def test_version_of_reads_every_catalog_example_as_the_catalog_does():
    from aks_jumpbox.core.catalog import load_catalog

    for tool in load_catalog().tools.values():
        v = tool.version
        assert version_of(v.regex, v.example) == v.parse(v.example) is not None, tool.name


def test_a_tool_steps_marker_names_the_tool_step():
    """provision.sh marks each tool's step `tool:<name>`; the log reader (core/buildlog.py) must read it, for
    `try`'s timeline and for `build`/`logs` naming the failing step."""
    from aks_jumpbox.core.buildlog import parse_log

    report = parse_log(
        "==> aks-jumpbox step tool:kubectl begin 2026-12-05T14:44:27Z\n"
        "==> aks-jumpbox step tool:kubectl FAILED: kubectl: SHA-256 mismatch for kubectl\n"
    )
    assert report.failed_step == "tool:kubectl"
    assert report.reason == "kubectl: SHA-256 mismatch for kubectl"


def test_the_verdict_table_and_json_name_the_failing_step(capsys, default_plan, tmp_path):
    from aks_jumpbox.cli.commands import try_
    from aks_jumpbox.vm.checks import Check
    from aks_jumpbox.vm.run import Failure, StepTiming, TryResult

    result = TryResult(accelerator="tcg", accel_note="no KVM", base_disk="base.qcow2", workdir=tmp_path)
    result.phases = {"boot": 90.0, "customize": 50.0, "total": 150.0}
    result.steps = [
        StepTiming("apt-upgrade", "customize", "passed", 12.0),
        StepTiming("tool:helm", "customize", "failed", 2.0),
    ]
    result.failure = Failure(
        "tool:helm",
        "helm: SHA-256 mismatch",
        ["==> aks-jumpbox step tool:helm begin"],
        ["/usr/local/bin/helm is absent from the VM"],
    )
    result.checks = [Check("manifest", False, "not written")]
    try_._present(result)
    out = capsys.readouterr().out
    assert "tool:helm" in out and "SHA-256 mismatch" in out and "absent from the VM" in out and "12s" in out
    doc = try_._document(default_plan, result)
    assert doc["verdict"] == "failed" and doc["failure"]["step"] == "tool:helm"
    assert doc["steps"][0] == {"name": "apt-upgrade", "phase": "customize", "status": "passed", "seconds": 12.0}
    assert json.loads(json.dumps(doc)) == doc


def test_try_refuses_an_arm64_spec_with_the_way_round(tmp_path):
    from aks_jumpbox.core.spec import default_spec_text

    spec = tmp_path / "jumpbox.yaml"
    spec.write_text(default_spec_text().replace("architecture: amd64", "architecture: arm64", 1))
    proc = run_cli("try", "-f", str(spec), "--base-disk", str(tmp_path / "x.qcow2"), "--workdir", str(tmp_path / "w"))
    assert proc.returncode == 2, proc.stderr
    assert "architecture: arm64: try boots amd64 guests only" in proc.stderr and "architecture: amd64" in proc.stderr
    assert not (tmp_path / "w").exists()
