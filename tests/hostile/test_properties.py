"""Property tests: arbitrary text in every string field of the spec, and in the lock's URLs, is either
rejected as bad input (UserError/SpecError: exit 2 at the CLI) or rendered inert. Never another exception
(a traceback at the CLI), never a new field in a deb822 file, never a cache file name that is a path,
never an ARM string that Azure would evaluate.

Through the Python API (spec data -> plan -> rendered files), so hundreds of values run in seconds.
"""

from __future__ import annotations

import copy
import functools
import json
import os

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from aks_jumpbox.core.catalog import load_catalog
from aks_jumpbox.core.errors import UserError
from aks_jumpbox.core.lock import default_lock_text, load_lock, parse_lock
from aks_jumpbox.core.plan import build_plan
from aks_jumpbox.core.spec import default_spec_text, parse_spec
from aks_jumpbox.core.yamlfile import LocatedDocument
from aks_jumpbox.render.output import render_files
from tests.hostile.cases.spec_values import APT, EOF, FPR, GALLERY
from tests.hostile.inert import Baseline, check_plan_output
from tests.hostile.workspace import set_path

EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "40"))  # more for a deeper run, e.g. HOSTILE_EXAMPLES=3000
# No shrinking: a failure reports the first failing value as generated, so a red run stays short too.
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# Pieces hostile values are made of: shell, deb822, heredoc, ARM, markup, URL and path syntax.
TOKENS = [
    "\n",
    "\r",
    "\t",
    " ",
    "'",
    '"',
    "\\",
    "$(id)",
    "`id`",
    "${HOME}",
    "{{",
    "}}",
    EOF,
    "[",
    "]",
    "[subscription().id]",
    "[/]",
    "\x00",
    "Trusted: yes",
    "\n Signed-By: /x",
    "https://",
    "http://",
    "@",
    "u:p@",
    "..",
    "/",
    "%2F",
    "..%2F",
    ":",
    "#",
    "?",
    ";",
    "|",
    "&",
    "*",
    "mirror.contoso.example",
    "a",
    "0",
    "é",
    "ο",
    "\u202e",
    "\ufeff",
]
hostile = st.lists(st.sampled_from(TOKENS), max_size=12).map("".join)
text = st.one_of(
    st.text(max_size=80),
    hostile,
    st.builds(lambda s: f"[{s}]", st.one_of(st.text(max_size=20), hostile)),  # ARM would evaluate it
    st.builds(lambda s: "https://mirror.contoso.example/" + s, st.one_of(st.text(max_size=40), hostile)),
)

SPEC_FIELDS = {  # field: what else the spec needs for the field to be used
    "name": {},
    "identity.name": {},
    "build.resource_group": {},
    "build.location": {},
    "build.subnet_id": {},
    "build.vm_size": {},
    "build.staging_resource_group": {},
    "distribute.managed_image.resource_group": {},
    "distribute.managed_image.name": {},
    "distribute.managed_image.location": {},
    "distribute.gallery.name": {"distribute.gallery": GALLERY},
    "distribute.gallery.location": {"distribute.gallery": GALLERY},
    "distribute.gallery.image.name": {"distribute.gallery": GALLERY},
    "distribute.gallery.image.publisher": {"distribute.gallery": GALLERY},
    "distribute.gallery.image.offer": {"distribute.gallery": GALLERY},
    "distribute.gallery.image.sku": {"distribute.gallery": GALLERY},
    "distribute.gallery.image.description": {"distribute.gallery": GALLERY},
    "mirror.artifacts": {},
    "mirror.apt": {},
    "mirror.apt_security": {"mirror.apt": APT},
    "mirror.azure_cli_repo": {},
    "mirror.azure_cli_key_url": {"mirror.azure_cli_key_fingerprints": [FPR]},
    "mirror.ca_certificate": {},
    "tags.note": {},
    "tools.helm.reason": {"tools.helm": {"version": "4.3.0"}},
    "azure_cli.extensions.0": {},
}


@functools.cache
def _default() -> dict:
    return yaml.safe_load(default_spec_text())


CATALOG = load_catalog()


@functools.cache
def _lock():
    return load_lock(None, CATALOG)[0]


@functools.cache
def _baseline() -> Baseline:
    data = _default()
    variants = [
        data,
        {**data, "distribute": {**data["distribute"], "gallery": GALLERY}},
        {**data, "mirror": {"apt": APT, "artifacts": "https://mirror.contoso.example/tools"}},
    ]
    return Baseline.of(
        [
            render_files(build_plan(parse_spec(LocatedDocument(v, "t.yaml"), CATALOG), _lock(), catalog=CATALOG))
            for v in variants
        ]
    )


def _render(data: dict, lock=None) -> dict[str, str] | None:
    """The rendered files, or None when the input was rejected as bad input (the only allowed failure)."""
    try:
        spec = parse_spec(LocatedDocument(data=data, file="jumpbox.yaml"), CATALOG)
        return render_files(build_plan(spec, lock or _lock(), catalog=CATALOG))
    except UserError:
        return None


def _assert_inert(files: dict[str, str] | None, what: str) -> None:
    if files is None:
        return
    problems = check_plan_output(files, _baseline())
    assert not problems, f"{what}: " + "; ".join(dict.fromkeys(problems))


@pytest.mark.parametrize("field", sorted(SPEC_FIELDS))
@PROPERTY
@given(value=text)
def test_any_text_in_a_spec_field_is_rejected_or_inert(field, value):
    data = copy.deepcopy(_default())
    for path, extra in SPEC_FIELDS[field].items():
        set_path(data, path, extra)
    set_path(data, field, value)
    _assert_inert(_render(data), f"{field}={value!r}")


@PROPERTY
@given(key=text)
def test_any_text_as_a_tag_name_is_rejected_or_inert(key):
    data = copy.deepcopy(_default())
    data["tags"] = {key: "v"}
    _assert_inert(_render(data), f"tags key {key!r}")


HELM = "tools.helm.0.artifacts.amd64"


@pytest.mark.parametrize("field,pinned", [("url", True), ("url", False), ("checksumUrl", False)])
@PROPERTY
@given(value=st.one_of(text, st.builds(lambda s: "https://get.helm.sh/" + s, st.one_of(st.text(max_size=40), hostile))))
def test_any_text_in_a_lock_url_is_rejected_or_inert(field, pinned, value):
    doc = json.loads(default_lock_text())
    set_path(doc, f"{HELM}.{field}", value)
    if not pinned:
        set_path(doc, f"{HELM}.sha256", None)  # then the build verifies against the checksum URL
    try:
        lock = parse_lock(doc, "jumpbox.lock.json", CATALOG)
    except UserError:
        return
    _assert_inert(_render(copy.deepcopy(_default()), lock), f"lock {field}={value!r}")
