"""`aks-jumpbox lock` against a loopback HTTPS mirror holding upstream-format checksum files."""

from __future__ import annotations

import hashlib
import json

import yaml

from aks_jumpbox.core.catalog import load_catalog, url_basename
from aks_jumpbox.core.lock import default_lock_text
from tests.conftest import run_cli, variant
from tests.support.https_server import StaticHttps

TOOLS = {"kubectl": "1.37.1", "helm": "4.3.0", "yq": "4.54.1", "azwi": "1.6.0"}


WHEEL = "https://azcliprod.blob.core.windows.net/cli-extensions/aks_preview-{v}-py2.py3-none-any.whl"


def _publish_index(root):
    """Microsoft's extension index as the mirror holds it (azure-cli-extensions/index.json): aks-preview at the
    embedded lock's 18.0.0b7 (its digest), a newer one for a newer Azure CLI, and one too new to fit."""
    locked = json.loads(default_lock_text())["azureCli"]["extensions"]["aks-preview"][0]
    entries = [
        (locked["version"], locked["sha256"], "2.60.0"),
        ("18.0.0b8", "8" * 64, "2.80.0"),
        ("19.0.0b1", "9" * 64, "2.99.0"),
    ]
    index = {
        "formatVersion": "1",
        "extensions": {
            "aks-preview": [
                {
                    "downloadUrl": WHEEL.format(v=v),
                    "sha256Digest": sha,
                    "filename": WHEEL.format(v=v).rsplit("/", 1)[1],
                    "metadata": {"name": "aks-preview", "version": v, "azext.minCliCoreVersion": cli},
                }
                for v, sha, cli in entries
            ]
        },
    }
    (root / "azure-cli-extensions").mkdir(parents=True, exist_ok=True)
    (root / "azure-cli-extensions" / "index.json").write_text(json.dumps(index))


def _publish(root, tools):
    """Checksum files in each upstream's own format, in the mirror layout; returns the digests."""
    _publish_index(root)
    catalog, digests = load_catalog(), {}
    for name, version in tools.items():
        tool = catalog.tool(name)
        for arch in tool.arch_names:
            art = url_basename(tool.artifact_url(version, arch))
            sha = hashlib.sha256(f"{name}{arch}".encode()).hexdigest()
            digests[(name, arch)] = sha
            folder = root / name / version / arch
            folder.mkdir(parents=True)
            sums = folder / url_basename(tool.checksum_file_url(version, arch))
            if tool.checksum_format == "bare":
                sums.write_text(sha + "\n")
            elif tool.checksum_format == "sha256sum":
                sums.write_text(f"{'0' * 64}  other-file.tar.gz\n{sha}  {art}\n")
            else:
                (folder / "checksums_hashes_order").write_text("CRC32\nMD5\nSHA-256\n")
                sums.write_text(f"{art}  deadbeef {'1' * 32} {sha}\n")
    return digests


def _spec(tmp_path, default_data, url):
    spec = tmp_path / "jumpbox.yaml"
    spec.write_text(yaml.safe_dump(variant(default_data, tools=TOOLS, mirror={"artifacts": f"{url}/m"})))
    # A fresh lock: otherwise the embedded default's real digests would (rightly) refuse the fakes.
    (tmp_path / "jumpbox.lock.json").write_text('{"schema": "aks-jumpbox/lock/v1", "tools": {}}')
    return spec


def test_lock_resolves_every_digest_from_the_mirror(tmp_path, default_data):
    digests = _publish(tmp_path / "www" / "m", TOOLS)
    with StaticHttps(tmp_path / "www", tmp_path) as srv:
        spec = _spec(tmp_path, default_data, srv.url)
        result = run_cli("lock", "-f", str(spec), env={"SSL_CERT_FILE": str(srv.ca_file)})
        assert result.returncode == 0, result.stderr
        lock = json.loads((tmp_path / "jumpbox.lock.json").read_text())
        assert sorted(lock["tools"]) == sorted(TOOLS)
        for name, entries in lock["tools"].items():
            (entry,) = entries
            for arch, art in entry["artifacts"].items():
                assert art["sha256"] == digests[(name, arch)]
                assert art["url"].startswith("https://") and srv.url not in art["url"], "the lock keeps upstream URLs"
        # A fresh lock: the newest aks-preview the mirror's index says fits azure-cli 2.90.0.
        (ext,) = lock["azureCli"]["extensions"]["aks-preview"]
        assert ext == {
            "version": "18.0.0b8",
            "url": WHEEL.format(v="18.0.0b8"),
            "sha256": "8" * 64,
            "source": f"extension index {srv.url}/m/azure-cli-extensions/index.json (sha256Digest)",
        }
        planned = run_cli("plan", "-f", str(spec), "--no-write", "--output", "json")
        assert planned.returncode == 0, planned.stderr
        assert all(a["verification"] == "pinned" for a in json.loads(planned.stdout)["artifacts"])
        # A re-lock keeps the locked version; a changed digest for its wheel is refused like a tool's.
        index = tmp_path / "www" / "m" / "azure-cli-extensions" / "index.json"
        index.write_text(index.read_text().replace("8" * 64, "7" * 64))
        before = (tmp_path / "jumpbox.lock.json").read_text()
        again = run_cli("lock", "-f", str(spec), env={"SSL_CERT_FILE": str(srv.ca_file)})
        assert again.returncode == 1 and "aks-preview 18.0.0b8: the index" in again.stderr
        assert "now lists" in again.stderr and (tmp_path / "jumpbox.lock.json").read_text() == before


def test_a_changed_digest_for_the_same_url_is_refused(tmp_path, default_data):
    root = tmp_path / "www" / "m"
    _publish(root, TOOLS)
    with StaticHttps(tmp_path / "www", tmp_path) as srv:
        spec = _spec(tmp_path, default_data, srv.url)
        env = {"SSL_CERT_FILE": str(srv.ca_file)}
        assert run_cli("lock", "-f", str(spec), env=env).returncode == 0
        before = (tmp_path / "jumpbox.lock.json").read_text()
        (root / "kubectl" / "1.37.1" / "amd64" / "kubectl.sha256").write_text("f" * 64 + "\n")
        result = run_cli("lock", "-f", str(spec), env=env)
        assert result.returncode == 1 and "now lists" in result.stderr and "kubectl" in result.stderr
        assert (tmp_path / "jumpbox.lock.json").read_text() == before


def test_an_untrusted_certificate_is_refused(tmp_path, default_data):
    _publish(tmp_path / "www" / "m", TOOLS)
    with StaticHttps(tmp_path / "www", tmp_path) as srv:
        spec = _spec(tmp_path, default_data, srv.url)
        result = run_cli("lock", "-f", str(spec), env={"SSL_CERT_FILE": "/nonexistent"}, timeout=120)
        assert result.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in result.stderr
