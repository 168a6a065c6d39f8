"""The inertness checks can fail: a benign plan passes them, and each way a value could break out of its
field, planted by hand in that plan's files, is reported. Without this, a check that read nothing (a
moved template, a renamed function) would pass every case of the corpus."""

from __future__ import annotations

import functools
import json
import re

import pytest

from aks_jumpbox.core.plan import build_plan
from aks_jumpbox.core.spec import parse_spec
from aks_jumpbox.core.yamlfile import LocatedDocument
from aks_jumpbox.render.output import render_files
from tests.hostile.cases.spec_values import APT
from tests.hostile.inert import check_plan_output
from tests.hostile.test_properties import CATALOG, _baseline, _default, _lock


@functools.cache
def _benign() -> dict[str, str]:
    """A plan with an apt mirror: provision.sh writes both .sources files."""
    data = {**_default(), "mirror": {"apt": APT}}
    return render_files(build_plan(parse_spec(LocatedDocument(data, "t.yaml"), CATALOG), _lock(), catalog=CATALOG))


def _sub(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _script(old: str, new: str):
    return lambda files: {**files, "provision.sh": _sub(files["provision.sh"], old, new)}


def _apt(tail: str):
    """APT_ARCHIVE with tail added inside its quotes (a value that got through validation)."""
    return _script(f"APT_ARCHIVE='{APT}'", f"APT_ARCHIVE='{APT}{tail}'")


def _artifact_cell(column: int, value: str):
    def mutate(files: dict[str, str]) -> dict[str, str]:
        m = re.search(r"^ARTIFACTS='([^\n]*)", files["provision.sh"], re.MULTILINE)
        cells = m[1].split("\t")
        cells[column] = value
        return {**files, "provision.sh": files["provision.sh"].replace(m[1], "\t".join(cells), 1)}

    return mutate


def _arm_tag(value: str):
    def mutate(files: dict[str, str]) -> dict[str, str]:
        doc = json.loads(files["arm/resource-group.json"])
        for resource in doc["resources"]:
            if "tags" in resource:
                resource["tags"]["planted"] = value
        return {**files, "arm/resource-group.json": json.dumps(doc)}

    return mutate


def _inline_line(files: dict[str, str]) -> dict[str, str]:
    text = files["arm/resource-group.json"]
    return {**files, "arm/resource-group.json": _sub(text, '"wait_for_boot() {"', '"wait_for_boot() { id;"')}


MUTATIONS = {  # name: (mutation of the benign files, text the problem report must hold)
    "deb822-trusted-field": (_apt("\nTrusted: yes"), "Trusted"),
    "deb822-continuation": (_apt("\n Signed-By: /x"), "deb822"),
    "deb822-second-uri": (_apt(" https://evil.example/"), "URIs"),
    "variable-unquoted": (_script("ARCH='amd64'", "ARCH=$(id)"), "variable block"),
    "line-after-the-block": (_script("\nWORK=/var/tmp/", "\nid\nWORK=/var/tmp/"), "template"),
    "bash-syntax": (_script("APT_ARCHIVE=", "if APT_ARCHIVE="), "bash -n"),
    "cache-file-traversal": (_artifact_cell(4, "../../usr/local/bin/helm"), "cache file name"),
    "download-not-https": (_artifact_cell(2, "http://evil.example/helm.tar.gz"), "download URL"),
    "table-extra-column": (_artifact_cell(12, "helm version\tx"), "columns"),
    "manifest-not-json": (_script("MANIFEST='{", "MANIFEST='{,"), "manifest"),
    "arm-expression": (_arm_tag("[subscription().id]"), "evaluated by ARM"),
    "arm-inline-differs": (_inline_line, "inline copy"),
    "egress-not-a-host": (
        lambda f: {**f, "network/egress-fqdns.txt": "cοntοsο.example\n" + f["network/egress-fqdns.txt"]},
        "egress",
    ),
}


def test_a_benign_plan_passes_the_checks():
    assert check_plan_output(_benign(), _baseline()) == []
    assert check_plan_output(_arm_tag("[[escaped]")(_benign()), _baseline()) == []


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_a_planted_breakout_is_reported(name):
    mutate, expected = MUTATIONS[name]
    problems = check_plan_output(mutate(_benign()), _baseline())
    assert any(expected in p for p in problems), problems
