"""The second hostile review's cases: what comes back from Azure, a snapshot, a release feed, a mirror
or another image's report, and the arguments the first corpus did not try.

Each is a tests.hostile.case.Case run by the first corpus's harness (tests/hostile/README.md); ids start
with `r2-`. A `prepare` hook edits what the data fields cannot reach (a snapshot document, a feed answer).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import http.server
import json
import ssl
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.hostile.case import Case

SPEC = "jumpbox.yaml"
CHECK = ("check", "-f", SPEC, "--snapshot", "snap", "-o", "json")
ESC = "\x1b"
OSC_TITLE = "\x1b]0;PWNED\x07"  # sets the terminal's title; any raw ESC on a terminal is the defect
HUGE = "9" * 5000  # past Python's 4300-digit int() limit


# ---------------------------------------------------------------------------------------------
# snapshot documents (check --snapshot): each edit breaks one field of the preflight world's folder


def _edit(file: str, change: Callable[[Any], None]) -> Callable[[Any], None]:
    def prepare(ws) -> None:
        path = ws.work / "snap" / file
        doc = json.loads(path.read_text())
        change(doc)
        path.write_text(json.dumps(doc, indent=1, ensure_ascii=False))

    return prepare


def _subnet(vnet: dict) -> dict:
    return vnet["properties"]["subnets"][0]["properties"]


def _rules(nsg: dict) -> list:
    return nsg["properties"]["securityRules"]


def _app_rules(docs: list) -> list:
    return docs[1]["properties"]["ruleCollections"][0]["rules"]


def snap(id: str, expect: str, mentions: tuple[str, ...] = (), file: str = "", change=None, **kw) -> Case:
    kw.setdefault("args", CHECK)
    if change is not None:
        kw["prepare"] = _edit(file, change)
    return Case(id, "snapshot", expect, mentions, snapshot=True, writes=(), verify=None, **kw)


def _inject_subscription(ws) -> None:
    """The NSG's ID (and the subnet's reference to it) carry a shell payload as the subscription, and
    the NSG lacks the rules the build needs, so `check` prints an `az` fix built from that ID."""
    payload = "x;touch${IFS}PWNED;"
    nsg_path, vnet_path = ws.work / "snap" / "nsg.json", ws.work / "snap" / "vnet.json"
    nsg, vnet = json.loads(nsg_path.read_text()), json.loads(vnet_path.read_text())
    sub = nsg["id"].split("/")[2]
    nsg["id"] = nsg["id"].replace(sub, payload, 1)
    _subnet(vnet)["networkSecurityGroup"]["id"] = nsg["id"]
    nsg["properties"]["securityRules"] = [r for r in _rules(nsg) if "60001" not in r["name"]]
    nsg_path.write_text(json.dumps(nsg))
    vnet_path.write_text(json.dumps(vnet))


def _image_versions(*names: str) -> Callable[[Any], None]:
    def change(doc: dict) -> None:
        first = doc["value"][0]
        doc["value"] = []
        for n in names:
            v = copy.deepcopy(first)
            v["name"], v["id"] = n, first["id"].rsplit("/", 1)[0] + "/" + n
            doc["value"].append(v)

    return change


def _route(key: str, value: Any) -> Callable[[dict], None]:
    return lambda doc: doc["properties"]["routes"][0]["properties"].__setitem__(key, value)


def _snapshot_cases() -> list[Case]:
    lie = "a malformed field read as 'none' made the check pass on a network it never saw"
    return [
        snap(
            "r2-snap-vnet-prefix-99",
            "reject",
            ("vnet.json", "10.0.0.0/99"),
            "vnet.json",
            lambda d: d["properties"]["addressSpace"].__setitem__("addressPrefixes", ["10.0.0.0/99"]),
            why="was an internal error (ValueError deep in the address model)",
        ),
        snap(
            "r2-snap-vnet-prefixes-string",
            "reject",
            ("vnet.json", "addressPrefixes"),
            "vnet.json",
            lambda d: d["properties"]["addressSpace"].__setitem__("addressPrefixes", "10.240.0.0/16"),
            why="a string was iterated as characters: an internal error",
        ),
        snap(
            "r2-snap-subnet-nsg-string",
            "reject",
            ("vnet.json", "networkSecurityGroup"),
            "vnet.json",
            lambda d: _subnet(d).__setitem__("networkSecurityGroup", "nsg-imagebuilder"),
            why=lie,
        ),
        snap(
            "r2-snap-subnet-nsg-id-number",
            "reject",
            ("vnet.json", "networkSecurityGroup"),
            "vnet.json",
            lambda d: _subnet(d).__setitem__("networkSecurityGroup", {"id": 5}),
            why=lie,
        ),
        snap(
            "r2-snap-subnet-route-table-id-list",
            "reject",
            ("vnet.json", "routeTable"),
            "vnet.json",
            lambda d: _subnet(d).__setitem__("routeTable", {"id": []}),
            why=lie + " (egress 'goes out directly': the firewall's rules were never checked)",
        ),
        snap(
            "r2-snap-subnet-private-link-number",
            "reject",
            ("vnet.json", "privateLinkServiceNetworkPolicies"),
            "vnet.json",
            lambda d: _subnet(d).__setitem__("privateLinkServiceNetworkPolicies", 5),
            why="was an internal error (int has no lower())",
        ),
        snap(
            "r2-snap-nsg-properties-list",
            "reject",
            ("nsg.json", "properties"),
            "nsg.json",
            lambda d: d.__setitem__("properties", []),
            why="properties [] was read as a flattened document without rules: every flow passed",
        ),
        snap(
            "r2-snap-identity-properties-string",
            "reject",
            ("properties",),
            "identity.json",
            lambda d: d.__setitem__("properties", "x"),
        ),
        snap(
            "r2-snap-identity-principal-number",
            "reject",
            ("principalId",),
            "identity.json",
            lambda d: d.setdefault("properties", {}).__setitem__("principalId", 5),
            why="was an internal error (int has no lower())",
        ),
        snap(
            "r2-snap-firewall-rules-string",
            "reject",
            ("firewall-policy.json", "rules"),
            "firewall-policy.json",
            lambda d: d[1]["properties"]["ruleCollections"][0].__setitem__("rules", "allow all"),
            why="was an internal error (str has no get())",
        ),
        snap(
            "r2-snap-firewall-policy-id-number",
            "reject",
            ("firewallPolicy",),
            "firewall.json",
            lambda d: d["properties"].__setitem__("firewallPolicy", {"id": 1}),
            why="was an internal error (int has no lower())",
        ),
        snap(
            "r2-snap-route-prefix-99",
            "reject",
            ("routes.json", "0.0.0.0/99"),
            "routes.json",
            _route("addressPrefix", "0.0.0.0/99"),
            why="read as a service tag, then an IndexError",
        ),
        snap(
            "r2-snap-nsg-priority-huge",
            "reject",
            ("nsg.json", "priority"),
            "nsg.json",
            lambda d: _rules(d)[0]["properties"].__setitem__("priority", 10**40),
            why="Azure allows 100-4096; a rule past 65500 sorted after the default rules",
        ),
        snap(
            "r2-snap-nsg-priority-below-100",
            "reject",
            ("nsg.json", "priority"),
            "nsg.json",
            lambda d: _rules(d)[0]["properties"].__setitem__("priority", 1),
        ),
        snap(
            "r2-snap-route-service-tag",
            "inert",
            file="routes.json",
            change=_route("addressPrefix", "AzureCloud"),
            ok_codes=(0, 1),
            why="a route on a service tag to the firewall is valid Azure (it was an IndexError): a warning",
        ),
        snap(
            "r2-snap-image-version-superscript",
            "inert",
            file="image-versions.json",
            change=_image_versions("1.0.0", "\u00b2.1.1"),
            ok_codes=(0, 1),
            why="int('\u00b2') failed after isdigit() said yes",
        ),
        snap(
            "r2-snap-image-version-mixed",
            "inert",
            file="image-versions.json",
            change=_image_versions("1.2.3", "x.2.3"),
            ok_codes=(0, 1),
            why="sorting compared str with int",
        ),
        snap(
            "r2-snap-fix-subscription-payload",
            "inert",
            prepare=_inject_subscription,
            ok_codes=(1,),
            args=("check", "-f", SPEC, "--snapshot", "snap"),
            forbid=("--subscription x;touch",),
            why="`To fix:` prints az commands to paste into a shell: the subscription of a document's ID was "
            "pasted unquoted",
        ),
        snap(
            "r2-snap-error-message-escapes",
            "inert",
            file="template.json",
            change=lambda d: d.update(
                status=403,
                error={"code": "AuthorizationFailed", "message": f"{OSC_TITLE}[bold red]x[/]\nFAKE: pass"},
            ),
            args=("check", "-f", SPEC, "--snapshot", "snap"),
            ok_codes=(0, 1),
            forbid=(ESC,),
            why="an ARM error message is shown in the table: escaped, markup literal",
        ),
    ]


# ---------------------------------------------------------------------------------------------
# release feeds (outdated / lock --upgrade read the newest releases from FEED/HOST/PATH)


def _feed(change: Callable[[Path], None]) -> Callable[[Any], None]:
    def prepare(ws) -> None:
        from tests.support.release_feed import write_feed

        www = ws.root / "www"
        write_feed(www)
        change(www)

    return prepare


def _github_tag(repo: str, old: str, new: str) -> Callable[[Path], None]:
    def change(www: Path) -> None:
        path = www / "api.github.com" / "repos" / repo / "releases"
        doc = json.loads(path.read_text())
        for r in doc:
            if r["tag_name"] == old:
                r["tag_name"] = new
        path.write_text(json.dumps(doc))

    return change


def _stable(text: str) -> Callable[[Path], None]:
    return lambda www: (www / "dl.k8s.io" / "release" / "stable.txt").write_text(text)


def feed(id: str, change: Callable[[Path], None], forbid: tuple[str, ...], why: str) -> Case:
    return Case(
        id,
        "lock",
        "inert",
        args=("outdated", "-f", SPEC, "--feed", "{mirror}", "-o", "json"),
        server=True,
        prepare=_feed(change),
        writes=(),
        verify=None,
        forbid=forbid,
        why=why,
        timeout=30,
    )


def _feed_cases() -> list[Case]:
    return [
        feed(
            "r2-feed-huge-version",
            _github_tag("Azure/azure-cli", "azure-cli-2.91.0", f"azure-cli-2.{HUGE}.0"),
            (HUGE[:50],),
            "int() of a 5000-digit version: an internal error in outdated and lock --upgrade",
        ),
        feed(
            "r2-feed-version-newline",
            _github_tag("Azure/azure-cli", "azure-cli-2.91.0", "azure-cli-3.0.0\n"),
            ("3.0.0",),
            "`$` matched before a trailing newline: '3.0.0\\n' was offered as the newest release",
        ),
        feed(
            "r2-feed-unicode-digits",
            _stable("v\u0661.\u0669\u0669.\u0660"),
            ("\u0661",),
            "`\\d` took Arabic-Indic digits: a version no URL or spec accepts was offered",
        ),
    ]


# ---------------------------------------------------------------------------------------------
# lock: a mirror that answers with a hostile HTTP reason phrase for the other architecture


class _ReasonHttps:
    """A loopback HTTPS server (throw-away CA) serving root, except that paths ending in a key of
    `refuse` get 404 with that reason phrase."""

    def __init__(self, root: Path, ca_dir: Path, refuse: dict[str, str]) -> None:
        import trustme

        ca = trustme.CA()
        self.ca_file = ca_dir / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(ctx)

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                for suffix, reason in refuse.items():
                    if self.path.endswith(suffix):
                        self.send_response(404, reason)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                super().do_GET()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _mirror_refusing_arm64(reason: str) -> Callable[[Any], None]:
    def prepare(ws) -> None:
        import yaml

        from aks_jumpbox.core.catalog import load_catalog, url_basename

        tool, version = load_catalog().tool("kubectl"), "1.37.1"
        folder = ws.root / "www" / "m" / "kubectl" / version / "amd64"
        folder.mkdir(parents=True)
        digest = hashlib.sha256(b"kubectl").hexdigest()
        (folder / url_basename(tool.checksum_file_url(version, "amd64"))).write_text(digest + "\n")
        (ws.root / "ca").mkdir()
        ws._server = _ReasonHttps(ws.root / "www", ws.root / "ca", {"/arm64/kubectl.sha256": reason})
        ws.mirror_url = ws._server.url  # the harness closes ws._server and trusts its ca_file
        data = yaml.safe_load((ws.work / SPEC).read_text())
        data["tools"] = {"kubectl": {"version": version}}
        data["mirror"] = {"artifacts": f"{ws.mirror_url}/m"}
        data["azure_cli"]["extensions"] = []  # in mirror mode `lock` would read the mirror's extension index
        ws.write_spec(data)
        (ws.work / "jumpbox.lock.json").write_text('{"schema": "aks-jumpbox/lock/v1", "tools": {}}')

    return prepare


def _lock_cases() -> list[Case]:
    return [
        Case(
            "r2-lock-reason-phrase-escape",
            "lock",
            "inert",
            args=("lock", "-f", SPEC),
            prepare=_mirror_refusing_arm64(f"{OSC_TITLE}\x1b[2JNot Found"),
            writes=("{work}/jumpbox.lock.json",),
            verify=None,
            forbid=(ESC, "\\u001b"),
            timeout=60,
            why="the server's reason phrase reached the terminal raw and the lock's `source` note, which the "
            "lock reader then refused: every later plan failed until the lock was edited by hand",
        ),
    ]


# ---------------------------------------------------------------------------------------------
# diff: a software report from elsewhere (another image, a blob container)


def _reports(change: Callable[[dict], None]) -> Callable[[Any], None]:
    def prepare(ws) -> None:
        r = subprocess.run(
            [sys.executable, "-m", "aks_jumpbox.cli.main", "report", "-f", SPEC, "--out", "rep"],
            cwd=ws.work,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert r.returncode == 0, r.stderr
        doc = json.loads((ws.work / "rep" / "software-report.json").read_text())
        change(doc)
        (ws.work / "b.json").write_text(json.dumps(doc, ensure_ascii=False))

    return prepare


def diff(id: str, mentions: tuple[str, ...], change: Callable[[dict], None], why: str = "") -> Case:
    return Case(
        id,
        "markup",
        "reject",
        ("b.json", *mentions),
        args=("diff", "rep", "b.json"),
        prepare=_reports(change),
        writes=(),
        verify=None,
        forbid=(ESC,),
        why=why,
    )


def _diff_cases() -> list[Case]:
    return [
        diff(
            "r2-diff-escape-in-version",
            ("tools[0].version",),
            lambda d: d["tools"][0].__setitem__("version", f"{OSC_TITLE}\x1b[2J9.9.9"),
            "printed raw by `diff` (click.echo)",
        ),
        diff(
            "r2-diff-newline-in-name",
            ("tools[1].name",),
            lambda d: d["tools"][1].__setitem__("name", "evil\nNo differences in tools"),
            "a forged line in the diff a release note is made from",
        ),
        diff("r2-diff-tools-string", ("tools",), lambda d: d.__setitem__("tools", "x"), "was an internal error"),
        diff("r2-diff-no-azure-cli", ("azureCli",), lambda d: d.pop("azureCli"), "was an internal error"),
        diff(
            "r2-diff-packages-object",
            ("packages",),
            lambda d: d.__setitem__("packages", {"a": 1}),
            "was an internal error",
        ),
        diff(
            "r2-diff-extension-number",
            ("azureCli.extensions[0].name",),
            lambda d: d["azureCli"].__setitem__("extensions", [{"name": 5, "version": None}]),
        ),
    ]


# ---------------------------------------------------------------------------------------------
# arguments: digits that are not ASCII, numbers past int()'s limit


def arg(id: str, args: tuple[str, ...], mentions: tuple[str, ...], why: str = "") -> Case:
    return Case(id, "cli-argument", "reject", mentions, args=args, writes=(), verify=None, why=why)


def _argument_cases() -> list[Case]:
    return [
        arg(
            "r2-promote-superscript",
            ("promote", "\u00b2.1.1", "--yes"),
            ("VERSION",),
            "'\u00b2'.isdigit() is True, int('\u00b2') raises: an internal error",
        ),
        arg("r2-promote-huge", ("promote", f"1.2.{HUGE}", "--yes"), ("VERSION",), "int() of 5000 digits"),
        arg(
            "r2-promote-arabic-digits",
            ("promote", "\u0661.\u0662.\u0663", "--yes"),
            ("VERSION",),
            "Azure's gallery versions are ASCII digits",
        ),
        arg(
            "r2-promote-past-int32",
            ("promote", "2147483648.0.0", "--yes"),
            ("VERSION",),
            "each part of a gallery version is a 32-bit integer",
        ),
        arg("r2-promote-dotdot", ("promote", "../..", "--yes"), ("VERSION",)),
        arg("r2-promote-shell", ("promote", "1.2.3;rm -rf ~", "--yes"), ("VERSION",)),
        arg(
            "r2-ci-cron-huge",
            ("ci", "github", "--schedule", f"{HUGE} * * * *", "--out", "wf.yml"),
            ("--schedule",),
            "int() of 5000 digits: an internal error",
        ),
        arg(
            "r2-ci-cron-arabic",
            ("ci", "github", "--schedule", "\u0661 3 * * 1", "--out", "wf.yml"),
            ("--schedule",),
            "written into the workflow, where GitHub refuses it",
        ),
    ]


def _upload_cases() -> list[Case]:
    """`report --upload-to URL`: the Azure AD token goes to URL's host, the files under its path. Refused
    before anything is written (the tripwire proves no sign-in was tried)."""
    forms = {
        "r2-upload-no-host": (
            "https:///reports",
            "no host",
            "was an internal error after the files were written",
        ),
        "r2-upload-userinfo": ("https://u:p@acct.blob.core.windows.net/c", "user name or password", ""),
        "r2-upload-dotdot": (
            "https://acct.blob.core.windows.net/c/../../other",
            ".. segment",
            "a prefix of ../.. leaves the container the user named",
        ),
        "r2-upload-encoded-dotdot": ("https://acct.blob.core.windows.net/c/%2e%2e/x", ".. segment", ""),
        "r2-upload-sas-query": (
            "https://acct.blob.core.windows.net/c?sv=1&sig=abcdefgh",
            "query",
            "a SAS token was silently dropped (sign-in is Azure AD)",
        ),
        "r2-upload-bad-port": ("https://acct.blob.core.windows.net:99999/c", "Port out of range", ""),
    }
    return [
        Case(
            id,
            "url",
            "reject",
            ("--upload-to", says),
            args=("report", "-f", SPEC, "--out", "out", "--upload-to", url),
            writes=(),
            verify=None,
            why=why,
        )
        for id, (url, says, why) in forms.items()
    ]


CASES = [
    *_snapshot_cases(),
    *_upload_cases(),
    *_feed_cases(),
    *_lock_cases(),
    *_diff_cases(),
    *_argument_cases(),
]
_dupes = [k for k, n in Counter(c.id for c in CASES).items() if n > 1]
assert not _dupes, f"duplicate case ids: {_dupes}"


# ---------------------------------------------------------------------------------------------
# third review (r3-): the surface added since 8a8036b


def _spec_named(name: str) -> Callable[[Any], None]:
    def prepare(ws) -> None:
        (ws.work / name).write_bytes((ws.work / SPEC).read_bytes())

    return prepare


_NEWLINE_SPEC = "j\ntouch PWNED\n.yaml"


def _review3_cases() -> list[Case]:
    return [
        Case(
            "r3-print-commands-spec-name-newline",
            "cli-argument",
            "inert",
            args=("snapshot", "--print-commands", "-f", _NEWLINE_SPEC),
            prepare=_spec_named(_NEWLINE_SPEC),
            writes=(),
            verify=None,
            forbid=("\ntouch PWNED",),
            why="the spec's file name is written into the script's first comment: a newline in it ended the "
            "comment and the rest ran as a command on the network team's machine",
        ),
    ]


CASES += _review3_cases()
_dupes = [k for k, n in Counter(c.id for c in CASES).items() if n > 1]
assert not _dupes, f"duplicate case ids: {_dupes}"
