"""Snapshot folders read by `check --snapshot`, and environment variables (SOURCE_DATE_EPOCH, Azure's)."""

from __future__ import annotations

import json

from tests.hostile.case import Case

SPEC = "jumpbox.yaml"
CHECK = ("check", "-f", SPEC, "--snapshot", "snap", "-o", "json")
SUB = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"  # the preflight world's subscription
RG_DOC = json.dumps(
    {
        "id": f"/subscriptions/{SUB}/resourceGroups/rg-extra",
        "name": "rg-extra",
        "type": "Microsoft.Resources/resourceGroups",
        "location": "eastus2",
    }
)
MIB = 1 << 20


def snap(id: str, expect: str, mentions: tuple[str, ...] = (), **kw) -> Case:
    kw.setdefault("args", CHECK)
    return Case(id, "snapshot", expect, mentions, snapshot=True, writes=(), verify=None, **kw)


def _huge(ws) -> None:
    with open(ws.work / "snap" / "huge.json", "w") as fh:
        fh.write(RG_DOC)
        fh.writelines(" " * MIB for _ in range(64))


def _snapshot_cases() -> list[Case]:
    return [
        snap(
            "snap-baseline",
            "inert",
            why="the preflight world passes every check: the hostile variants differ by one file",
        ),
        snap(
            "snap-duplicate-keys",
            "reject",
            ("dup.json",),
            fs=(("file", "snap/dup.json", f'{{"id": "/subscriptions/{SUB}/resourceGroups/a", "id": "/x"}}'),),
        ),
        snap("snap-not-json", "reject", ("bad.json",), fs=(("file", "snap/bad.json", "{ not json"),)),
        snap("snap-not-utf8", "reject", ("bin.json",), fs=(("file", "snap/bin.json", b'{"id": "\xff"}'),)),
        snap(
            "snap-symlink-out",
            "reject",
            ("out.json",),
            fs=(("symlink", "snap/out.json", "{canary}/doc.json"),),
            why="a document outside the folder is not the snapshot's to read",
        ),
        snap(
            "snap-symlink-passwd",
            "reject",
            ("passwd.json",),
            fs=(("symlink", "snap/passwd.json", "/etc/passwd"),),
            forbid=("root:x:0:0",),
        ),
        snap(
            "snap-dir-symlink-out",
            "either",
            ("sub",),
            fs=(("symlink", "snap/sub", "{canary}/dir"),),
            forbid=("bad.json", "read through a link"),
            why="ignoring or refusing a folder link are both sound; reading through it is not",
        ),
        snap(
            "snap-fifo",
            "either",
            ("f.json",),
            fs=(("fifo", "snap/f.json"),),
            why="a FIFO must neither hang the check nor be read; skipping it or refusing it both hold",
        ),
        snap("snap-device-link", "reject", ("zero.json",), fs=(("symlink", "snap/zero.json", "/dev/zero"),)),
        snap("snap-huge-document", "reject", ("huge.json",), prepare=_huge),
        snap(
            "snap-deep-nesting",
            "reject",
            ("deep.json",),
            fs=(("file", "snap/deep.json", "[" * 100000 + "]" * 100000),),
        ),
        snap("snap-nan", "either", ("nan.json",), fs=(("file", "snap/nan.json", RG_DOC[:-1] + ', "x": NaN}'),)),
        snap(
            "snap-markup-name",
            "inert",
            args=("check", "-f", SPEC, "--snapshot", "snap"),
            ok_codes=(0, 1),
            fs=(
                (
                    "file",
                    "snap/markup.json",
                    json.dumps(
                        {
                            "id": f"/subscriptions/{SUB}/resourceGroups/[bold]x[/]",
                            "name": "[/]",
                            "type": "Microsoft.Resources/resourceGroups",
                            "location": "[/]",
                        }
                    ),
                ),
            ),
        ),
        snap(
            "snap-folder-fifo",
            "reject",
            ("--snapshot",),
            args=("check", "-f", SPEC, "--snapshot", "s.fifo"),
            fs=(("fifo", "s.fifo"),),
        ),
    ]


# ---------------------------------------------------------------------------------------------
# environment: every request an Azure command could make is pointed at the tripwire

AZ_ENV = {
    "AZURE_ARM_ENDPOINT": "https://127.0.0.1:{trip}",
    "AZURE_AUTHORITY_HOST": "https://127.0.0.1:{trip}",
    "IDENTITY_ENDPOINT": "http://127.0.0.1:{trip}/msi",
    "IDENTITY_HEADER": "x",
    "MSI_ENDPOINT": "http://127.0.0.1:{trip}/msi",
}
LIVE_CHECK = ("check", "-f", SPEC)
REPORT = ("report", "-f", SPEC, "--out", "out")


def env(id: str, expect: str, mentions: tuple[str, ...], variables: dict[str, str], args=LIVE_CHECK, **kw) -> Case:
    kw.setdefault("verify", None)
    return Case(id, "environment", expect, mentions, args=args, env=variables, **kw)


def _environment_cases() -> list[Case]:
    return [
        env("env-sde-negative", "reject", ("SOURCE_DATE_EPOCH",), {"SOURCE_DATE_EPOCH": "-1"}, REPORT),
        env(
            "env-sde-too-large",
            "reject",
            ("SOURCE_DATE_EPOCH",),
            {"SOURCE_DATE_EPOCH": "99999999999999"},
            REPORT,
        ),
        env("env-sde-not-a-number", "reject", ("SOURCE_DATE_EPOCH",), {"SOURCE_DATE_EPOCH": "abc"}, REPORT),
        env("env-sde-fraction", "reject", ("SOURCE_DATE_EPOCH",), {"SOURCE_DATE_EPOCH": "1.5"}, REPORT),
        env(
            "env-sde-arabic-digits",
            "either",
            ("SOURCE_DATE_EPOCH",),
            {"SOURCE_DATE_EPOCH": "١٧٠٠٠٠٠٠٠٠"},
            REPORT,
        ),
        env("env-sde-valid", "inert", (), {"SOURCE_DATE_EPOCH": "1700000000"}, REPORT),
        env(
            "env-tenant-malformed-with-secret",
            "reject",
            ("AZURE_TENANT_ID",),
            {
                **AZ_ENV,
                "AZURE_TENANT_ID": "not a tenant!",
                "AZURE_CLIENT_ID": "11111111-1111-1111-1111-111111111111",
                "AZURE_CLIENT_SECRET": "placeholder-not-a-secret",
            },
            why="azure-identity raised its own ValueError traceback; check the tenant before any request",
        ),
        env(
            "env-tenant-malformed",
            "reject",
            ("AZURE_TENANT_ID",),
            {**AZ_ENV, "AZURE_TENANT_ID": "not a tenant!"},
        ),
        env(
            "env-subscription-malformed",
            "reject",
            ("AZURE_SUBSCRIPTION_ID",),
            {**AZ_ENV, "AZURE_SUBSCRIPTION_ID": "x; rm -rf /"},
        ),
        env(
            "env-retry-not-a-number",
            "reject",
            ("AKS_JUMPBOX_RETRY_TOTAL",),
            {**AZ_ENV, "AKS_JUMPBOX_RETRY_TOTAL": "abc"},
        ),
        env(
            "env-retry-backoff-nan",
            "reject",
            ("AKS_JUMPBOX_RETRY_BACKOFF",),
            {**AZ_ENV, "AKS_JUMPBOX_RETRY_BACKOFF": "nan"},
        ),
        env(
            "env-read-timeout-inf",
            "reject",
            ("AKS_JUMPBOX_READ_TIMEOUT",),
            {**AZ_ENV, "AKS_JUMPBOX_READ_TIMEOUT": "inf"},
        ),
        env(
            "env-arm-endpoint-http",
            "reject",
            ("AZURE_ARM_ENDPOINT",),
            {**AZ_ENV, "AZURE_ARM_ENDPOINT": "http://127.0.0.1:{trip}"},
        ),
        env(
            "env-arm-endpoint-userinfo",
            "reject",
            ("AZURE_ARM_ENDPOINT",),
            {**AZ_ENV, "AZURE_ARM_ENDPOINT": "https://user:secret@127.0.0.1:{trip}"},
        ),
        env(
            "env-arm-endpoint-newline",
            "reject",
            ("AZURE_ARM_ENDPOINT",),
            {**AZ_ENV, "AZURE_ARM_ENDPOINT": "https://127.0.0.1:{trip}\nHost: evil.example"},
        ),
        env(
            "env-authority-host-http",
            "reject",
            ("AZURE_AUTHORITY_HOST",),
            {**AZ_ENV, "AZURE_AUTHORITY_HOST": "http://127.0.0.1:{trip}"},
            why="the message names the variable as it is spelled (mentions are case-sensitive)",
        ),
        env(
            "env-release-feed-http",
            "reject",
            ("AKS_JUMPBOX_RELEASE_FEED", "https://"),
            {"AKS_JUMPBOX_RELEASE_FEED": "http://127.0.0.1:{trip}/feed"},
            ("outdated", "-f", SPEC),
        ),
        env(
            "env-columns-not-a-number",
            "inert",
            (),
            {"COLUMNS": "abc"},
            ("plan", "-f", SPEC, "--out", "out"),
            verify="plan",
        ),
        env(
            "env-columns-zero",
            "inert",
            (),
            {"COLUMNS": "0"},
            ("plan", "-f", SPEC, "--out", "out"),
            verify="plan",
        ),
    ]


CASES = _snapshot_cases() + _environment_cases()
