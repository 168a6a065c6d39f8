"""Scenario tests: two environments (dev and prod) of one spec name in one subscription.

Each spec's Azure footprint is its own: deploying one never rewrites the other's roles or identity,
`cleanup` of one never touches the other's templates, images, identity or roles, and `cleanup`,
`deploy` and `check` warn about the other's resources, naming the spec that owns each.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import pytest
import yaml

from tests.scenarios.conftest import BUILD_RG, IMAGE_RG, LOCATION, assert_ok

pytestmark = pytest.mark.emulator

GALLERY = {"resource_group": IMAGE_RG, "name": "gal_jumpbox", "image": {"publisher": "contoso"}}
SPEC_TAG = "aks-jumpbox.spec"


def write(world, env: str | None, folder: str, **changes) -> Path:
    data = copy.deepcopy(world.data)
    if env is not None:
        data["environment"] = env
    data.update(changes)
    path = world.dir / folder / "jumpbox.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run(world, spec: Path, *args: str, code: int = 0):
    result = world.cli(*args, "-f", str(spec))
    assert_ok(result, code)
    return result


def built(world, spec: Path) -> dict:
    """Build the spec; its footprint: every resource it deployed, the template and the image."""
    doc = json.loads(run(world, spec, "build", "--output", "json").stdout)
    assert doc["ok"] and doc["action"] == "run"
    ids = {c["key"]: c["id"] for c in doc["deployed"]}
    names = {c["key"]: c["name"] for c in doc["deployed"]}
    return {"doc": doc, "ids": ids, "names": names, "image": doc["imageId"]}


def bodies(world, ids) -> dict[str, dict | None]:
    return {i: copy.deepcopy(world.arm.get(i)) for i in ids}


def role_names(world, fp: dict) -> list[str]:
    return [world.arm.get(fp["ids"][k])["properties"]["roleName"] for k in ("role.network", "role.image")]


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning:")]


@pytest.fixture
def dev_prod(world):
    """dev: a managed image; prod: the same name and build group, a gallery (so its Image Writer role
    has other actions: the role the two used to share, and prod's deploy rewrote)."""
    dev = write(world, "dev", "dev")
    prod = write(world, "prod", "prod", distribute={"gallery": dict(GALLERY)})
    return dev, prod


def test_dev_and_prod_keep_to_their_own_footprint(world, dev_prod):
    dev_spec, prod_spec = dev_prod
    dev = built(world, dev_spec)
    prod = built(world, prod_spec)

    # Nothing shared: every name differs, and each carries its spec's key.
    for key in ("role.network", "role.image", "identity", "assignment.network", "template"):
        assert dev["ids"][key].lower() != prod["ids"][key].lower(), key
    assert world.arm.get(dev["ids"]["identity"])["tags"][SPEC_TAG] == "aksjb-dev"
    assert world.arm.get(prod["ids"]["identity"])["tags"][SPEC_TAG] == "aksjb-prod"
    assert world.arm.get(prod["ids"]["template"])["tags"][SPEC_TAG] == "aksjb-prod"
    assert world.arm.get(dev["image"])["tags"][SPEC_TAG] == "aksjb-dev"  # artifactTags, by Image Builder
    assert world.arm.get(prod["image"])["tags"][SPEC_TAG] == "aksjb-prod"
    assert all("(aksjb-dev, " in n for n in role_names(world, dev))
    assert all("(aksjb-prod, " in n for n in role_names(world, prod))
    staging = [g for g in world.arm.store.of_type("Microsoft.Resources/resourceGroups") if g.name.startswith("IT_")]
    assert sorted(g.body["tags"][SPEC_TAG] for g in staging) == ["aksjb-dev", "aksjb-prod"]  # managedResourceTags

    prod_ids = [*prod["ids"].values(), prod["image"]]
    dev_only = [i for k, i in dev["ids"].items() if not k.startswith("gallery")]
    prod_names = [prod["names"]["identity"], prod["names"]["template"], *role_names(world, prod)]
    prod_names += [prod["names"][k] for k in prod["names"] if k.startswith("assignment.")]

    # dev's what-if after prod was deployed: nothing to change; prod's resources warned about.
    what_if = run(world, dev_spec, "deploy", "--what-if", "--output", "json")
    doc = json.loads(what_if.stdout)
    assert {c["key"]: c["action"] for c in doc["changes"]} == dict.fromkeys(dev["ids"], "unchanged")
    assert {f["owner"] for f in doc["foreign"]} == {"aksjb-prod"}
    assert sorted(f["name"] for f in doc["foreign"]) == sorted(
        [prod["names"]["identity"], prod["names"]["template"], *role_names(world, prod)]
    )
    assert len(warnings(what_if.stderr)) == 4

    # check (live) counts and reads only dev's; prod's are listed as foreign.
    check = world.cli("check", "--output", "json", "-f", str(dev_spec))
    assert check.returncode in (0, 1), check.stderr
    report = json.loads(check.stdout)
    assert {f["owner"] for f in report["foreign"]} == {"aksjb-prod"} and len(report["foreign"]) == 4
    assert not any(n in json.dumps(report["checks"]) for n in prod_names)

    # dev's dry run lists none of prod's resources and warns about each, naming its owner.
    before = bodies(world, prod_ids)
    dry = run(world, dev_spec, "cleanup", "--dry-run")
    table = dry.stdout
    assert dev["names"]["template"] in table and dev["names"]["identity"] in table
    for name in prod_names:
        assert name not in table, name
    lines = warnings(dry.stderr)
    for name in [prod["names"]["identity"], prod["names"]["template"], *role_names(world, prod)]:
        (line,) = [x for x in lines if name in x]
        assert "belongs to spec aksjb-prod" in line and "left alone" in line
    assert len(lines) == 4
    assert bodies(world, prod_ids) == before

    # dev's cleanup: dev's gone, prod's untouched, byte for byte.
    result = run(world, dev_spec, "cleanup", "--yes", "--output", "json")
    gone = json.loads(result.stdout)
    assert {d["id"].lower() for d in gone["deleted"]} == {i.lower() for i in dev_only}
    assert all(world.arm.get(i) is None for i in dev_only)
    assert world.arm.get(dev["image"]) is not None  # images are kept
    assert bodies(world, prod_ids) == before
    assert len(world.arm.store.of_type("Microsoft.VirtualMachineImages/imageTemplates")) == 1

    # prod sees nothing to do, and nothing foreign any more.
    after = json.loads(run(world, prod_spec, "deploy", "--what-if", "--output", "json").stdout)
    assert {c["action"] for c in after["changes"]} == {"unchanged"} and after["foreign"] == []


def test_unnamed_environments_are_told_apart_by_where_they_build_and_distribute(world):
    """No `environment:`: two specs of one name with other image groups still get their own footprint."""
    world.arm.seed_resource_group("rg-images-prod", LOCATION)
    dev_spec = write(world, None, "dev")
    prod = copy.deepcopy(world.data["distribute"])
    prod["managed_image"]["resource_group"] = "rg-images-prod"
    prod_spec = write(world, None, "prod", distribute=prod)
    dev, prod_fp = built(world, dev_spec), built(world, prod_spec)
    dev_key = world.arm.get(dev["ids"]["identity"])["tags"][SPEC_TAG]
    prod_key = world.arm.get(prod_fp["ids"]["identity"])["tags"][SPEC_TAG]
    assert dev_key != prod_key and dev_key.startswith("aksjb-") and prod_key.startswith("aksjb-")
    before = bodies(world, [*prod_fp["ids"].values(), prod_fp["image"]])
    run(world, dev_spec, "cleanup", "--yes")
    assert bodies(world, [*prod_fp["ids"].values(), prod_fp["image"]]) == before
    assert world.arm.get(dev["ids"]["identity"]) is None and world.arm.get(dev["ids"]["template"]) is None


def test_untagged_look_alikes_are_warned_about_and_never_deleted(world):
    """Resources made before specs were tagged (or by hand): an old template and identity, an old role."""
    spec = write(world, "dev", "dev")
    first = built(world, spec)
    sub = world.arm.subscription_id
    identities = f"/subscriptions/{sub}/resourceGroups/{BUILD_RG}/providers/Microsoft.ManagedIdentity"
    old_identity = f"{identities}/userAssignedIdentities/id-aksjb-imagebuilder"  # its name before footprint keys
    world.arm.seed(old_identity, {"location": LOCATION, "tags": {"workload": "aks-jumpbox"}})
    old_role = f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{uuid.uuid4()}"
    world.arm.seed(
        old_role,
        {
            "properties": {
                "roleName": f"[aks-jumpbox] Image Builder Image Writer (aksjb, {sub[:8]})",
                "type": "CustomRole",
                "permissions": [{"actions": ["Microsoft.Compute/images/read"]}],
                "assignableScopes": [f"/subscriptions/{sub}"],
            }
        },
    )
    # The first template loses its tag, as one written by an older version would have none.
    world.arm.store.get(first["ids"]["template"]).body["tags"].pop(SPEC_TAG)
    world.data["build"]["vm_size"] = "Standard_D4ds_v5"
    spec = write(world, "dev", "dev")
    second = built(world, spec)

    result = run(world, spec, "cleanup", "--yes")
    lines = warnings(result.stderr)
    (template_line,) = [x for x in lines if first["names"]["template"] in x]
    (identity_line,) = [x for x in lines if "id-aksjb-imagebuilder " in x]
    for line in (template_line, identity_line):
        assert "has no aks-jumpbox.spec tag" in line and "left alone" in line
    (role_line,) = [x for x in lines if "(aksjb, " in x]
    assert "belongs to spec aksjb (its role name)" in role_line
    assert world.arm.get(first["ids"]["template"]) is not None
    assert world.arm.get(old_identity) is not None and world.arm.get(old_role) is not None
    assert world.arm.get(second["ids"]["template"]) is None and world.arm.get(first["ids"]["identity"]) is None


def test_deploy_never_takes_over_another_specs_identity(world, dev_prod):
    """Two environments naming one identity by hand: the second deploy refuses, writing nothing."""
    dev_spec, prod_spec = dev_prod
    for spec in (dev_spec, prod_spec):
        data = yaml.safe_load(spec.read_text(encoding="utf-8"))
        data["identity"]["name"] = "id-jumpbox-shared"
        spec.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    dev = built(world, dev_spec)
    identity = bodies(world, [dev["ids"]["identity"]])
    world.arm.reset_counts()
    refused = run(world, prod_spec, "deploy", code=1)
    assert "OwnedByAnotherSpec" in refused.stderr and "belongs to spec aksjb-dev" in refused.stderr
    assert bodies(world, [dev["ids"]["identity"]]) == identity
    assert not [r for r in world.arm.requests if r.method in ("PUT", "PATCH", "DELETE")]
    what_if = json.loads(world.cli("deploy", "--what-if", "--output", "json", "-f", str(prod_spec)).stdout)
    assert {c["key"]: c["action"] for c in what_if["changes"]}["identity"] == "conflict"


def test_a_template_tagged_for_the_spec_but_not_named_by_it_is_never_deleted(world):
    """A tag is easily copied (an Azure Policy that makes resources inherit the resource group's tags does
    it to every template there): cleanup deletes only the templates the spec names, imgt-<key>-<hash>.
    Was: every template in the build group tagged with the key, whatever its name."""
    spec = write(world, "dev", "dev")
    fp = built(world, spec)
    key = fp["names"]["template"].removeprefix("imgt-").rsplit("-", 1)[0]
    other = fp["ids"]["template"].rsplit("/", 1)[0] + "/golden-team-template"
    body = copy.deepcopy(world.arm.get(fp["ids"]["template"]))
    body["tags"] = {SPEC_TAG: key}
    world.arm.seed(other, body)

    result = run(world, spec, "cleanup", "--yes")
    (line,) = [x for x in warnings(result.stderr) if "golden-team-template" in x]
    assert f"carries spec {key}'s" in line and "left alone" in line
    assert world.arm.get(other) is not None
    assert world.arm.get(fp["ids"]["template"]) is None
