"""The rendered scripts as a bash library: sourced (their main guard keeps `main` from running), their
helpers are called one by one: fetch against a loopback HTTPS server, expected_digest on local
checksum files (fetch stubbed), version_of, the manifest completion and the manifest check."""

from __future__ import annotations

import hashlib
import http.server
import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from aks_jumpbox.core.catalog import load_catalog
from aks_jumpbox.core.scripts import ARTIFACT_COLUMNS, PROVISION_COLUMNS, VALIDATE_COLUMNS
from tests.support.rendered import image_manifest, sourced

trustme = pytest.importorskip("trustme")


@pytest.fixture(scope="module")
def provision(default_plan) -> str:
    return default_plan.scripts["provision.sh"]


@pytest.fixture(scope="module")
def validate(default_plan) -> str:
    return default_plan.scripts["validate.sh"]


def test_sourcing_runs_nothing_and_running_runs_main(provision, validate, tmp_path):
    for name, script in (("provision.sh", provision), ("validate.sh", validate)):
        result = sourced(script, "declare -F main version_of >/dev/null && echo defined")
        assert result.stdout == "defined\n" and result.stderr == ""
        # Run as Image Builder runs it (`bash file`), main runs; stubbed here, never for real.
        path = tmp_path / name
        path.write_text(script.replace("main() {\n", 'main() {\n  echo "main ran: $*"; return 0\n', 1))
        run = subprocess.run(
            ["bash", str(path), "a", "b"], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}
        )
        assert (run.returncode, run.stdout) == (0, "main ran: a b\n"), run.stderr


# ---- the tool table's columns: one definition ---------------------------------------------------


def test_the_read_lists_are_the_column_definition(provision, validate, default_plan):
    read = "read -r " + " ".join(PROVISION_COLUMNS) + "; do"
    assert provision.count(read) == 2 and "read -r name version url sha file rest" not in provision
    assert validate.count("read -r " + " ".join(VALIDATE_COLUMNS) + "; do") == 2
    # Each cell lands in the variable of its column's name.
    names = " ".join(f'"${c}"' for c in PROVISION_COLUMNS)
    code = (
        f"while IFS=$'\\t' read -r {' '.join(PROVISION_COLUMNS)}; do printf \"%s\\t\" {names}; echo; "
        'done <<< "$ARTIFACTS"'
    )
    rows = [line.rstrip("\t").split("\t") for line in sourced(provision, code).stdout.splitlines()]
    assert rows == [[ARTIFACT_COLUMNS[c](a) for c in PROVISION_COLUMNS] for a in default_plan.artifacts]


def test_version_of_is_written_once_and_shared(provision, validate):
    assert provision.count("version_of() {") == validate.count("version_of() {") == 1
    shown = [sourced(s, "declare -f version_of").stdout for s in (provision, validate)]
    assert shown[0] == shown[1] and "sed -nE" in shown[0]


# ---- version_of ----------------------------------------------------------------------------------


def version_of(script: str, regex: str, output: str) -> str:
    """What the scripts get: `got=$(command | version_of REGEX)`."""
    code = 'got=$(printf "%s" "$OUT" | version_of "$REGEX")\nprintf "%s" "$got"'
    return sourced(script, code, {"OUT": output, "REGEX": regex}).stdout


@pytest.mark.parametrize(
    ("regex", "output", "want"),
    [
        ("^v([0-9.]+)", "v1.2.3+g1\nv9.9.9\n", "1.2.3"),  # anchored: the first matching line only
        ("^v([0-9.]+)", "helm v1.2.3\n", ""),  # anchored: not in the middle of a line
        ("^v([0-9.]+)", "banner\nv4.5.6\n", "4.5.6"),  # anchored: at the start of any line
        ("Version: v([0-9.]+)", "Client Version: v1.30.2 (x)\n", "1.30.2"),  # unanchored: anywhere
        ('"azure-cli": *"([^"]+)"', '{\n  "azure-cli": "2.90.0",\n  "azure-cli-core": "2.90.0"\n}', "2.90.0"),
        ("Version: v([0-9.]+)", "nothing here\n", ""),
    ],
)
def test_version_of_reads_the_first_capture_group(provision, validate, regex, output, want):
    assert version_of(provision, regex, output) == want
    assert version_of(validate, regex, output) == want


def test_version_of_agrees_with_the_catalog_on_every_example(provision, default_plan):
    catalog = load_catalog()
    for a in default_plan.artifacts:
        example = catalog.tools[a.name].version.example
        assert version_of(provision, a.version_regex, example) == catalog.tools[a.name].version.parse(example)


# ---- expected_digest (fetch stubbed: the "URL" is a local file) ---------------------------------

A = "A" * 64
B = "b" * 64


def expected_digest(
    provision: str, tmp_path: Path, fmt: str, sums: str, order: str | None = None, file: str = "tool-linux-amd64.tar.gz"
):
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    (tmp_path / "sums").write_text(sums)
    order_url = "-"
    if order is not None:
        (tmp_path / "order").write_text(order)
        order_url = str(tmp_path / "order")
    code = f'fetch() {{ cp "$1" "$2"; }}\nWORK={work}\nexpected_digest tool "$SUMS" "$FORMAT" "$ORDER" "$FILE"'
    env = {"SUMS": str(tmp_path / "sums"), "FORMAT": fmt, "ORDER": order_url, "FILE": file}
    return sourced(provision, code, env, check=False)


@pytest.mark.parametrize(
    ("fmt", "sums", "order", "want"),
    [
        ("bare", f"{A}\n", None, A.lower()),
        ("bare", f"{A}  tool-linux-amd64.tar.gz\n{B}  other\n", None, A.lower()),
        ("sha256sum", f"{B}  tool-linux-arm64.tar.gz\n{A}  tool-linux-amd64.tar.gz\n", None, A.lower()),
        ("sha256sum", f"{A} *tool-linux-amd64.tar.gz\n", None, A.lower()),  # binary-mode marker
        ("sha256sum", f"{A}  tool-linux-amd64.tar.gz.sig\n", None, ""),  # another file only: nothing
        (
            "yq-multi",
            f"tool-linux-arm64.tar.gz x y {B}\ntool-linux-amd64.tar.gz 1 2 {A}\n",
            "MD5\nSHA-1\nSHA-256\nSHA-384\n",
            A.lower(),
        ),
    ],
)
def test_expected_digest_reads_each_checksum_format(provision, tmp_path, fmt, sums, order, want):
    result = expected_digest(provision, tmp_path, fmt, sums, order)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (f"{want}\n" if want else "")


@pytest.mark.parametrize(
    ("fmt", "order", "says"),
    [
        ("yq-multi", "MD5\nSHA-1\n", "names no SHA-256 column"),
        ("md5", None, "tool: unknown checksum format md5"),
    ],
)
def test_expected_digest_fails_naming_the_tool_and_why(provision, tmp_path, fmt, order, says):
    result = expected_digest(provision, tmp_path, fmt, f"{A}\n", order)
    assert result.returncode == 1
    assert "==> aks-jumpbox step provision FAILED: " in result.stderr and says in result.stderr


def test_expected_digest_fails_when_the_checksum_file_cannot_be_fetched(provision, tmp_path):
    code = f"fetch() {{ return 1; }}\nWORK={tmp_path}\nexpected_digest tool https://x/sums sha256sum - f"
    result = sourced(provision, code, check=False)
    assert result.returncode == 1
    assert "tool: could not fetch its checksum file https://x/sums" in result.stderr


# ---- fetch against a loopback HTTPS server -------------------------------------------------------


class _Server:
    """HTTPS on 127.0.0.1; answers 500 to the first `failures` requests of a path, then the body."""

    def __init__(self, ca_dir: Path) -> None:
        ca = trustme.CA()
        self.ca_file = ca_dir / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(ctx)
        self.body = b"the artifact\n"
        self.failures = 0
        self.requests: list[int] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                status = 500 if len(server.requests) < server.failures else 200
                server.requests.append(status)
                body = b"boom" if status == 500 else server.body
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_port}/tool.tar.gz"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path) -> Iterator[_Server]:
    s = _Server(tmp_path)
    yield s
    s.close()


def fetch(provision: str, server: _Server, url: str, dest: Path, attempts: int = 2):
    code = f'DOWNLOAD_ATTEMPTS={attempts}\nDOWNLOAD_TIMEOUT=60\nfetch "$URL" "$DEST"'
    return sourced(
        provision,
        code,
        {"URL": url, "DEST": str(dest), "CURL_CA_BUNDLE": str(server.ca_file)},
        check=False,
        timeout=120,
    )


def test_fetch_downloads_over_https(provision, server, tmp_path):
    dest = tmp_path / "out" / "tool.tar.gz"
    dest.parent.mkdir()
    result = fetch(provision, server, server.url, dest)
    assert result.returncode == 0, result.stderr
    assert dest.read_bytes() == server.body and server.requests == [200]
    assert list(dest.parent.iterdir()) == [dest]  # no .part left


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/tool.tar.gz", "file:///etc/hostname", "ftp://127.0.0.1/x", "HTTPS://127.0.0.1/x"]
)
def test_fetch_refuses_what_is_not_https(provision, server, tmp_path, url):
    dest = tmp_path / "tool.tar.gz"
    result = fetch(provision, server, url, dest)
    assert result.returncode == 1
    assert result.stderr == f"refusing a download that is not HTTPS: {url}\n"
    assert list(tmp_path.glob("tool.tar.gz*")) == [] and server.requests == []


def test_fetch_retries_a_failed_answer(provision, server, tmp_path):
    server.failures = 1
    dest = tmp_path / "tool.tar.gz"
    result = fetch(provision, server, server.url, dest, attempts=2)
    assert result.returncode == 0, result.stderr
    assert server.requests == [500, 200] and dest.read_bytes() == server.body
    assert not (tmp_path / "tool.tar.gz.part").exists()


def test_fetch_gives_up_after_its_attempts_and_leaves_no_part_file(provision, server, tmp_path):
    server.failures = 10
    dest = tmp_path / "tool.tar.gz"
    (tmp_path / "tool.tar.gz.part").write_bytes(b"stale half download")
    result = fetch(provision, server, server.url, dest, attempts=2)
    assert result.returncode == 1
    assert server.requests == [500, 500]
    last = result.stderr.splitlines()[-1]
    assert last == f"download of {server.url} failed after 2 attempt(s) of at most 60s (curl exit 22)"
    assert list(tmp_path.glob("tool.tar.gz*")) == []


# ---- the manifest: rendered at plan time, completed on the VM ------------------------------------


def test_the_manifest_is_the_plans_with_only_what_the_vm_learns_added(provision, default_plan):
    unpinned = [a.name for a in default_plan.artifacts if a.sha256 is None]
    assert unpinned, "the default plan has tools verified against checksum files"
    verified = {a.name: hashlib.sha256(a.name.encode()).hexdigest() for a in default_plan.artifacts}
    doc = image_manifest(provision, verified)
    assert doc["plan"] == default_plan.hash and doc["baseImage"] == default_plan.spec.base_image
    assert doc["builtAt"].endswith("Z") and doc["builtAt"][:2] == "20"
    assert doc["azureCli"]["package"].startswith(f"azure-cli={doc['azureCli']['version']}")
    for tool, a in zip(doc["tools"], default_plan.artifacts, strict=True):
        assert (tool["name"], tool["version"], tool["path"], tool["source"]) == (
            a.name,
            a.version,
            a.install_path,
            a.url,
        )
        assert tool["sha256"] == (a.sha256 or verified[a.name])


def test_a_manifest_value_left_uncompleted_fails_the_step(provision, default_plan):
    unpinned = next(a.name for a in default_plan.artifacts if a.sha256 is None)
    result = sourced(provision, "STEP=manifest\nmanifest_json", check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (
        "==> aks-jumpbox step manifest FAILED: manifest: a value was left uncompleted: "
        f"<aks-jumpbox:sha256:{unpinned}>\n"
    )


def _check_manifest(validate: str, path: Path):
    return sourced(validate, f'MANIFEST_FILE={path}\ncheck_manifest\necho "failures=$failures"', check=False)


def test_validate_says_ok_manifest_only_when_the_manifest_check_passed(provision, validate, default_plan, tmp_path):
    good = image_manifest(provision, {a.name: "0" * 64 for a in default_plan.artifacts})
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(good, indent=2))
    result = _check_manifest(validate, path)
    assert result.stdout == "    ok: manifest\nfailures=0\n", result.stderr

    path.write_text(json.dumps({**good, "plan": "f" * 64}, indent=2))
    result = _check_manifest(validate, path)
    assert "ok: manifest" not in result.stdout and "failures=1" in result.stdout
    assert "was written by another plan than" in result.stderr

    path.write_text(json.dumps({**good, "tools": good["tools"][1:]}, indent=2))
    result = _check_manifest(validate, path)
    assert "ok: manifest" not in result.stdout
    assert f"manifest: {good['tools'][0]['name']} is not listed in {path}" in result.stderr

    result = _check_manifest(validate, tmp_path / "absent.json")
    assert "ok: manifest" not in result.stdout and "is missing" in result.stderr


# ---- nothing phones home, nothing of the build's own tools stays in the image --------------------


_PROVISION_STEPS = (
    "wait_for_boot",
    "trust_mirror_ca",
    "use_apt_mirror",
    "apt_upgrade",
    "start_downloads",
    "install_azure_cli",
    "harden_sshd",
    "write_manifest",
    "clean_up",
)


def test_provision_runs_the_tools_with_terraforms_version_check_off(provision, tmp_path):
    # `terraform version` calls checkpoint-api.hashicorp.com unless CHECKPOINT_DISABLE is set (issue 10).
    stubs = "\n".join(f"{f}() {{ :; }}" for f in _PROVISION_STEPS)
    code = (
        f"WORK={tmp_path}/work\nSTATE={tmp_path}/state\nid() {{ echo 0; }}\n{stubs}\n"
        'install_tools() { echo "CHECKPOINT_DISABLE=${CHECKPOINT_DISABLE-unset}"; }\nmain'
    )
    result = sourced(provision, code, check=False)
    assert result.returncode == 0, result.stderr
    assert "CHECKPOINT_DISABLE=1\n" in result.stdout


def test_the_cleanup_step_removes_the_build_runs_azure_cli_state(provision, tmp_path):
    az_state, work = tmp_path / "root-azure", tmp_path / "work"
    for d in (az_state, work):
        d.mkdir()
        (d / "config").write_text("[extension]\nindex_url = x\n")
    code = f"WORK={work}\nAZ_STATE={az_state}\napt-get() {{ :; }}\nclean_up"
    result = sourced(provision, code)
    assert "step cleanup end" in result.stdout
    assert not az_state.exists() and not work.exists()
    assert sourced(provision, 'echo "$AZ_STATE"').stdout == "/root/.azure\n"


def test_validate_runs_with_the_version_check_off_and_leaves_no_azure_cli_state(validate, tmp_path):
    stubs = "\n".join(f"{f}() {{ :; }}" for f in ("check_azure_cli", "check_sshd", "check_manifest"))
    code = (
        f"{stubs}\n"
        'check_tools() { echo "CHECKPOINT_DISABLE=${CHECKPOINT_DISABLE-unset}"; echo "dir=$AZURE_CONFIG_DIR"; '
        'touch "$AZURE_CONFIG_DIR/config"; }\n(main)'
    )
    result = sourced(validate, code, {"TMPDIR": str(tmp_path)})
    assert "CHECKPOINT_DISABLE=1\n" in result.stdout
    az_dir = result.stdout.split("dir=", 1)[1].splitlines()[0]
    assert az_dir.startswith(str(tmp_path)) and not Path(az_dir).exists()


# ---- Azure CLI extensions: the locked wheel, verified, installed from the file (issue 10, item 5) ----------

_AZ_STUB = """
az() {
  echo "az $*" >> "$CALLS"
  case "$1 $2" in
    "extension show") echo "$AZ_EXT_VERSION" ;;
    "version -o") printf '{"azure-cli": "%s"}\\n' "$AZ_VERSION" ;;
  esac
}
"""


def _install_extensions(provision: str, tmp_path: Path, wheel: bytes, sha: str, reported: str):
    """install_extensions with fetch copying `wheel` and a recording `az` that reports `reported`."""
    src = tmp_path / "served.whl"
    src.write_bytes(wheel)
    row = "\t".join(
        [
            "aks-preview",
            "18.0.0b7",
            "https://mirror.invalid/x/aks_preview-18.0.0b7-py3-none-any.whl",
            sha,
            "aks_preview-18.0.0b7-py3-none-any.whl",
        ]
    )
    code = (
        f"WORK={tmp_path}/work\nAZ_EXTENSIONS=$ROW\n{_AZ_STUB}\n"
        'fetch() { echo "fetch $1" >> "$CALLS"; cp "$SRC" "$2"; }\ninstall_extensions'
    )
    calls = tmp_path / "calls"
    result = sourced(
        provision, code, {"ROW": row, "SRC": str(src), "CALLS": str(calls), "AZ_EXT_VERSION": reported}, check=False
    )
    return result, calls.read_text().splitlines() if calls.exists() else []


def test_an_extension_is_installed_from_its_verified_wheel(provision, tmp_path):
    wheel = b"PK a wheel"
    result, calls = _install_extensions(provision, tmp_path, wheel, hashlib.sha256(wheel).hexdigest(), "18.0.0b7")
    assert result.returncode == 0, result.stderr
    path = f"{tmp_path}/work/extensions/aks_preview-18.0.0b7-py3-none-any.whl"
    assert calls == [
        "fetch https://mirror.invalid/x/aks_preview-18.0.0b7-py3-none-any.whl",
        f"az extension add --source {path} --system --yes --upgrade --only-show-errors",
        "az extension show --name aks-preview --query version -o tsv",
    ]
    assert "Azure CLI extension aks-preview 18.0.0b7 installed from aks_preview-18.0.0b7" in result.stdout


def test_a_wheel_whose_digest_differs_from_the_lock_is_never_installed(provision, tmp_path):
    result, calls = _install_extensions(provision, tmp_path, b"PK tampered", "0" * 64, "18.0.0b7")
    assert result.returncode == 1
    assert "aks-preview: SHA-256 mismatch for aks_preview-18.0.0b7-py3-none-any.whl" in result.stderr
    assert not any(c.startswith("az ") for c in calls), "az never saw the wheel"
    assert not list((tmp_path / "work" / "extensions").iterdir())


def test_an_installed_extension_of_another_version_fails_the_step(provision, tmp_path):
    wheel = b"PK a wheel"
    result, _ = _install_extensions(provision, tmp_path, wheel, hashlib.sha256(wheel).hexdigest(), "19.0.0b1")
    assert result.returncode == 1
    assert "aks-preview: az reports extension version 19.0.0b1, expected 18.0.0b7" in result.stderr


def test_the_default_plan_pins_the_extension_table(provision, validate, default_plan):
    (wheel,) = default_plan.azure_cli.wheels
    row = "\t".join([wheel.name, wheel.version, wheel.url, wheel.sha256, wheel.file_name])
    assert sourced(provision, 'printf "%s" "$AZ_EXTENSIONS"').stdout == row
    assert sourced(validate, 'printf "%s" "$AZ_EXTENSIONS"').stdout == f"{wheel.name}\t{wheel.version}"
    assert "extension.index_url" not in provision and '--name "$ext" --version' not in provision


@pytest.mark.parametrize(
    ("reported", "says"),
    [
        ("18.0.0b7", "ok: azure-cli extension aks-preview 18.0.0b7"),
        ("19.0.0b1", "azure-cli extension aks-preview is 19.0.0b1, expected 18.0.0b7"),
        ("", "azure-cli extension aks-preview is not installed"),
    ],
)
def test_validate_checks_each_extensions_installed_version(validate, tmp_path, reported, says):
    code = f"AZ_EXTENSIONS=$'aks-preview\\t18.0.0b7'\n{_AZ_STUB}\ncheck_azure_cli\necho \"failures=$failures\""
    result = sourced(validate, code, {"CALLS": str(tmp_path / "calls"), "AZ_EXT_VERSION": reported})
    assert says in result.stdout + result.stderr
    assert f"failures={0 if reported == '18.0.0b7' else 1}" in result.stdout
