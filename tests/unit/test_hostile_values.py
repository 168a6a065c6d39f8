"""Property: arbitrary text in a spec's URL, name, tag or description field, or in a lock's URL fields,
is either refused as bad input (SpecError/UserError) or rendered inert: provision.sh and validate.sh
pass `bash -n`, the .sources files hold exactly their fields, no ARM string is an expression the
renderer did not write, and no file name holds a path."""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from aks_jumpbox.core.catalog import SAFE_FILE_NAME, load_catalog
from aks_jumpbox.core.errors import UserError
from aks_jumpbox.core.lock import default_lock_text, parse_lock
from aks_jumpbox.core.mirror import mirror_items
from aks_jumpbox.core.plan import build_plan
from aks_jumpbox.render.output import render_files
from tests.conftest import spec_from, variant
from tests.support.rendered import apt_sources, bash_syntax_ok, foreign_expressions, parse_deb822

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Pieces that have broken out of a field before, mixed into arbitrary text.
PAYLOADS = [
    "\n",
    "\r",
    "\t",
    " ",
    '"',
    "'",
    "\\",
    "{{",
    "}}",
    "AKS_JUMPBOX_SCRIPT_EOF",
    "\nAKS_JUMPBOX_SCRIPT_EOF\n",
    "[",
    "]",
    "[subscription().id]",
    "%2F",
    "%2e%2e",
    "..",
    "/",
    "$(id)",
    "`id`",
    ";",
    "|",
    "#",
    "?",
    "@",
    "\nTrusted: yes",
    "\x00",
    "\u2028",
    "%0A",
    ":",
    "Signed-By: /tmp/k",
]
hostile = st.lists(st.one_of(st.sampled_from(PAYLOADS), st.text(max_size=8)), max_size=6).map("".join)
# Text that often passes validation, so that rendering is exercised too (not only refusals).
nearly_valid = st.text(alphabet="aZ09-._~%2Ff:/@!$&()*+,;=[]", min_size=1, max_size=16)
name_like = st.text(alphabet="aZ09-._[]() ", min_size=1, max_size=16)
text_values = st.one_of(
    name_like,
    st.builds(lambda a: f"[{a}]", name_like),
    st.sampled_from(PAYLOADS),
    st.builds(lambda a, b: a + b, name_like, st.sampled_from(PAYLOADS)),
    hostile,
)
path_like = st.lists(
    st.sampled_from(["a", "Z", "0", "-", ".", "_", "~", "+", "/", "%2F", "%2e", "%0A", "..", "x.tgz"]),
    min_size=1,
    max_size=10,
).map("".join)
# Hypothesis favours (and shrinks towards) the first branches: the ones that often pass validation.
url_like = st.one_of(
    st.builds(lambda tail: "https://mirror.contoso.internal/" + tail, st.one_of(path_like, nearly_valid, hostile)),
    st.builds(
        lambda tail, payload: f"https://mirror.contoso.internal/{tail}{payload}", path_like, st.sampled_from(PAYLOADS)
    ),
    st.builds(lambda host, tail: f"https://{host}/{tail}", st.one_of(nearly_valid, hostile), path_like),
    hostile,
)

MIRROR_URL_FIELDS = ["artifacts", "apt", "apt_security", "azure_cli_repo", "azure_cli_key_url"]
SUBNET = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-net/providers/"
    "Microsoft.Network/virtualNetworks/vnet/subnets/{}"
)


def assert_inert(data: dict, lock) -> None:
    """Render data with lock; bad input must be refused, anything accepted must be inert."""
    try:
        spec = spec_from(data)
        plan = build_plan(spec, lock, catalog=load_catalog())
        items = mirror_items(spec, lock, load_catalog())
        files = render_files(plan)
    except UserError:
        event("refused")
        return
    event("rendered")
    for name in ("provision.sh", "validate.sh"):
        result = bash_syntax_ok(files[name])
        assert result.returncode == 0, result.stderr
    assert foreign_expressions(files) == []
    with tempfile.TemporaryDirectory() as tmp:
        sources = apt_sources(plan.scripts["provision.sh"], Path(tmp))
    for text in sources.values():
        for paragraph in parse_deb822(text):
            assert set(paragraph) <= {"Types", "URIs", "Suites", "Components", "Architectures", "Signed-By"}
            assert len(paragraph["URIs"].split()) == 1
    for a in plan.artifacts:
        assert SAFE_FILE_NAME.fullmatch(a.file_name), a.file_name
    for item in items:
        for rel in (item.path, item.checksum_path, item.order_path):
            if rel:
                assert ".." not in rel.split("/") and not rel.startswith("/"), rel
    json.loads(files["plan.json"])


@pytest.mark.parametrize("field", MIRROR_URL_FIELDS)
@SETTINGS
@given(value=url_like)
def test_mirror_urls(default_data, default_lock, field, value):
    mirror = {field: value}
    if field == "azure_cli_key_url":
        mirror["azure_cli_key_fingerprints"] = ["BC528686B50D79E339D3721CEB3E94ADBE1229CF"]
    if field == "apt_security":
        mirror["apt"] = "https://apt.contoso.internal/ubuntu/"
    assert_inert(variant(default_data, mirror=mirror), default_lock)


@pytest.mark.parametrize(
    "field",
    [
        "tag-key",
        "tag-value",
        "description",
        "image-name",
        "identity-name",
        "subnet",
        "image-location",
        "ca-certificate",
    ],
)
@SETTINGS
@given(value=text_values)
def test_names_tags_and_text(default_data, default_lock, field, value):
    changes = {
        "tag-key": {"tags": {value: "v"}},
        "tag-value": {"tags": {"k": value}},
        "description": {
            "distribute__gallery": {
                "resource_group": "rg-images",
                "name": "gal",
                "image": {"publisher": "Contoso", "description": value},
            }
        },
        "image-name": {"distribute__managed_image": {"resource_group": "rg-x", "name": value}},
        "image-location": {"distribute__managed_image": {"resource_group": "rg-x", "location": value}},
        "identity-name": {"identity__name": value},
        "subnet": {
            "build__subnet_id": SUBNET.format(value),
            "build__container_instance_subnet_id": None,
            "build__container_instance_subnet_address_prefix": None,
        },
        "ca-certificate": {"mirror": {"ca_certificate": value}},
    }[field]
    assert_inert(variant(default_data, **changes), default_lock)


@pytest.mark.parametrize("field", ["url", "checksumUrl"])
@pytest.mark.parametrize("override", [None, "hypothesis"])
@SETTINGS
@given(value=url_like)
def test_lock_urls(default_data, field, override, value):
    doc = json.loads(default_lock_text())
    entry = doc["tools"]["helm"][0]["artifacts"]["amd64"]
    entry[field] = value
    if override:
        entry["override"] = override
    try:
        lock = parse_lock(copy.deepcopy(doc), "jumpbox.lock.json", load_catalog())
    except UserError:
        return
    assert_inert(default_data, lock)
    assert_inert(variant(default_data, mirror={"artifacts": "https://mirror.contoso.internal/t"}), lock)
