"""Values that pass validation are inert where they are rendered: deb822 .sources, the image's
manifest.json, provision.sh's variable block; values that would not be are refused before rendering."""

from __future__ import annotations

import pytest

from aks_jumpbox.core.errors import SpecError
from aks_jumpbox.core.scripts import inline_wrapper
from aks_jumpbox.core.spec import pem_certificates
from aks_jumpbox.render.output import render_files
from tests.conftest import make_plan, spec_from, variant
from tests.support.rendered import (
    Deb822Error,
    apt_sources,
    bash_syntax_ok,
    foreign_expressions,
    image_manifest,
    parse_deb822,
)

MIRROR = {
    "artifacts": "https://mirror.contoso.internal/tools",
    "apt": "http://apt.contoso.internal:8080/ubuntu",
    "apt_security": "https://apt.contoso.internal/ubuntu-security/",
    "azure_cli_repo": "https://apt.contoso.internal/azure-cli",
    "azure_cli_key_url": "https://apt.contoso.internal/keys/microsoft.asc",
    "azure_cli_key_fingerprints": ["BC528686B50D79E339D3721CEB3E94ADBE1229CF"],
}
OS_FIELDS = ["Types", "URIs", "Suites", "Components"]
AZ_FIELDS = ["Types", "URIs", "Suites", "Components", "Architectures", "Signed-By"]


def test_the_strict_deb822_reader_catches_a_field_that_broke_out():
    assert parse_deb822("Types: deb\nURIs: https://a/\n") == [{"Types": "deb", "URIs": "https://a/"}]
    for text in ("URIs: https://a/\nTrusted: yes\nURIs: x", "URIs: https://a/\n trusted", "Types deb", "URIs: "):
        with pytest.raises(Deb822Error):
            parse_deb822(text)


def test_rendered_sources_parse_as_deb822_with_exactly_the_expected_fields(default_data, default_lock, tmp_path):
    plan = make_plan(variant(default_data, mirror=MIRROR), default_lock)
    files = apt_sources(plan.scripts["provision.sh"], tmp_path)
    os_paragraphs = parse_deb822(files["aks-jumpbox-os.sources"])
    assert [list(p) for p in os_paragraphs] == [OS_FIELDS, OS_FIELDS]
    assert [p["URIs"] for p in os_paragraphs] == [
        "http://apt.contoso.internal:8080/ubuntu/",
        "https://apt.contoso.internal/ubuntu-security/",
    ]
    (az,) = parse_deb822(files["aks-jumpbox-azure-cli.sources"])
    assert list(az) == AZ_FIELDS
    assert az["URIs"] == "https://apt.contoso.internal/azure-cli/"
    assert az["Signed-By"] == "/etc/apt/keyrings/aks-jumpbox-azure-cli.gpg"


@pytest.mark.parametrize("field", ["apt", "apt_security", "azure_cli_repo"])
@pytest.mark.parametrize(
    "tail, why",
    [
        ("\nTrusted: yes", "newline"),
        ("\r\nTrusted: yes", "carriage return"),
        (" https://evil.example/", "space"),
        ("\tx", "tab"),
        ("\x0bTrusted: yes", "control character"),
        ("\u2028Trusted: yes", "control character"),
        ("\x85Trusted: yes", "control character"),
    ],
)
def test_a_value_that_would_add_a_deb822_field_is_refused(default_data, default_lock, field, tail, why):
    data = variant(
        default_data,
        mirror={"apt": "https://apt.contoso.internal/ubuntu/", field: "https://apt.contoso.internal/x" + tail},
    )
    with pytest.raises(SpecError) as err:
        make_plan(data, default_lock)
    assert f"mirror.{field}: " in str(err.value) and why in str(err.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://mirror.contoso.internal/a;b=c,d(e)!f*g+h$i&j@k",
        "https://mirror.contoso.internal/%22%5C%0A",
        "https://[::1]:8443/t",
    ],
)
def test_the_image_manifest_stays_json_for_any_accepted_url(default_data, default_lock, url):
    plan = make_plan(variant(default_data, mirror={"artifacts": url}), default_lock)
    verified = {a.name: "0" * 64 for a in plan.artifacts}
    tools = {t["name"]: t for t in image_manifest(plan.scripts["provision.sh"], verified)["tools"]}
    assert list(tools) == [a.name for a in plan.artifacts]
    for a in plan.artifacts:
        assert tools[a.name]["source"] == a.url


@pytest.mark.parametrize("bad", ['https://mirror/"x', "https://mirror/\\x", "https://mirror/x\n"])
def test_a_url_that_would_break_the_manifest_is_refused(default_data, default_lock, bad):
    with pytest.raises(SpecError, match="mirror.artifacts"):
        make_plan(variant(default_data, mirror={"artifacts": bad}), default_lock)


def test_a_hostile_but_valid_spec_renders_inert(default_data, default_lock):
    data = variant(
        default_data,
        mirror={**MIRROR, "artifacts": "https://m.contoso.internal/a$(id);b&c=d"},
        tags={"[x]": "[subscription().id]", "note": '$(reboot) `id` ; | & < > " \\'},
        distribute__managed_image={"resource_group": "rg-x", "name": "img_x.1", "location": "West Europe"},
    )
    plan = make_plan(data, default_lock)
    files = render_files(plan)
    for name in ("provision.sh", "validate.sh"):
        result = bash_syntax_ok(files[name])
        assert result.returncode == 0, result.stderr
    assert foreign_expressions(files) == []
    assert all("/" not in a.file_name and not a.file_name.startswith(".") for a in plan.artifacts)


# ---------------------------------------------------------------------------------------------
# The CA certificate: PEM certificates and nothing else


def _pem() -> str:
    trustme = pytest.importorskip("trustme")
    return trustme.CA().cert_pem.bytes().decode()


def test_a_pem_certificate_is_accepted_and_rendered_as_is(default_data, default_lock):
    pem = _pem()
    assert pem_certificates(pem) == pem.strip()
    assert pem_certificates(pem + "\n" + pem) == (pem + "\n" + pem).strip()
    plan = make_plan(variant(default_data, mirror={"ca_certificate": pem}), default_lock)
    assert pem.strip().split("\n")[1] in plan.scripts["provision.sh"]
    assert bash_syntax_ok(plan.scripts["provision.sh"]).returncode == 0


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: "junk -----BEGIN CERTIFICATE----- junk",
        lambda p: "x\n" + p,
        lambda p: p + "\nrm -rf /",
        lambda p: p + "\nAKS_JUMPBOX_SCRIPT_EOF\n",
        lambda p: p.replace("-----END CERTIFICATE-----", ""),
        lambda p: p.replace("\n", "\n{{ .Vars }}\n", 2),
        lambda p: "-----BEGIN CERTIFICATE-----\nbm90IERFUg==\n-----END CERTIFICATE-----",
        lambda p: p.replace("BEGIN CERTIFICATE", "BEGIN PRIVATE KEY").replace("END CERTIFICATE", "END PRIVATE KEY"),
        lambda p: "",
    ],
)
def test_anything_but_pem_certificates_is_refused(mangle, default_data):
    bad = mangle(_pem())
    with pytest.raises(SpecError, match="mirror.ca_certificate"):
        spec_from(variant(default_data, mirror={"ca_certificate": bad}))


def test_the_heredoc_guard_refuses_only_a_terminator_line():
    assert inline_wrapper("x.sh", "echo AKS_JUMPBOX_SCRIPT_EOF\n")
    with pytest.raises(ValueError):
        inline_wrapper("x.sh", "echo\nAKS_JUMPBOX_SCRIPT_EOF\n")
