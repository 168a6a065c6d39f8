"""`aks-jumpbox mirror sync` from a loopback "upstream" (HTTPS) and from a folder, offline."""

from __future__ import annotations

import hashlib
import json

import yaml

from aks_jumpbox.core.catalog import load_catalog, url_basename
from tests.conftest import run_cli, variant
from tests.support.https_server import StaticHttps

TOOLS = {"helm": "4.3.0", "yq": "4.54.1", "azwi": "1.6.0"}


def _upstream(www, url):
    """Artifacts and upstream-format checksum files; a lock pointing at them (azwi left unpinned), each
    entry an explicit override: the lock is verified against the catalog's URLs."""
    catalog, tools = load_catalog(), {}
    for name, version in TOOLS.items():
        tool = catalog.tool(name)
        arch = "amd64"
        folder = www / name
        folder.mkdir(parents=True)
        art_name = url_basename(tool.artifact_url(version, arch))
        body = f"{name} {version} payload".encode() * 100
        (folder / art_name).write_bytes(body)
        sha = hashlib.sha256(body).hexdigest()
        sums_name = url_basename(tool.checksum_file_url(version, arch))
        if tool.checksum_format == "yq-multi":
            (folder / "checksums_hashes_order").write_text("CRC32\nSHA-256\n")
            (folder / sums_name).write_text(f"{art_name}  abcd {sha}\n")
        else:
            (folder / sums_name).write_text(f"{sha}  {art_name}\n")
        tools[name] = [
            {
                "version": version,
                "artifacts": {
                    arch: {
                        "url": f"{url}/{name}/{art_name}",
                        "sha256": None if name == "azwi" else sha,
                        "checksumUrl": f"{url}/{name}/{sums_name}",
                        "source": "test",
                        "override": "the test's loopback stands in for upstream",
                    }
                },
            }
        ]
    return {"schema": "aks-jumpbox/lock/v1", "tools": tools, "azureCli": {"versions": ["2.90.0"]}}


def _inputs(tmp_path, default_data, srv):
    lock = _upstream(tmp_path / "www", srv.url)
    spec = tmp_path / "jumpbox.yaml"
    # No extension here: its index is upstream's (aka.ms) and this test stays on 127.0.0.1 (see below).
    spec.write_text(yaml.safe_dump(variant(default_data, tools=TOOLS, azure_cli={"version": "2.90.0"})))
    (tmp_path / "jumpbox.lock.json").write_text(json.dumps(lock))
    return spec


def test_sync_fills_the_mirror_layout_and_verifies(tmp_path, default_data):
    with StaticHttps(tmp_path / "www", tmp_path) as srv:
        spec = _inputs(tmp_path, default_data, srv)
        env = {"SSL_CERT_FILE": str(srv.ca_file)}
        out = tmp_path / "mirror"
        result = run_cli("mirror", "sync", "-f", str(spec), "--to", str(out), env=env)
        assert result.returncode == 0, result.stderr
        for rel in (
            "helm/4.3.0/amd64/helm-v4.3.0-linux-amd64.tar.gz",
            "helm/4.3.0/amd64/helm-v4.3.0-linux-amd64.tar.gz.sha256sum",
            "yq/4.54.1/amd64/yq_linux_amd64",
            "yq/4.54.1/amd64/checksums_hashes_order",
            "azwi/1.6.0/amd64/azwi-v1.6.0-linux-amd64.tar.gz",
            "azwi/1.6.0/amd64/sha256sums.txt",
        ):
            assert (out / rel).is_file(), rel
        index = json.loads((out / "aks-jumpbox-mirror.json").read_text())
        assert {a["tool"] for a in index["artifacts"]} == set(TOOLS)
        for a in index["artifacts"]:
            assert hashlib.sha256((out / a["path"]).read_bytes()).hexdigest() == a["sha256"]
        again = run_cli("mirror", "sync", "-f", str(spec), "--to", str(out), env=env)
        assert again.returncode == 0 and again.stdout.count("up to date") == len(TOOLS)

        # The filled folder, served as the spec's mirror, is what the plan's scripts fetch.
        data = yaml.safe_load(spec.read_text())
        data["mirror"] = {"artifacts": "https://mirror.contoso.internal/tools"}
        spec.write_text(yaml.safe_dump(data))
        doc = json.loads(run_cli("plan", "-f", str(spec), "--no-write", "-o", "json").stdout)
        for a in doc["artifacts"]:
            rel = a["url"].removeprefix("https://mirror.contoso.internal/tools/")
            assert (out / rel).is_file()


def test_a_tampered_upstream_artifact_is_not_mirrored(tmp_path, default_data):
    with StaticHttps(tmp_path / "www", tmp_path) as srv:
        spec = _inputs(tmp_path, default_data, srv)
        art = tmp_path / "www" / "helm" / "helm-v4.3.0-linux-amd64.tar.gz"
        data = bytearray(art.read_bytes())
        data[10] ^= 1
        art.write_bytes(bytes(data))
        out = tmp_path / "mirror"
        result = run_cli("mirror", "sync", "-f", str(spec), "--to", str(out), env={"SSL_CERT_FILE": str(srv.ca_file)})
        assert result.returncode == 1
        assert "helm" in result.stderr and "SHA-256 mismatch" in result.stderr and "expected" in result.stderr
        assert not (out / "helm" / "4.3.0" / "amd64" / "helm-v4.3.0-linux-amd64.tar.gz").exists()
        # nothing of helm, not even its checksum file or a temporary file
        assert not [p for p in (out / "helm").rglob("*") if p.is_file()]


def synced_once(tmp_path, default_data):
    """(spec, mirror folder) after one `mirror sync` from the loopback upstream, which is then gone."""
    with StaticHttps(tmp_path / "www", tmp_path) as srv:
        spec = _inputs(tmp_path, default_data, srv)
        first = tmp_path / "first"
        result = run_cli("mirror", "sync", "-f", str(spec), "--to", str(first), env={"SSL_CERT_FILE": str(srv.ca_file)})
        assert result.returncode == 0, result.stderr
    return spec, first


def test_sync_from_a_folder_works_offline(tmp_path, default_data):
    spec, first = synced_once(tmp_path, default_data)
    # The server is gone: the second mirror is filled from the first folder only.
    second = tmp_path / "second"
    result = run_cli("mirror", "sync", "-f", str(spec), "--to", str(second), "--from", str(first))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("copied") == len(TOOLS)
    assert sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file()) == sorted(
        p.relative_to(second) for p in second.rglob("*") if p.is_file()
    )
    bad = run_cli("mirror", "sync", "-f", str(spec), "--to", str(tmp_path / "x"), "--from", "http://insecure.example/m")
    assert bad.returncode == 2 and "https://" in bad.stderr


def test_an_extension_wheel_is_mirrored_from_a_folder_checked_against_the_lock_and_the_index(tmp_path, default_data):
    """An Azure CLI extension: its wheel and Microsoft's index (its "checksum file") are copied into
    azure-cli-extensions/, the wheel held to the lock's SHA-256; the plan then fetches it from the mirror."""
    wheel = b"PK a stand-in wheel" * 50
    sha = hashlib.sha256(wheel).hexdigest()
    url = "https://azcliprod.blob.core.windows.net/cli-extensions/aks_preview-18.0.0b7-py2.py3-none-any.whl"
    rel = "azure-cli-extensions/aks-preview/18.0.0b7/aks_preview-18.0.0b7-py2.py3-none-any.whl"
    src = tmp_path / "from"
    (src / rel).parent.mkdir(parents=True)
    (src / rel).write_bytes(wheel)
    index = {
        "formatVersion": "1",
        "extensions": {
            "aks-preview": [
                {
                    "downloadUrl": url,
                    "sha256Digest": sha,
                    "filename": url.rsplit("/", 1)[1],
                    "metadata": {"name": "aks-preview", "version": "18.0.0b7"},
                }
            ]
        },
    }
    (src / "azure-cli-extensions" / "index.json").write_text(json.dumps(index))
    lock = {
        "schema": "aks-jumpbox/lock/v1",
        "tools": {},
        "azureCli": {
            "versions": ["2.90.0"],
            "extensions": {"aks-preview": [{"version": "18.0.0b7", "url": url, "sha256": sha, "source": "test"}]},
        },
    }
    spec = tmp_path / "jumpbox.yaml"
    spec.write_text(yaml.safe_dump(variant(default_data, tools={})))
    (tmp_path / "jumpbox.lock.json").write_text(json.dumps(lock))
    out = tmp_path / "mirror"
    result = run_cli("mirror", "sync", "-f", str(spec), "--to", str(out), "--from", str(src))
    assert result.returncode == 0, result.stderr
    assert (out / rel).read_bytes() == wheel
    assert json.loads((out / "azure-cli-extensions" / "index.json").read_text()) == index
    # A wheel that is not the locked one never reaches the mirror.
    (src / rel).write_bytes(wheel + b"x")
    bad = run_cli("mirror", "sync", "-f", str(spec), "--to", str(tmp_path / "m2"), "--from", str(src))
    assert bad.returncode == 1 and "SHA-256 mismatch" in bad.stderr
    assert not (tmp_path / "m2" / rel).exists()
    data = yaml.safe_load(spec.read_text())
    data["mirror"] = {"artifacts": "https://mirror.contoso.internal/tools"}
    spec.write_text(yaml.safe_dump(data))
    planned = run_cli("plan", "-f", str(spec), "--out", str(tmp_path / "plan"))
    assert planned.returncode == 0, planned.stderr
    assert f"https://mirror.contoso.internal/tools/{rel}" in (tmp_path / "plan" / "provision.sh").read_text()


def test_sync_from_a_folder_lists_every_missing_file_at_once_and_writes_nothing(tmp_path, default_data):
    spec, first = synced_once(tmp_path, default_data)
    gone = [
        "helm/4.3.0/amd64/helm-v4.3.0-linux-amd64.tar.gz",
        "yq/4.54.1/amd64/checksums_hashes_order",
        "azwi/1.6.0/amd64/sha256sums.txt",
    ]
    for rel in gone:
        (first / rel).unlink()
    second = tmp_path / "second"
    result = run_cli("mirror", "sync", "-f", str(spec), "--to", str(second), "--from", str(first))
    assert result.returncode == 2, result.stderr
    assert "3 file(s) the lock needs are missing (nothing was written)" in result.stderr
    for rel in gone:
        assert f"{first}/{rel}" in result.stderr, rel
    assert "Copy them into that folder" in result.stderr and "Traceback" not in result.stderr
    assert not second.exists()
    # An artifact already in --to with the locked digest needs no source: only the others are missing.
    third = tmp_path / "third"
    (third / "helm/4.3.0/amd64").mkdir(parents=True)
    (tmp_path / "www/helm/helm-v4.3.0-linux-amd64.tar.gz").rename(third / gone[0])
    again = run_cli("mirror", "sync", "-f", str(spec), "--to", str(third), "--from", str(first))
    assert again.returncode == 2 and "2 file(s)" in again.stderr and gone[0] not in again.stderr


def test_sync_from_an_unreachable_mirror_says_no_network_once(tmp_path, default_data):
    with StaticHttps(tmp_path / "www", tmp_path) as srv:
        spec = _inputs(tmp_path, default_data, srv)
        url = srv.url
    # The server is gone, its port closed: connection refused is not retried, and --from is named.
    result = run_cli("mirror", "sync", "-f", str(spec), "--to", str(tmp_path / "m"), "--from", f"{url}/m")
    assert result.returncode == 3  # the environment: no network
    assert "no network: " in result.stderr and "is the host --from names" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
