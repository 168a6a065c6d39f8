"""Azure CLI extensions pinned like every other artifact (issue 10, item 5): the version, wheel URL and SHA-256
chosen from Microsoft's extension index, kept in the lock, required by the plan, mirrored and verified."""

from __future__ import annotations

import hashlib
import json

import pytest

from aks_jumpbox.core.catalog import load_catalog
from aks_jumpbox.core.errors import OperationFailed, SpecError
from aks_jumpbox.core.extensions import ExtensionIndexError, choose, parse_index, version_key
from aks_jumpbox.core.lock import default_lock_text, parse_lock
from aks_jumpbox.core.mirror import mirror_items
from aks_jumpbox.core.mirrorsync import Source, sync_item
from aks_jumpbox.core.resolve import resolve_extensions
from tests.conftest import make_plan, spec_from, variant

CATALOG = load_catalog()
WHEELS = "https://azcliprod.blob.core.windows.net/cli-extensions"


def _entry(version, min_cli=None, max_cli=None, digest=None, url=None):
    meta = {"name": "aks-preview", "version": version}
    if min_cli:
        meta["azext.minCliCoreVersion"] = min_cli
    if max_cli:
        meta["azext.maxCliCoreVersion"] = max_cli
    return {
        "downloadUrl": url or f"{WHEELS}/aks_preview-{version}-py2.py3-none-any.whl",
        "filename": f"aks_preview-{version}-py2.py3-none-any.whl",
        "sha256Digest": digest or hashlib.sha256(version.encode()).hexdigest(),
        "metadata": meta,
    }


INDEX = {
    "aks-preview": [
        _entry("19.0.0b9", "2.70.0"),
        _entry("19.0.0b10", "2.70.0"),
        _entry("19.0.0b11", "2.95.0"),
        _entry("18.0.0b7", "2.60.0", "2.80.0"),
        {"metadata": "broken"},
        _entry("20.0.0b1", digest="not-a-digest"),
        _entry("20.0.0b2", url=f"{WHEELS}/other_ext-20.0.0b2-py3-none-any.whl"),
    ]
}


def test_versions_order_as_pep440_pre_releases():
    ordered = ["1.0.0a1", "1.0.0b2", "1.0.0b10", "1.0.0rc1", "1.0.0", "1.0.1b1"]
    assert sorted(reversed(ordered), key=version_key) == ordered


def test_the_spec_version_is_taken_when_named():
    assert choose(INDEX, "aks-preview", "18.0.0b7", "2.90.0").version == "18.0.0b7"


def test_unnamed_it_is_the_newest_the_index_says_fits_the_cli():
    # 19.0.0b11 needs 2.95.0; the malformed 20.0.0b1 / b2 entries are never chosen.
    entry = choose(INDEX, "aks-preview", None, "2.90.0")
    assert (entry.version, entry.sha256) == ("19.0.0b10", hashlib.sha256(b"19.0.0b10").hexdigest())
    assert choose(INDEX, "aks-preview", None, "2.96.0").version == "19.0.0b11"


@pytest.mark.parametrize(
    ("name", "version", "cli", "says"),
    [
        ("aks-preview", "1.2.3", "2.90.0", "has no aks-preview 1.2.3 (newest: "),
        ("aks-preview", None, "2.50.0", "no version of aks-preview in the extension index supports Azure CLI 2.50.0"),
        ("nope", None, "2.90.0", "lists no usable version of nope"),
    ],
)
def test_what_the_index_cannot_give_is_said(name, version, cli, says):
    with pytest.raises(ExtensionIndexError, match=says.replace("(", r"\(")):
        choose(INDEX, name, version, cli)


@pytest.mark.parametrize("text", ["not json", "[]", '{"extensions": []}'])
def test_an_index_that_is_not_one_is_refused(text):
    with pytest.raises(ExtensionIndexError):
        parse_index(text)


def _lock_doc() -> dict:
    return json.loads(default_lock_text())


def test_the_embedded_lock_pins_aks_preview_with_its_evidence(default_plan):
    (wheel,) = default_plan.azure_cli.wheels
    assert (wheel.name, wheel.version) == ("aks-preview", "18.0.0b7")
    assert wheel.url == f"{WHEELS}/aks_preview-18.0.0b7-py2.py3-none-any.whl"
    assert wheel.sha256 == "e71444fd619efcf6d36af0bf6fd32bad73305d5b01a04128838e00f1826ef5c6"
    assert "sha256Digest" in wheel.digest_source and "nixpkgs" in wheel.digest_source
    assert default_plan.azure_cli.extensions == (("aks-preview", "18.0.0b7"),)


def test_a_lock_round_trips_its_extensions():
    lock = parse_lock(_lock_doc(), "jumpbox.lock.json", CATALOG)
    assert json.loads(lock.dumps()) == _lock_doc()


def test_an_old_lock_without_extension_pins_is_read_and_the_plan_asks_for_lock(default_data):
    doc = _lock_doc()
    del doc["azureCli"]["extensions"]
    lock = parse_lock(doc, "old.lock.json", CATALOG)
    with pytest.raises(SpecError) as exc:
        make_plan(default_data, lock)
    (problem,) = exc.value.problems
    assert problem.field == "azure_cli.extensions.0"
    assert "aks-preview is not pinned in" in problem.message and "run `aks-jumpbox lock`" in problem.message
    # A spec that names no extension needs no pin.
    assert make_plan(variant(default_data, azure_cli={"version": "2.90.0"}), lock).azure_cli.wheels == ()


def test_a_spec_version_the_lock_does_not_pin_is_located(default_data, default_lock):
    data = variant(
        default_data, azure_cli={"version": "2.90.0", "extensions": [{"name": "aks-preview", "version": "19.0.0b10"}]}
    )
    with pytest.raises(SpecError, match=r"aks-preview 19\.0\.0b10 is not pinned .*\(locked: 18\.0\.0b7\)"):
        make_plan(data, default_lock)


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"url": f"{WHEELS}/other_ext-18.0.0b7-py3-none-any.whl"}, "url", "not a wheel of aks-preview 18.0.0b7"),
        ({"url": "http://example.invalid/aks_preview-18.0.0b7-py3-none-any.whl"}, "url", ""),
        ({"sha256": None}, "sha256", "64 lowercase hex digits"),
        ({"version": "latest"}, "version", "exact extension version"),
        ({"extra": 1}, "extra", "not a lock field"),
    ],
)
def test_a_bad_extension_entry_is_a_located_error(change, field, says):
    doc = _lock_doc()
    doc["azureCli"]["extensions"]["aks-preview"][0].update(change)
    with pytest.raises(SpecError) as exc:
        parse_lock(doc, "jumpbox.lock.json", CATALOG)
    (problem,) = exc.value.problems
    assert problem.field == f"azureCli.extensions.aks-preview[0].{field}" and says in problem.message


def test_resolve_refuses_a_digest_that_changed_for_the_same_wheel(default_data, default_lock):
    spec = spec_from(default_data)
    index = json.dumps({"formatVersion": "1", "extensions": INDEX})
    # Kept at the locked 18.0.0b7 (no version in the spec) and checked: this index's fake digest differs.
    with pytest.raises(OperationFailed, match="aks-preview 18.0.0b7: the index .* now lists"):
        resolve_extensions(spec, default_lock, lambda url: index)
    # --upgrade: the newest that fits azure-cli 2.90.0.
    ((name, newest),), notes = resolve_extensions(spec, default_lock, lambda url: index, upgrade=True)
    assert (name, newest.version) == ("aks-preview", "19.0.0b10")
    assert newest.source == "extension index https://aka.ms/azure-cli-extension-index-v1 (sha256Digest)"
    assert notes == [f"azure-cli extension aks-preview 19.0.0b10: sha256 {newest.sha256}"]
    feed = []
    resolve_extensions(
        spec, default_lock, lambda url: feed.append(url) or index, upgrade=True, feed="https://feed.invalid/f"
    )
    assert feed == ["https://feed.invalid/f/aka.ms/azure-cli-extension-index-v1"]


def test_mirror_sync_copies_the_wheel_verified_against_the_lock(default_data, default_lock, tmp_path):
    spec = spec_from(variant(default_data, mirror={"artifacts": "https://mirror.invalid/a"}))
    (item,) = [i for i in mirror_items(spec, default_lock, CATALOG) if i.tool == "aks-preview"]
    assert item.path == "azure-cli-extensions/aks-preview/18.0.0b7/aks_preview-18.0.0b7-py2.py3-none-any.whl"
    assert item.checksum_path == "azure-cli-extensions/index.json" and item.checksum_format == "azext-index"
    assert item.sha256 == default_lock.extensions["aks-preview"]["18.0.0b7"].sha256
    src, out = tmp_path / "from", tmp_path / "to"
    (src / item.path).parent.mkdir(parents=True)
    (src / item.path).write_bytes(b"not the wheel")
    index = {"extensions": {"aks-preview": [{"downloadUrl": item.upstream_url, "sha256Digest": item.sha256}]}}
    (src / item.checksum_path).write_text(json.dumps(index))
    out.mkdir()
    with pytest.raises(OperationFailed, match="SHA-256 mismatch"):
        sync_item(item, Source(folder=src), out, lambda u: "", lambda u, f: "")
    assert not (out / item.path).exists()
    good = item.__class__(**{**item.__dict__, "sha256": hashlib.sha256(b"the wheel").hexdigest()})
    (src / item.path).write_bytes(b"the wheel")
    index["extensions"]["aks-preview"][0]["sha256Digest"] = good.sha256
    (src / item.checksum_path).write_text(json.dumps(index))
    assert sync_item(good, Source(folder=src), out, lambda u: "", lambda u, f: "").action == "copied"
    assert (out / item.path).read_bytes() == b"the wheel"
