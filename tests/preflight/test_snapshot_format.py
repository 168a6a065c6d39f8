"""The snapshot folder format: what it accepts (REST and `az` shapes), what it means, what it refuses."""

from __future__ import annotations

import json

import pytest

from aks_jumpbox.preflight.snapshot import SnapshotError, load_snapshot, write_snapshot
from aks_jumpbox.preflight.source import Answer, Lookups, Unavailable, image_versions_path, permissions_path
from tests.preflight.world import SUB, VNET_ID, World


def folder(tmp_path, **files):
    d = tmp_path / "snap"
    d.mkdir(parents=True, exist_ok=True)
    for name, value in files.items():
        (d / name).write_text(value if isinstance(value, str) else json.dumps(value))
    return d


def test_bad_json_names_the_file_and_position(tmp_path):
    d = folder(tmp_path, **{"vnet.json": '{\n  "id": "/x",\n  oops\n}'})
    with pytest.raises(SnapshotError, match=r"snap/vnet\.json:3:3: not valid JSON"):
        load_snapshot(d)


def test_an_object_of_no_known_shape_names_the_file_and_item(tmp_path):
    d = folder(
        tmp_path,
        **{
            "a.json": [
                {"id": VNET_ID, "type": "Microsoft.Network/virtualNetworks", "location": "x", "properties": {}},
                {"name": "what"},
            ]
        },
    )
    with pytest.raises(SnapshotError) as e:
        load_snapshot(d)
    assert "snap/a.json: [1]: expected an ARM resource" in str(e.value)


def _check(w: World, tmp_path):
    from aks_jumpbox.preflight.checks import run_checks

    return run_checks(w.plan, load_snapshot(w.write(tmp_path / "snap")))


def test_a_malformed_nsg_rule_is_reported_with_its_file(tmp_path):
    w = World.upstream()
    del w.nsg_rules()[0]["properties"]["priority"]
    with pytest.raises(
        SnapshotError,
        match=r"snap/nsg\.json: .*'AllowAzureLoadBalancer60001InBound': priority: "
        r"expected an integer, got None",
    ):
        _check(w, tmp_path)


def test_a_vnet_without_location_and_a_bad_prefix_are_refused_naming_the_file(tmp_path):
    w = World.upstream()
    del w.vnet["location"]
    with pytest.raises(SnapshotError, match=r"snap/vnet\.json: virtual network vnet-imagebuilder: location: missing"):
        _check(w, tmp_path)
    w = World.isolated()
    w.docs["firewall-policy.json"][1]["properties"]["ruleCollections"][0]["rules"][3]["sourceAddresses"] = [
        "10.0.0.0/33"
    ]
    with pytest.raises(SnapshotError) as e:
        _check(w, tmp_path / "2")
    assert "snap/firewall-policy.json: [1]: " in str(e.value) and "10.0.0.0/33" in str(e.value)


def test_the_same_id_with_other_content_in_two_files_is_refused(tmp_path):
    a = {"id": f"/subscriptions/{SUB}/resourceGroups/rg", "location": "eastus2"}
    d = folder(tmp_path, **{"a.json": a, "b.json": {**a, "location": "westeurope"}})
    with pytest.raises(SnapshotError, match=r"b\.json: .* is also in a\.json with other content"):
        load_snapshot(d)


def test_an_empty_folder_or_a_file_is_bad_input(tmp_path):
    with pytest.raises(SnapshotError, match="holds no \\*.json files"):
        load_snapshot(folder(tmp_path))
    with pytest.raises(SnapshotError, match="not a folder"):
        load_snapshot(tmp_path / "nope")


def test_cli_flattened_shapes_and_embedded_subnets_are_read(tmp_path):
    vnet = {
        "id": VNET_ID,
        "name": "vnet-imagebuilder",
        "location": "eastus2",
        "addressSpace": {"addressPrefixes": ["10.1.0.0/24"]},
        "subnets": [{"name": "s1", "addressPrefix": "10.1.0.0/28"}],
    }  # `az network vnet show`: flattened
    assignment = {
        "id": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/g1",
        "principalId": "P1",
        "roleDefinitionId": "/x/roleDefinitions/r",
        "scope": f"/subscriptions/{SUB}",
    }
    d = folder(
        tmp_path,
        **{
            "vnet.json": vnet,
            "ra.json": [assignment],
            "reader.json": {
                "id": "/subscriptions/other/providers/Microsoft.Authorization/roleDefinitions/acdd72a7",
                "roleName": "Reader",
                "permissions": [{"actions": ["*/read"]}],
            },
        },
    )
    src = load_snapshot(d)
    assert src.resource(VNET_ID + "/subnets/s1")["addressPrefix"] == "10.1.0.0/28"
    assert src.role_assignments(SUB, "p1") == [assignment]
    assert src.role_assignments(SUB, "p2") == []
    # A built-in role is found by its GUID whatever subscription the document names.
    role = src.resource(f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7")
    assert role["roleName"] == "Reader"
    with pytest.raises(Unavailable, match="is not in the snapshot"):
        src.resource(VNET_ID + "/subnets/s2")


def test_error_documents_say_absent_or_refused(tmp_path):
    rg = f"/subscriptions/{SUB}/resourceGroups/rg-x"
    scope = f"/subscriptions/{SUB}/resourceGroups/rg-y"
    d = folder(
        tmp_path,
        **{
            "a.json": {"id": rg, "error": {"code": "ResourceGroupNotFound", "message": "gone"}},
            "b.json": {
                "id": permissions_path(scope),
                "status": 403,
                "error": {"code": "AuthorizationFailed", "message": "no"},
            },
            "c.json": {
                "id": image_versions_path(SUB, "eastus2", "P", "O", "S"),
                "status": 404,
                "error": {"code": "NotFound", "message": "Artifact: VMImage was not found."},
            },
        },
    )
    src = load_snapshot(d)
    assert src.resource(rg) is None
    with pytest.raises(Unavailable) as e:
        src.permissions(scope)
    assert e.value.reason == "AuthorizationFailed: no"
    assert src.image_versions(SUB, "eastus2", "P", "O", "S") == []
    with pytest.raises(Unavailable):
        src.provider(SUB, "Microsoft.Compute")


def test_what_snapshot_writes_reads_back_as_the_same_answers(tmp_path):
    w = World.upstream()
    original = Lookups(load_snapshot(w.write(tmp_path / "a")))
    from aks_jumpbox.preflight.checks import run_checks

    run_checks(w.plan, original)
    original.answers[("resource", "/refused")] = Answer(
        "resource", "/refused", Unavailable("denied", "AuthorizationFailed", 403)
    )
    written = write_snapshot(original.answers.values(), tmp_path / "b")
    assert len(written) == len(original.answers)
    again = load_snapshot(tmp_path / "b")
    for key, answer in original.answers.items():
        method = getattr(again, key[0])
        args = {"resource": (answer.path,)}.get(key[0]) or _args(key)
        try:
            value = method(*args)
        except Unavailable as exc:
            value = exc
        if isinstance(answer.value, Unavailable):
            assert isinstance(value, Unavailable) and value.reason == answer.value.reason
        elif isinstance(answer.value, list) and key[0] == "role_assignments":
            assert sorted(x["id"] for x in value) == sorted(x["id"] for x in answer.value)
        else:
            assert value == answer.value, key


def _args(key):
    return key[1:]


def test_snapshot_refuses_a_folder_with_json_unless_replacing(tmp_path):
    d = folder(tmp_path, **{"old.json": {"id": "/x"}})
    with pytest.raises(SnapshotError, match="already holds 1 JSON files"):
        write_snapshot([], d)
    write_snapshot([Answer("resource", "/subscriptions/s/resourceGroups/rg", None)], d, replace=True)
    assert [p.name.split("--")[0] for p in d.iterdir()] == ["missing"]
