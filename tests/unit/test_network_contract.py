"""The network contract's rows each carry a basis (documented with its source, derived from the lock,
or inferred with why) and a level, shown in contract.md / contract.json; and what Azure supports:
the extension wheel's host (no index is read), SMB by service tag (issue 10, items 2, 4, 6)."""

from __future__ import annotations

import json

import pytest

from aks_jumpbox.core.model import Basis
from aks_jumpbox.core.network import storage_service_tag
from aks_jumpbox.render.network import contract_markdown
from aks_jumpbox.render.output import render_files
from tests.conftest import make_plan, variant

MIRROR = {
    "artifacts": "https://mirror.contoso.internal/tools",
    "apt": "https://apt.contoso.internal/ubuntu",
    "azure_cli_repo": "https://apt.contoso.internal/azure-cli",
    "azure_cli_key_url": "https://mirror.contoso.internal/keys/microsoft.asc",
    "azure_cli_key_fingerprints": ["BC528686B50D79E339D3721CEB3E94ADBE1229CF"],
}


@pytest.fixture(scope="module", params=["isolated", "proxy"])
def plan(request, default_data, default_lock):
    if request.param == "isolated":
        return make_plan(default_data, default_lock)
    data = variant(
        default_data, build__container_instance_subnet_id=None, build__container_instance_subnet_address_prefix=None
    )
    return make_plan(data, default_lock)


def _rows(plan):
    return (*plan.network.flows, *plan.network.egress)


def test_every_row_has_a_basis_with_its_source(plan):
    for row in _rows(plan):
        b = row.basis
        assert b.source and b.source != "no reason recorded", row
        if b.kind == "documented":
            assert b.source.startswith(("https://learn.microsoft.com/", "https://github.com/mspnp/")), row
        assert b.level == ("advisory" if b.kind == "inferred" else "required")


def test_only_what_no_source_lists_is_advisory(plan):
    advisory = {e.fqdn for e in plan.network.egress if not e.basis.required}
    # No Microsoft source lists a token endpoint for Image Builder's subnets.
    assert "login.microsoftonline.com" in advisory
    if plan.spec.topology == "isolated":
        # No proxy VM: nothing documents Azure endpoints for the build VM; MCR is the inferred registry.
        assert advisory == {
            "login.microsoftonline.com",
            "management.azure.com",
            "*.blob.core.windows.net",
            "mcr.microsoft.com",
            "*.data.mcr.microsoft.com",
        }
    else:
        # The upstream reference lists storage and management for the proxy VM.
        assert advisory == {"login.microsoftonline.com"}
        mgmt = next(e for e in plan.network.egress if e.fqdn == "management.azure.com")
        assert mgmt.basis == Basis("documented", "https://github.com/mspnp/aks-jumpbox-imagebuilder#before-we-begin")
    for a in plan.artifacts:
        row = next(e for e in plan.network.egress if e.fqdn == a.url.split("/")[2])
        assert row.basis.kind == "derived" and f"{a.name} {a.version}" in row.basis.source


# The hosts `az extension add --name` would read the index from (its aka.ms link and the blob it redirects to).
INDEX_HOSTS = {"aka.ms", "azcliextensionsync.blob.core.windows.net"}


def test_only_the_locked_wheels_host_is_allowed_for_extensions(plan):
    # The build installs the locked wheel from its file (`az extension add --source`): no index is read.
    (wheel,) = plan.azure_cli.wheels
    assert wheel.url == wheel.upstream_url and wheel.url.startswith("https://azcliprod.blob.core.windows.net/")
    assert not INDEX_HOSTS & set(plan.network.fqdns)
    row = next(e for e in plan.network.egress if e.fqdn == "azcliprod.blob.core.windows.net")
    assert (row.port, row.protocol, row.basis.kind) == (443, "Https", "derived")
    assert f"{wheel.name} {wheel.version}" in row.basis.source and row.basis.required


def test_with_a_mirror_no_public_extension_host_is_allowed(default_data, default_lock):
    plan = make_plan(variant(default_data, mirror=MIRROR), default_lock)
    (wheel,) = plan.azure_cli.wheels
    assert wheel.url == (f"{MIRROR['artifacts']}/azure-cli-extensions/aks-preview/{wheel.version}/{wheel.file_name}")
    assert not (INDEX_HOSTS | {"azcliprod.blob.core.windows.net"}) & set(plan.network.fqdns)
    assert "mirror.contoso.internal" in plan.network.fqdns


def test_smb_is_a_network_row_to_the_regions_storage_service_tag(default_plan):
    smb = next(e for e in default_plan.network.egress if e.port == 445)
    assert (smb.protocol, smb.service_tag, smb.destination) == ("Tcp", "Storage.EastUS2", "Storage.EastUS2")
    assert smb.basis.kind == "documented" and "containerinstancesubnetid" in smb.basis.source
    assert smb.fqdn not in default_plan.network.fqdns  # not an FQDN to paste into an application rule
    assert storage_service_tag("West Europe") == "Storage.WestEurope"
    assert storage_service_tag("neverland") == "Storage"  # unknown spelling: the global tag


def test_contract_files_show_basis_and_level(plan):
    files = render_files(plan)
    doc = json.loads(files["network/contract.json"])
    for row in (*doc["flows"], *doc["egress"]):
        assert row["level"] in ("required", "advisory") and row["basis"]["level"] == row["level"]
        assert row["basis"]["kind"] in ("documented", "derived", "inferred") and row["basis"]["source"]
    md = contract_markdown(plan)
    assert "| level | basis |" in md and "| advisory | inferred, not documented: " in md
    assert "| required | documented: https://learn.microsoft.com/" in md


def test_a_row_names_each_source_once(plan):
    # Many tools share github.com, and a tool's own download host is also in its catalog `hosts`:
    # merging their rows must not repeat a source.
    for row in _rows(plan):
        sources = row.basis.source.split("; ")
        assert len(sources) == len(set(sources)), (row, sources)


def test_merging_an_already_merged_basis_keeps_sources_once():
    merged = Basis.strongest((Basis("derived", "a 1"), Basis("derived", "b 2")))
    again = Basis.strongest((merged, Basis("derived", "a 1"), Basis("inferred", "why")))
    assert again == Basis("derived", "a 1; b 2")


def test_a_download_host_is_not_also_called_its_own_redirect_target(plan):
    from aks_jumpbox.core.catalog import url_host

    hosts = {url_host(a.url) for a in plan.artifacts}
    for row in plan.network.egress:
        if row.fqdn in hosts:
            assert "redirects here" not in row.basis.source, row
