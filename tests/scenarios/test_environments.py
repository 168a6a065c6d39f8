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
    result = run(world, spec, "build", "--output", "json")
    doc = json.loads(result.stdout)
    assert doc["ok"] and doc["action"] == "run"
    ids = {c["key"]: c["id"] for c in doc["deployed"]}
    names = {c["key"]: c["name"] for c in doc["deployed"]}
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    return {"doc": doc, "ids": ids, "names": names, "image": doc["imageId"], "events": events}


def bodies(world, ids) -> dict[str, dict | None]:
    return {i: copy.deepcopy(world.arm.get(i)) for i in ids}


def role_names(world, fp: dict) -> list[str]:
    return [world.arm.get(fp["ids"][k])["properties"]["roleName"] for k in ("role.network", "role.image")]


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning:")]


def assignments_of_roles(world, fp: dict) -> list[str]:
    """The live role assignments of a spec's custom roles (whoever holds them): their IDs."""
    roles = {fp["ids"][k].rsplit("/", 1)[-1].lower() for k in ("role.network", "role.image")}
    return sorted(
        a.id
        for a in world.arm.store.of_type("Microsoft.Authorization/roleAssignments")
        if a.body["properties"]["roleDefinitionId"].rsplit("/", 1)[-1].lower() in roles
    )


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
    # prod's build warned (as deploy does) about dev's resources before deploying: a `foreign` event each.
    foreign_events = [e for e in prod["events"] if e["event"] == "foreign"]
    assert {e["owner"] for e in foreign_events} == {"aksjb-dev"}
    assert {e["name"] for e in foreign_events} >= {dev["names"]["identity"], dev["names"]["template"]}
    assert all("belongs to spec aksjb-dev" in e["warning"] for e in foreign_events)
    first_deployed = next(i for i, e in enumerate(prod["events"]) if e["event"] == "deployed")
    assert max(i for i, e in enumerate(prod["events"]) if e["event"] == "foreign") < first_deployed

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

    prod_assignments = assignments_of_roles(world, prod)
    assert prod_assignments  # prod's identity holds prod's roles (the network one at least)
    prod_ids = [*prod["ids"].values(), prod["image"], *prod_assignments]
    dev_only = [i for k, i in dev["ids"].items() if not k.startswith("gallery")]
    prod_names = [prod["names"]["identity"], prod["names"]["template"], *role_names(world, prod)]
    prod_names += [prod["names"][k] for k in prod["names"] if k.startswith("assignment.")]
    # What is warned about: prod's identity, template, roles and the assignments of those roles.
    foreign_ids = sorted(i.lower() for i in [prod["ids"][k] for k in ("identity", "template", "role.network")])
    foreign_ids = sorted([*foreign_ids, prod["ids"]["role.image"].lower(), *(a.lower() for a in prod_assignments)])
    n_foreign = len(foreign_ids)

    # dev's what-if after prod was deployed: nothing to change; prod's resources warned about.
    what_if = run(world, dev_spec, "deploy", "--what-if", "--output", "json")
    doc = json.loads(what_if.stdout)
    assert {c["key"]: c["action"] for c in doc["changes"]} == dict.fromkeys(dev["ids"], "unchanged")
    assert {f["owner"] for f in doc["foreign"]} == {"aksjb-prod"}
    assert sorted(f["id"].lower() for f in doc["foreign"]) == foreign_ids
    assignment_names = [f["name"] for f in doc["foreign"] if f["kind"] == "role assignment"]
    assert all(" of [aks-jumpbox] " in n and "(aksjb-prod, " in n for n in assignment_names)
    assert len(warnings(what_if.stderr)) == n_foreign

    # check (live) counts and reads only dev's; prod's are listed as foreign.
    check = world.cli("check", "--output", "json", "-f", str(dev_spec))
    assert check.returncode in (0, 1), check.stderr
    report = json.loads(check.stdout)
    assert {f["owner"] for f in report["foreign"]} == {"aksjb-prod"} and len(report["foreign"]) == n_foreign
    assert not any(n in json.dumps(report["checks"]) for n in prod_names)

    # dev's build (nothing to build: it succeeded) prints deploy's warnings, one line each, in text mode too.
    again = run(world, dev_spec, "build")
    assert sorted(warnings(again.stderr)) == sorted(warnings(what_if.stderr))

    # dev's dry run lists none of prod's resources and warns about each, naming its owner.
    before = bodies(world, prod_ids)
    dry = run(world, dev_spec, "cleanup", "--dry-run")
    table = dry.stdout
    assert dev["names"]["template"] in table and dev["names"]["identity"] in table
    for name in prod_names:
        assert name not in table, name
    lines = warnings(dry.stderr)
    for name in [prod["names"]["identity"], prod["names"]["template"]]:
        (line,) = [x for x in lines if name in x]
        assert "belongs to spec aksjb-prod" in line and "left alone" in line
    for role in role_names(world, prod):
        (line,) = [x for x in lines if x.startswith(f"warning: custom role {role}")]
        assert "belongs to spec aksjb-prod (its role name): left alone" in line
    for assignment in prod_assignments:
        (line,) = [x for x in lines if assignment.rsplit("/", 1)[-1] in x]
        assert line.startswith("warning: role assignment ") and "belongs to spec aksjb-prod (its role's name)" in line
    assert len(lines) == n_foreign
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


def test_another_specs_role_on_this_specs_identity_is_warned_about_and_never_deleted(world, dev_prod):
    """prod's Network Joiner assigned by hand to dev's identity: dev's cleanup deletes dev's own
    assignments and identity, never that one (it is prod's role's), and says so."""
    dev_spec, prod_spec = dev_prod
    dev, prod = built(world, dev_spec), built(world, prod_spec)
    principal = world.arm.get(dev["ids"]["identity"])["properties"]["principalId"]
    vnet = dev["ids"]["assignment.network"].split("/providers/Microsoft.Authorization/")[0]
    by_hand = world.arm.assign_role(principal, vnet, prod["ids"]["role.network"], "ServicePrincipal")["id"]
    theirs = assignments_of_roles(world, prod)
    assert by_hand in theirs

    dry = json.loads(run(world, dev_spec, "cleanup", "--dry-run", "--output", "json").stdout)
    assert by_hand.lower() in {f["id"].lower() for f in dry["foreign"] if f["owner"] == "aksjb-prod"}
    assert by_hand.lower() not in {d["id"].lower() for d in dry["wouldDelete"]}
    assert dev["ids"]["assignment.network"].lower() in {d["id"].lower() for d in dry["wouldDelete"]}
    result = run(world, dev_spec, "cleanup", "--yes")
    (line,) = [x for x in warnings(result.stderr) if by_hand.rsplit("/", 1)[-1] in x]
    assert "belongs to spec aksjb-prod" in line and "left alone" in line
    assert assignments_of_roles(world, prod) == theirs  # every assignment of prod's roles is still there
    assert world.arm.get(by_hand) is not None
    assert world.arm.get(dev["ids"]["assignment.network"]) is None and world.arm.get(dev["ids"]["identity"]) is None


@pytest.fixture
def shared_gallery(world):
    """dev and prod distributing to one gallery image definition, each with its own version."""
    dev = write(world, "dev", "dev", distribute={"gallery": {**GALLERY, "version": "1.0.0"}})
    prod = write(world, "prod", "prod", distribute={"gallery": {**GALLERY, "version": "1.1.0"}})
    return dev, prod


def test_a_shared_gallery_is_written_alike_and_versions_and_promote_keep_to_their_spec(world, shared_gallery):
    dev_spec, prod_spec = shared_gallery
    dev = built(world, dev_spec)
    shared = bodies(world, [dev["ids"]["gallery"], dev["ids"]["gallery.image"]])
    assert all(SPEC_TAG not in (b or {}).get("tags", {}) for b in shared.values())  # no one spec's
    # prod plans the same gallery and definition, alike: nothing differs, nothing is rewritten.
    what_if = json.loads(run(world, prod_spec, "deploy", "--what-if", "--output", "json").stdout)
    changes = {c["key"]: c for c in what_if["changes"]}
    for key in ("gallery", "gallery.image"):
        assert changes[key]["action"] == "unchanged" and changes[key]["differences"] == [], key
    prod = built(world, prod_spec)
    assert bodies(world, shared) == shared
    v_dev, v_prod = (world.arm.get(fp["image"]) for fp in (dev, prod))
    assert v_dev["tags"][SPEC_TAG] == "aksjb-dev" and v_prod["tags"][SPEC_TAG] == "aksjb-prod"  # artifactTags

    # versions: this spec's only, the others counted; --all shows every spec's with its owner.
    doc = json.loads(run(world, dev_spec, "versions", "--output", "json").stdout)
    assert [(v["name"], v["owner"]) for v in doc["versions"]] == [("1.0.0", "aksjb-dev")]
    assert doc["others"] == {"count": 1, "byOwner": {"aksjb-prod": 1}, "shown": False}
    text = run(world, dev_spec, "versions").stdout
    assert "1.0.0" in text and "1.1.0" not in text
    assert "not shown: 1 version of other specs (aksjb-prod: 1); --all shows them" in " ".join(text.split())
    every = json.loads(run(world, dev_spec, "versions", "--all", "--output", "json").stdout)
    assert [(v["name"], v["owner"]) for v in every["versions"]] == [("1.0.0", "aksjb-dev"), ("1.1.0", "aksjb-prod")]
    table = run(world, dev_spec, "versions", "--all").stdout
    assert "owner" in table and "aksjb-dev (this spec)" in table and "aksjb-prod" in table

    # promote: another spec's version is refused, naming its owner, exit 2, nothing written.
    world.arm.reset_counts()
    refused = run(world, dev_spec, "promote", "1.1.0", "--yes", code=2)
    message = " ".join(refused.stderr.split())
    assert "gallery image version 1.1.0 of gal_jumpbox/aks-jumpbox belongs to spec aksjb-prod" in message
    assert "nothing was changed" in message and "no longer exists" not in message
    assert not [r for r in world.arm.requests if r.method in ("PUT", "PATCH", "DELETE")]
    assert world.arm.get(v_prod["id"])["properties"]["publishingProfile"]["excludeFromLatest"] is True
    as_json = world.cli("promote", "1.1.0", "--yes", "--output", "json", "-f", str(dev_spec))
    assert as_json.returncode == 2 and "belongs to spec aksjb-prod" in json.loads(as_json.stdout)["error"]["message"]

    # prod promotes its own; dev's view then says `latest` is prod's (one latest per definition).
    assert json.loads(run(world, prod_spec, "promote", "1.1.0", "--yes", "--output", "json").stdout)["promoted"]
    doc = json.loads(run(world, dev_spec, "versions", "--output", "json").stdout)
    assert doc["latest"] == "1.1.0" and doc["latestOwner"] == "aksjb-prod"
    assert "`latest` resolves to 1.1.0, spec aksjb-prod's" in " ".join(run(world, dev_spec, "versions").stdout.split())
