"""Hostile locks: malformed shapes, and entries that do not match what the catalog derives."""

from __future__ import annotations

import json

from tests.hostile.case import DELETE, Case

LOCK = "jumpbox.lock.json"
AMD = "tools.helm.0.artifacts.amd64"
HELM = "https://get.helm.sh/helm-v4.3.0-linux-amd64.tar.gz"
SHA = "a" * 64


def _text(edit):
    """A prepare hook that rewrites the lock's text (for what json.dumps cannot write: duplicate keys...)."""

    def prepare(ws) -> None:
        path = ws.work / LOCK
        out = edit(path.read_text())
        path.write_bytes(out) if isinstance(out, bytes) else path.write_text(out)

    return prepare


def _dup_url(text: str) -> str:
    # The same key twice in one object: JSON parsers silently keep the last one.
    return text.replace(f'"url": "{HELM}",', f'"url": "{HELM}",\n            "url": "https://evil.example/helm",', 1)


def _dup_tool(text: str) -> str:
    doc = json.loads(text)
    helm = json.dumps(doc["tools"]["helm"])
    evil = helm.replace("https://get.helm.sh/", "https://evil.example/")
    return text.replace('"tools": {', '"tools": {\n    "helm": ' + evil + ",", 1)


def lock_reject(id: str, path: str, value, mentions=(LOCK,), **kw) -> Case:
    return Case(id, "lock", "reject", mentions, lock={path: value}, **kw)


def _lock_cases() -> list[Case]:
    return [
        lock_reject("lock-tools-a-list", "tools", [{"helm": []}]),
        lock_reject("lock-tools-a-string", "tools", "helm"),
        lock_reject("lock-entries-a-dict", "tools.helm", {"version": "4.3.0"}, mentions=("helm",)),
        lock_reject("lock-entry-a-string", "tools.helm.0", "4.3.0"),
        lock_reject("lock-entry-null", "tools.helm.0", None),
        lock_reject("lock-artifacts-a-list", "tools.helm.0.artifacts", []),
        lock_reject("lock-artifact-a-string", AMD, HELM),
        lock_reject("lock-url-a-number", f"{AMD}.url", 123),
        lock_reject("lock-url-missing", f"{AMD}.url", DELETE),
        lock_reject("lock-checksum-url-missing", f"{AMD}.checksumUrl", DELETE),
        lock_reject("lock-checksum-url-a-list", f"{AMD}.checksumUrl", [HELM]),
        lock_reject("lock-sha-uppercase", f"{AMD}.sha256", "A" * 64),
        lock_reject("lock-sha-63", f"{AMD}.sha256", "a" * 63),
        lock_reject("lock-sha-65", f"{AMD}.sha256", "a" * 65),
        lock_reject("lock-sha-prefixed", f"{AMD}.sha256", "sha256:" + SHA),
        lock_reject("lock-sha-a-number", f"{AMD}.sha256", 12345),
        lock_reject("lock-sha-a-list", f"{AMD}.sha256", [SHA]),
        lock_reject("lock-sha-empty", f"{AMD}.sha256", ""),
        lock_reject("lock-sha-newline", f"{AMD}.sha256", SHA + "\n"),
        lock_reject("lock-version-a-dict", "tools.helm.0.version", {"v": 1}, mentions=("helm",)),
        lock_reject("lock-azure-cli-a-list", "azureCli", []),
        lock_reject("lock-azure-cli-versions-a-string", "azureCli.versions", "2.90.0", mentions=("azureCli",)),
        lock_reject(
            "lock-unknown-arch",
            "tools.helm.0.artifacts.riscv64",
            {"url": HELM, "sha256": SHA, "checksumUrl": HELM + ".sha256sum"},
        ),
        Case(
            "lock-duplicate-url-key",
            "lock",
            "reject",
            (LOCK, "url"),
            prepare=_text(_dup_url),
            why="a duplicate key silently keeps the last value; every JSON the tool reads refuses them",
        ),
        Case("lock-duplicate-tool-key", "lock", "reject", (LOCK, "helm"), prepare=_text(_dup_tool)),
        Case(
            "lock-not-utf8",
            "lock",
            "reject",
            (LOCK,),
            prepare=_text(lambda t: t.encode().replace(b"helm", b"h\xffm", 1)),
        ),
        Case("lock-not-json", "lock", "reject", (LOCK,), lock_text="{ not json"),
        Case("lock-top-level-list", "lock", "reject", (LOCK,), lock_text="[]"),
        Case(
            "lock-nan-digest",
            "lock",
            "reject",
            (LOCK,),
            prepare=_text(lambda t: t.replace('"sha256": "', '"sha256": NaN, "x": "', 1)),
        ),
        Case("lock-empty", "lock", "reject", (LOCK,), lock_text=""),
    ]


# ---------------------------------------------------------------------------------------------
# lock-vs-catalog: the entry must be exactly what the catalog derives for tool, version, architecture


def lvc(id: str, changes: dict, expect: str = "reject", **kw) -> Case:
    return Case(id, "lock-vs-catalog", expect, ("helm",), lock={f"{AMD}.{k}": v for k, v in changes.items()}, **kw)


def _lvc_cases() -> list[Case]:
    sums = HELM + ".sha256sum"
    return [
        lvc(
            "lvc-foreign-host",
            {"url": "https://evil.example/helm-v4.3.0-linux-amd64.tar.gz"},
            why="the egress allow-list would open the firewall to the foreign host",
        ),
        lvc("lvc-other-tool", {"url": "https://dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubectl"}),
        lvc("lvc-other-version", {"url": "https://get.helm.sh/helm-v4.2.0-linux-amd64.tar.gz"}),
        lvc("lvc-other-arch", {"url": "https://get.helm.sh/helm-v4.3.0-linux-arm64.tar.gz"}),
        lvc(
            "lvc-url-pct-traversal",
            {"url": "https://get.helm.sh/..%2F..%2Fusr%2Flocal%2Fbin%2Fhelm"},
            why="the decoded last segment became provision.sh's cache file name: a root write elsewhere",
        ),
        lvc("lvc-url-pct-encoded-dot", {"url": "https://get.helm.sh/helm-v4.3.0-linux-amd64%2Etar.gz"}),
        lvc("lvc-url-query", {"url": HELM + "?x=1"}),
        lvc("lvc-url-fragment", {"url": HELM + "#x"}),
        lvc("lvc-url-userinfo", {"url": HELM.replace("https://", "https://u:p@")}),
        lvc("lvc-url-port", {"url": HELM.replace("get.helm.sh", "get.helm.sh:8443")}),
        lvc("lvc-url-newline", {"url": HELM + "\nhttps://evil.example/x"}),
        lvc("lvc-url-space", {"url": HELM + " x"}),
        lvc("lvc-url-http", {"url": HELM.replace("https://", "http://")}),
        lvc("lvc-url-uppercase-host", {"url": HELM.replace("get.helm.sh", "GET.HELM.SH")}, expect="either"),
        lvc("lvc-checksum-pct-traversal", {"checksumUrl": "https://get.helm.sh/..%2F..%2Fetc%2Fcron.d%2Fx"}),
        lvc("lvc-checksum-http", {"checksumUrl": sums.replace("https://", "http://")}),
        lvc("lvc-checksum-foreign", {"checksumUrl": "https://evil.example/helm.sha256sum"}),
        lvc(
            "lvc-unpinned-foreign-checksum",
            {"sha256": None, "checksumUrl": "https://evil.example/helm.sha256sum"},
            why="an unpinned entry is verified against its checksum file: that file must be the catalog's",
        ),
        lvc("lvc-checksum-newline", {"checksumUrl": sums + "\nx"}),
        Case("lvc-default-lock", "lock-vs-catalog", "inert", why="the embedded lock matches the catalog"),
    ]


CASES = _lock_cases() + _lvc_cases()
