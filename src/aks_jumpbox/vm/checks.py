"""The outside-in checks of the rebooted guest, over real SSH connections to its real sshd.

What the image's own validation (validate.sh, `sshd -T`) cannot see: what sshd actually offers a
client that connects (a `Match` block, a PAM keyboard-interactive path, a drop-in read first), whether
root can log in, and the tools as a user who logs in runs them.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass

from aks_jumpbox.core.model import Plan
from aks_jumpbox.vm.seed import BUILD_USER
from aks_jumpbox.vm.ssh import Ssh

MANIFEST = "/etc/aks-jumpbox/manifest.json"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def version_of(regex: str, text: str) -> str | None:
    """The first capture group of regex in the first line it matches: as validate.sh reads it (sed, line by
    line) and as the catalog proves each regex against its example (core/catalog.py VersionCheck.parse)."""
    pattern = re.compile(regex)
    for line in text.splitlines():
        m = pattern.search(line)
        if m:
            return m.group(1)
    return None


def check_auth_methods(ssh: Ssh, plan: Plan) -> Check:
    sshd = plan.spec.hardening.sshd
    allowed = {"publickey"} | ({"password", "keyboard-interactive"} if sshd.password_authentication else set())
    logged_in, offered, answer = ssh.offered_methods(BUILD_USER, try_key=False)
    name = "sshd offers only the allowed authentication methods"
    if logged_in:
        return Check(name, False, f"a login without a key succeeded as {BUILD_USER}: {answer[-200:]}")
    if not offered:
        return Check(name, False, f"sshd's refusal named no methods: {answer[-200:]}")
    extra = sorted(offered - allowed)
    if extra:
        return Check(
            name,
            False,
            f"sshd offers {', '.join(sorted(offered))} to {BUILD_USER}; the hardening allows only "
            f"{', '.join(sorted(allowed))} (password authentication is "
            f"{'on' if sshd.password_authentication else 'off'} in the spec)",
        )
    return Check(name, True, f"sshd offers {', '.join(sorted(offered))}; a password login is refused")


def check_root_login(ssh: Ssh, plan: Plan) -> Check:
    """Give root the run's key for a moment and log in with it: sshd must refuse (or allow, if the spec does)."""
    name = "root login " + ("allowed" if plan.spec.hardening.sshd.permit_root_login else "refused")
    key = shlex.quote(ssh.public_key)
    setup = (
        "sudo install -d -m 0700 /root/.ssh && "
        "{ sudo test -e /root/.ssh/authorized_keys && sudo cp -a /root/.ssh/authorized_keys "
        "/root/.ssh/authorized_keys.aks-jumpbox-try || true; } && "
        f"printf '%s\\n' {key} | sudo tee -a /root/.ssh/authorized_keys >/dev/null"
    )
    restore = (
        "if sudo test -e /root/.ssh/authorized_keys.aks-jumpbox-try; then sudo mv -f "
        "/root/.ssh/authorized_keys.aks-jumpbox-try /root/.ssh/authorized_keys; "
        "else sudo rm -f /root/.ssh/authorized_keys; fi"
    )
    rc, out = ssh.run(BUILD_USER, setup)
    if rc != 0:
        return Check(name, False, f"could not give root the run's key to try: {out.strip()[-200:]}")
    try:
        logged_in, _, answer = ssh.offered_methods("root", try_key=True)
    finally:
        ssh.run(BUILD_USER, restore)
    if plan.spec.hardening.sshd.permit_root_login:
        return Check(name, logged_in, "root logged in with a key" if logged_in else f"refused: {answer[-200:]}")
    if logged_in:
        return Check(name, False, "root logged in with a key it was given; PermitRootLogin must refuse it")
    return Check(name, True, "sshd refused root holding a valid key")


def check_tools(ssh: Ssh, plan: Plan) -> list[Check]:
    out: list[Check] = []
    for a in plan.artifacts:
        command = f"CHECKPOINT_DISABLE=1 {shlex.join(a.version_command)} 2>&1"
        rc, text = ssh.run(BUILD_USER, command)
        got = version_of(a.version_regex, text)
        name = f"{a.name} {a.version}"
        if got == a.version:
            out.append(Check(name, True, f"`{' '.join(a.version_command)}` reports {got}"))
        else:
            out.append(
                Check(
                    name,
                    False,
                    f"`{' '.join(a.version_command)}` reports {got or 'no version'} (exit {rc}); "
                    f"expected {a.version}: {text.strip()[-160:]}",
                )
            )
    cli = plan.azure_cli
    rc, text = ssh.run(BUILD_USER, 'd=$(mktemp -d); AZURE_CONFIG_DIR="$d" az version -o json 2>&1; rm -rf "$d"')
    got = version_of(cli.version_regex, text)
    out.append(
        Check(
            f"azure-cli {cli.version}",
            got == cli.version,
            f"`az version` reports {got or 'no version'}" + ("" if got == cli.version else f": {text.strip()[-160:]}"),
        )
    )
    return out


def check_manifest(ssh: Ssh, plan: Plan) -> Check:
    name = "manifest"
    rc, text = ssh.run(BUILD_USER, f"cat {MANIFEST}")
    if rc != 0:
        return Check(name, False, f"{MANIFEST} is not readable: {text.strip()[-200:]}")
    try:
        doc = json.loads(text)
    except ValueError as exc:
        return Check(name, False, f"{MANIFEST} is not JSON: {exc}")
    problems = []
    if doc.get("plan") != plan.hash:
        problems.append(f"plan is {doc.get('plan')!r}, expected {plan.hash}")
    if "<aks-jumpbox:" in text:
        problems.append("a value was left uncompleted")
    listed = {t.get("name"): t for t in doc.get("tools", []) if isinstance(t, dict)}
    for a in plan.artifacts:
        t = listed.get(a.name)
        if t is None:
            problems.append(f"{a.name} is not listed")
        elif t.get("version") != a.version or (a.sha256 and t.get("sha256") != a.sha256):
            problems.append(f"{a.name} is listed as {t.get('version')} {t.get('sha256')}")
    if problems:
        return Check(name, False, "; ".join(problems))
    return Check(name, True, f"{MANIFEST}: plan {plan.hash[:12]}, {len(listed)} tools with their digests")


def run_checks(ssh: Ssh, plan: Plan) -> list[Check]:
    return [
        check_auth_methods(ssh, plan),
        check_root_login(ssh, plan),
        *check_tools(ssh, plan),
        check_manifest(ssh, plan),
    ]
