"""The lock is verified against the catalog: a lock edit can change digests, never what is fetched
(unless an entry says why, with "override")."""

from __future__ import annotations

import copy
import json

import pytest

from aks_jumpbox.core.catalog import load_catalog
from aks_jumpbox.core.errors import SpecError
from aks_jumpbox.core.lock import default_lock_text, load_lock, parse_lock
from aks_jumpbox.core.mirror import mirror_items
from aks_jumpbox.core.plan import build_plan
from aks_jumpbox.core.validation import json_lines
from tests.conftest import spec_from, variant

CATALOG = load_catalog()
HELM = "tools.helm[0].artifacts.amd64"


def _doc() -> dict:
    return json.loads(default_lock_text())


def _helm(doc: dict) -> dict:
    return doc["tools"]["helm"][0]["artifacts"]["amd64"]


def _problems(doc) -> str:
    with pytest.raises(SpecError) as err:
        parse_lock(doc, "jumpbox.lock.json", CATALOG)
    return str(err.value)


def test_the_embedded_lock_is_exactly_the_catalogs_urls():
    lock = parse_lock(_doc(), "x", CATALOG)
    for name, versions in lock.tools.items():
        tool = CATALOG.tool(name)
        for version, entry in versions.items():
            for arch, art in entry.artifacts.items():
                assert art.url == tool.artifact_url(version, arch)
                assert art.checksum_url == tool.checksum_file_url(version, arch)
                assert art.override is None and art.mirror_base is None


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("url", "https://evil.example/helm-v4.3.0-linux-amd64.tar.gz", "not the catalog's URL of helm 4.3.0 (amd64)"),
        ("url", "https://get.helm.sh/helm-v4.2.0-linux-amd64.tar.gz", "not the catalog's URL"),
        ("url", "https://dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubectl", "not the catalog's URL"),
        ("url", "https://get.helm.sh/helm-v4.3.0-linux-arm64.tar.gz", "not the catalog's URL"),
        ("url", "http://get.helm.sh/helm-v4.3.0-linux-amd64.tar.gz", "must be an https:// URL"),
        ("url", "https://get.helm.sh/x/..%2F..%2Fusr%2Flocal%2Fbin%2Fhelm", "is not safe"),
        ("url", "https://get.helm.sh/helm-v4.3.0-linux-amd64.tar.gz\nTrusted: yes", "newline"),
        ("url", 42, "must be a URL string"),
        ("checksumUrl", "http://get.helm.sh/helm-v4.3.0-linux-amd64.tar.gz.sha256sum", "must be an https:// URL"),
        ("checksumUrl", "https://evil.example/sums", "not the catalog's checksum file"),
        ("checksumUrl", "https://get.helm.sh/..%2F..%2F..%2Fetc%2Fcron.d%2Fx", "is not safe"),
        ("sha256", "A" * 64, "64 lowercase hex digits"),
        ("sha256", "a" * 64 + "\n", "64 lowercase hex digits"),
        ("sha256", 7, "64 lowercase hex digits"),
        ("source", "line\nbreak", "printable"),
        ("source", ["x"], "must be a string"),
        ("extra", "x", "is not a lock field"),
    ],
)
def test_a_changed_entry_is_refused_at_its_field(field, value, message):
    doc = _doc()
    _helm(doc)[field] = value
    problems = _problems(doc)
    where = f"{HELM}.{field}"
    assert f"jumpbox.lock.json: {where}: " in problems and message in problems, problems


def test_a_foreign_url_says_how_to_fix_it():
    doc = _doc()
    _helm(doc)["url"] = "https://evil.example/helm-v4.3.0-linux-amd64.tar.gz"
    problems = _problems(doc)
    assert "aks-jumpbox lock" in problems and '"override"' in problems


@pytest.mark.parametrize(
    "change, where, message",
    [
        (lambda d: d.update(tools=[]), "tools", "must be a mapping"),
        (lambda d: d.update(tools="x"), "tools", "must be a mapping"),
        (lambda d: d["tools"].update(helm={"version": "4.3.0"}), "tools.helm", "must be a list"),
        (lambda d: d["tools"]["helm"].__setitem__(0, "4.3.0"), "tools.helm[0]", "must be a mapping"),
        (lambda d: d["tools"]["helm"][0].update(artifacts=[]), "tools.helm[0].artifacts", "must be a mapping"),
        (lambda d: d["tools"]["helm"][0].update(artifacts={}), "tools.helm[0].artifacts", "must be a mapping"),
        (lambda d: d["tools"]["helm"][0]["artifacts"].update(amd64="x"), HELM, "must be a mapping"),
        (
            lambda d: d["tools"]["helm"][0]["artifacts"].update(riscv=_helm(d)),
            "tools.helm[0].artifacts.riscv",
            "unknown architecture",
        ),
        (lambda d: d["tools"]["helm"][0].update(version=4.3), "tools.helm[0].version", "exact version"),
        (lambda d: d["tools"]["helm"][0].update(version="v4.3.0"), "tools.helm[0].version", "exact version"),
        (lambda d: d["tools"]["helm"][0].update(version="4.3.0\n"), "tools.helm[0].version", "exact version"),
        (lambda d: d["tools"]["helm"][0].update(version="４.3.0"), "tools.helm[0].version", "exact version"),
        (lambda d: d["tools"]["helm"][0].pop("artifacts"), "tools.helm[0].artifacts", "must be a mapping"),
        (lambda d: _helm(d).pop("url"), f"{HELM}.url", "is missing"),
        (
            lambda d: d["tools"]["helm"].append(copy.deepcopy(d["tools"]["helm"][0])),
            "tools.helm[1].version",
            "locked twice",
        ),
        (lambda d: d["tools"].update(nope=[]), "tools.nope", "not a tool in the catalog"),
        (lambda d: d.update(azureCli={"versions": "2.90.0"}), "azureCli.versions", "exact version strings"),
        (lambda d: d.update(azureCli=[]), "azureCli.versions", "exact version strings"),
        (lambda d: d.update(azureCli={"versions": [2.9]}), "azureCli.versions", "exact version strings"),
    ],
)
def test_malformed_shapes_are_located_errors_not_tracebacks(change, where, message):
    doc = _doc()
    change(doc)
    problems = _problems(doc)
    assert f": {where}: " in problems and message in problems, problems


def test_an_override_is_explicit_per_entry_and_shows_everywhere(default_data):
    doc = _doc()
    helm = _helm(doc)
    helm.update(
        url="https://artifacts.contoso.internal/helm/helm-v4.3.0-linux-amd64.tar.gz",
        checksumUrl="https://artifacts.contoso.internal/helm/sums.txt",
        override="internal rebuild of helm, ticket SEC-42",
    )
    lock = parse_lock(doc, "jumpbox.lock.json", CATALOG)
    assert json.loads(json.dumps(lock.to_json()))["tools"]["helm"][0]["artifacts"]["amd64"]["override"]
    plan = build_plan(spec_from(default_data), lock, catalog=CATALOG)
    assert any("overrides the catalog's URL" in w and "SEC-42" in w for w in plan.warnings)
    egress = {e.fqdn: e for e in plan.network.egress}
    assert "lock override: internal rebuild of helm" in egress["artifacts.contoso.internal"].purpose
    others = [a for a in plan.artifacts if a.name != "helm"]
    assert all(a.override is None for a in others)


@pytest.mark.parametrize("override", ["", "   ", "x" * 201, "a\nb", "[b]old", "a|b", 3])
def test_an_override_must_say_why_in_plain_words(override):
    doc = _doc()
    _helm(doc).update(url="https://artifacts.contoso.internal/helm.tgz", override=override)
    assert f"{HELM}.override" in _problems(doc)


def test_an_override_does_not_lift_the_url_and_file_name_rules():
    doc = _doc()
    _helm(doc).update(checksumUrl="https://h/..%2F..%2Fetc%2Fcron.d%2Fx", override="testing")
    assert f"{HELM}.checksumUrl" in _problems(doc) and "is not safe" in _problems(doc)


MIRROR = "https://mirror.contoso.internal/tools"


def _mirrored(doc: dict, base: str = MIRROR) -> dict:
    helm = _helm(doc)
    helm["url"] = f"{base}/helm/4.3.0/amd64/helm-v4.3.0-linux-amd64.tar.gz"
    helm["checksumUrl"] = f"{base}/helm/4.3.0/amd64/helm-v4.3.0-linux-amd64.tar.gz.sha256sum"
    return doc


def test_the_mirrors_copy_is_accepted_when_the_spec_names_that_mirror(default_data):
    lock = parse_lock(_mirrored(_doc()), "jumpbox.lock.json", CATALOG)
    assert lock.get("helm", "4.3.0").artifacts["amd64"].mirror_base == MIRROR
    plan = build_plan(spec_from(variant(default_data, mirror={"artifacts": MIRROR})), lock, catalog=CATALOG)
    helm = next(a for a in plan.artifacts if a.name == "helm")
    assert helm.url == f"{MIRROR}/helm/4.3.0/amd64/helm-v4.3.0-linux-amd64.tar.gz"


@pytest.mark.parametrize("mirror", [None, "https://other.contoso.internal/tools"])
def test_the_mirrors_copy_is_refused_for_another_or_no_mirror(default_data, mirror):
    lock = parse_lock(_mirrored(_doc()), "jumpbox.lock.json", CATALOG)
    data = variant(default_data, mirror={"artifacts": mirror} if mirror else None)
    with pytest.raises(SpecError) as err:
        build_plan(spec_from(data), lock, catalog=CATALOG)
    assert f"{HELM}.url: names the mirror {MIRROR}" in str(err.value)


def test_a_mirror_copy_needs_both_files_in_the_same_mirror():
    doc = _mirrored(_doc())
    _helm(doc)["checksumUrl"] = "https://other.example/helm/4.3.0/amd64/helm-v4.3.0-linux-amd64.tar.gz.sha256sum"
    assert f"{HELM}.checksumUrl" in _problems(doc)


def test_a_lock_built_in_code_cannot_bypass_the_file_name_rule(default_data, default_lock):
    from pydantic import ValidationError

    from aks_jumpbox.core.lock import LockedArtifact, LockedTool

    fields = dict(
        url="https://h/..%2F..%2Fusr%2Flocal%2Fbin%2Fhelm", sha256="a" * 64, checksum_url="https://h/s", source="test"
    )
    with pytest.raises(ValidationError, match="is not safe"):
        LockedArtifact(**fields)
    # Even one built without validation is refused where it is used.
    bad = LockedArtifact.model_construct(**fields)
    lock = default_lock.with_tool("helm", LockedTool(version="4.3.0", artifacts={"amd64": bad}))
    spec = spec_from(default_data)
    with pytest.raises(SpecError, match=r"tools\.helm\[0\]\.artifacts\.amd64\.url: .*is not safe"):
        build_plan(spec, lock, catalog=CATALOG)
    with pytest.raises(SpecError, match=r"tools\.helm\[0\]\.artifacts\.amd64\.url: .*is not safe"):
        mirror_items(spec, lock, CATALOG)


def test_a_lock_for_another_architecture_says_so(default_data):
    doc = _doc()
    doc["tools"]["azwi"][0]["artifacts"].pop("amd64")
    lock = parse_lock(doc, "jumpbox.lock.json", CATALOG)
    with pytest.raises(SpecError) as err:
        build_plan(spec_from(default_data), lock, catalog=CATALOG)
    message = str(err.value)
    assert "version 1.6.0 is locked in jumpbox.lock.json for arm64 only, not for amd64" in message
    assert "(locked: 1.6.0)" not in message


def test_dumps_writes_the_lock_byte_for_byte_as_before():
    url = "https://artifacts.contoso.internal/jq"
    lock = parse_lock(
        {
            "schema": "aks-jumpbox/lock/v1",
            "azureCli": {"versions": ["2.90.0"]},
            "tools": {
                "jq": [
                    {
                        "artifacts": {
                            "arm64": {"url": url, "checksumUrl": url + ".sha", "sha256": None, "override": "ours"},
                            "amd64": {
                                "source": "s",
                                "sha256": "a" * 64,
                                "url": url,
                                "checksumUrl": url + ".sha",
                                "override": "ours",
                            },
                        },
                        "version": "1.8.1",
                    }
                ]
            },
        },
        "x",
        CATALOG,
    )
    assert (
        lock.dumps()
        == """{
  "schema": "aks-jumpbox/lock/v1",
  "tools": {
    "jq": [
      {
        "version": "1.8.1",
        "artifacts": {
          "amd64": {
            "url": "https://artifacts.contoso.internal/jq",
            "sha256": "%s",
            "checksumUrl": "https://artifacts.contoso.internal/jq.sha",
            "source": "s",
            "override": "ours"
          },
          "arm64": {
            "url": "https://artifacts.contoso.internal/jq",
            "sha256": null,
            "checksumUrl": "https://artifacts.contoso.internal/jq.sha",
            "source": "",
            "override": "ours"
          }
        }
      }
    ]
  },
  "azureCli": {
    "versions": [
      "2.90.0"
    ]
  }
}
"""
        % ("a" * 64)
    )
    again = parse_lock(json.loads(lock.dumps()), "x", CATALOG)
    assert again == lock and again.dumps() == lock.dumps()


def test_a_lock_file_error_names_its_line(tmp_path):
    doc = _doc()
    _helm(doc)["sha256"] = "B" * 64
    path = tmp_path / "jumpbox.lock.json"
    text = json.dumps(doc, indent=2)
    path.write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "B" * 64 in row)
    with pytest.raises(SpecError) as err:
        load_lock(path, CATALOG)
    assert f"{path}:{line}: {HELM}.sha256: must be 64 lowercase hex digits" in str(err.value)


def test_every_problem_of_a_lock_is_reported():
    doc = _doc()
    _helm(doc)["sha256"] = "x"
    doc["tools"]["kubectl"][0]["artifacts"]["amd64"]["url"] = "https://evil.example/kubectl"
    doc["extra"] = 1
    problems = _problems(doc)
    assert f"{HELM}.sha256" in problems and "tools.kubectl[0].artifacts.amd64.url" in problems
    assert "extra: is not a lock field (allowed: schema, tools, azureCli, baseImages)" in problems


@pytest.mark.parametrize(
    "text, where",
    [
        (
            '{"a": [1, {"b": 2}],\n "c":\n  {"d": "}"}}',
            {(): 1, ("a",): 1, ("a", 0): 1, ("a", 1): 1, ("a", 1, "b"): 1, ("c",): 2, ("c", "d"): 3},
        ),
        ('[\n  "x",\n\n  [ ]\n]', {(): 1, (0,): 2, (1,): 4}),
        ('{"k\\"ey": {}, "e": []}', {(): 1, ('k"ey',): 1, ("e",): 1}),
    ],
)
def test_json_lines_maps_every_path_to_its_line(text, where):
    json.loads(text)
    assert json_lines(text) == where
