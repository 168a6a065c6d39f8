"""Contract tests on rendered output: Microsoft's ARM schemas, shellcheck, script safety rules."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from aks_jumpbox.render.arm import inner_resources
from aks_jumpbox.render.output import render_files
from tests.conftest import make_plan, variant
from tests.support.arm_schema import has_schema, validate_resource

MIRROR = {
    "artifacts": "https://mirror.contoso.internal/tools",
    "apt": "https://apt.contoso.internal/ubuntu",
    "azure_cli_repo": "https://apt.contoso.internal/azure-cli",
}
VARIANTS = {
    "default": {},
    "proxy": {
        "build__container_instance_subnet_id": None,
        "build__container_instance_subnet_address_prefix": None,
        "build__proxy_vm_size": "Standard_A1_v2",
        "build__subnet_address_prefix": None,
    },
    "builtin-roles": {"identity__roles": "builtin"},
    "debian-mirror-staging": {
        "base_image": "debian-12",
        "mirror": MIRROR,
        "build__staging_resource_group": "rg-aib-staging",
        "build__on_customizer_error": "abort",
        "architecture": "amd64",
    },
    "ubuntu2204-arm64": {
        "base_image": "ubuntu-22.04",
        "architecture": "arm64",
        "tools": {"kubectl": "1.37.1", "helm": "4.3.0", "flux": "2.9.6", "terraform": "1.16.5"},
    },
}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def rendered(request, default_data, default_lock):
    return request.param, render_files(make_plan(variant(default_data, **VARIANTS[request.param]), default_lock))


def test_every_arm_resource_validates_against_microsofts_schema(rendered):
    name, files = rendered
    checked = 0
    for path in ("arm/subscription.json", "arm/resource-group.json", "arm/network-spoke.json", "arm/network-hub.json"):
        for resource in inner_resources(json.loads(files[path])):
            assert has_schema(resource["type"], resource["apiVersion"]), f"{path}: no schema for {resource['type']}"
            assert validate_resource(resource) == [], f"{name} {path}"
            checked += 1
    assert checked >= 8


def test_the_schema_check_can_fail(default_plan):
    template = json.loads(render_files(default_plan)["arm/resource-group.json"])
    image_template = inner_resources(template)[-1]
    image_template["properties"]["errorHandling"]["onCustomizerError"] = "ignore"
    image_template["properties"]["vmProfile"]["bogus"] = 1
    errors = validate_resource(image_template)
    assert any("ignore" in e for e in errors) and any("bogus" in e for e in errors)


def test_templates_are_fully_resolved(rendered):
    _, files = rendered
    for path in ("arm/subscription.json", "arm/resource-group.json"):
        text = files[path]
        assert "parameters(" not in text and "utcNow" not in text and "@@" not in text
        # the only expressions: reference() to the identity and resourceId() of nested deployments
        for expr in re.findall(r'"\[(.*?)\]"', text):
            assert expr.startswith(("reference(", "resourceId(")), expr


@pytest.mark.parametrize("script", ["provision.sh", "validate.sh"])
def test_scripts_pass_shellcheck(rendered, script, tmp_path):
    _, files = rendered
    path = tmp_path / script
    path.write_text(files[script])
    result = subprocess.run(["shellcheck", "-s", "bash", "-S", "style", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_inline_customizers_carry_the_exact_scripts(rendered):
    _, files = rendered
    body = inner_resources(json.loads(files["arm/resource-group.json"]))[-1]["properties"]
    for customizer, script in (
        (body["customize"][0], "provision.sh"),
        (body["validate"]["inVMValidations"][0], "validate.sh"),
    ):
        inline = customizer["inline"]
        start = inline.index(next(line for line in inline if line.startswith("cat > ")))
        end = inline.index("AKS_JUMPBOX_SCRIPT_EOF")
        assert "\n".join(inline[start + 1 : end]) + "\n" == files[script]
        assert inline[-1] == f"sudo bash /tmp/aks-jumpbox-{script}"
        assert any("sha256sum --check" in line for line in inline)


PIPE_TO_SHELL = re.compile(r"\|\s*(sudo\s+)?(ba|z|da)?sh\b")


def test_no_download_is_piped_into_a_shell_and_all_are_https(rendered):
    _, files = rendered
    for script in ("provision.sh", "validate.sh"):
        text = files[script]
        assert not PIPE_TO_SHELL.search(text), script
        calls = re.findall(r"\bcurl\s+-[^\n]*", text)
        assert calls in (
            [],
            ["curl --proto '=https' --proto-redir '=https' --tlsv1.2 --fail --silent --show-error --location \\"],
        ), "curl is called only inside fetch(), which forces HTTPS"
        assert "wget" not in text
        urls = re.findall(r"(?<![=\w])(\w+)://[^\s'\"]+", text)
        assert set(urls) <= {"https", "http"}
    provision = files["provision.sh"]
    table = provision.split("ARTIFACTS='", 1)[1].split("'", 1)[0]
    for row in table.splitlines():
        assert row.split("\t")[2].startswith("https://")


def test_nothing_is_installed_before_its_digest_is_checked(default_plan):
    script = default_plan.scripts["provision.sh"]
    loop = script[script.index('step "tool:$name"') :]
    assert (
        loop.index('actual=$(sha256_of "$artifact")')
        < loop.index('if [ "$actual" != "$sha" ]')
        < loop.index("install -o root")
    )
    assert 'die "$name: SHA-256 mismatch' in loop


def test_sshd_hardening_is_a_checked_drop_in(default_plan):
    script = default_plan.scripts["provision.sh"]
    assert "sshd_config.d/05-aks-jumpbox.conf" in script and "sshd -t" in script
    for line in ("X11Forwarding no", "MaxAuthTries 6", "PasswordAuthentication no", "PermitRootLogin no"):
        assert line in script
    assert "full-upgrade" in script and "NEEDRESTART_MODE=l" in script and "--force-confold" in script
