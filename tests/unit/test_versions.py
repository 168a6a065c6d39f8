"""Gallery versions: how Azure picks `latest`, channels, and the rules promote follows (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aks_jumpbox.core.naming import template_name
from aks_jumpbox.core.plan import HASH_TAG
from aks_jumpbox.core.versions import BuildEvidence, GalleryVersion, channel, latest, promotion_blockers, version_key
from tests.conftest import make_plan, variant

DEF = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i"
HASH = "ab" * 32


def arm_version(
    name: str,
    *,
    exclude: bool = True,
    state: str = "Succeeded",
    replication: dict | None = None,
    plan_hash: str | None = HASH,
) -> dict:
    regions = [
        {"name": "West Europe", "regionalReplicaCount": 1, "storageAccountType": "Standard_LRS"},
        {"name": "northeurope", "regionalReplicaCount": 2, "storageAccountType": "Standard_ZRS"},
    ]
    states = {"westeurope": "Completed", "northeurope": "Completed", **(replication or {})}
    aggregated = "Completed" if set(states.values()) == {"Completed"} else "InProgress"
    return {
        "id": f"{DEF}/versions/{name}",
        "name": name,
        "tags": {HASH_TAG: plan_hash} if plan_hash else {},
        "properties": {
            "provisioningState": state,
            "publishingProfile": {
                "excludeFromLatest": exclude,
                "targetRegions": regions,
                "publishedDate": "2026-06-01T10:00:00Z",
            },
            "replicationStatus": {
                "aggregatedState": aggregated,
                "summary": [{"region": k, "state": v} for k, v in states.items()],
            },
        },
    }


def good_evidence(version: GalleryVersion) -> BuildEvidence:
    return BuildEvidence(template_name("jb", HASH), True, "Succeeded", version.id, 1, False)


def test_from_arm_reads_regions_replication_date_and_hash():
    v = GalleryVersion.from_arm(arm_version("1.2.3"))
    assert [(r.name, r.replicas, r.storage_account_type, r.replication) for r in v.regions] == [
        ("westeurope", 1, "Standard_LRS", "Completed"),
        ("northeurope", 2, "Standard_ZRS", "Completed"),
    ]
    assert (v.replication, v.published, v.plan_hash, v.exclude_from_latest) == (
        "Completed",
        "2026-06-01T10:00:00Z",
        HASH,
        True,
    )


@given(
    st.lists(
        st.tuples(st.integers(0, 2**31 - 1), st.integers(0, 99), st.integers(0, 2**31 - 1), st.booleans()),
        max_size=8,
        unique_by=lambda t: t[:3],
    )
)
def test_latest_is_the_highest_number_not_excluded(rows):
    versions = [GalleryVersion.from_arm(arm_version(f"{a}.{b}.{c}", exclude=x)) for a, b, c, x in rows]
    eligible = [(a, b, c) for a, b, c, x in rows if not x]
    top = latest(versions)
    assert (top.name if top else None) == (".".join(map(str, max(eligible))) if eligible else None)
    for v in versions:
        assert channel(v, versions) == ("canary" if v.exclude_from_latest else "latest" if v is top else "superseded")


def test_numbers_compare_as_integers_not_text():
    versions = [GalleryVersion.from_arm(arm_version(n, exclude=False)) for n in ("0.0.9", "0.0.10")]
    assert latest(versions).name == "0.0.10"
    assert version_key("1.2") is None and version_key("1.2.x") is None and version_key("01.2.3") == (1, 2, 3)


def test_a_validated_canary_may_be_promoted():
    v = GalleryVersion.from_arm(arm_version("1.0.0"))
    assert promotion_blockers(v, [v], good_evidence(v)) == []


def test_each_missing_piece_of_evidence_blocks():
    v = GalleryVersion.from_arm(arm_version("1.0.0", replication={"northeurope": "Replicating"}, state="Failed"))
    reasons = promotion_blockers(v, [v], good_evidence(v))
    assert any("provisioning is Failed" in r for r in reasons)
    assert any("northeurope (Replicating)" in r for r in reasons)

    v = GalleryVersion.from_arm(arm_version("1.0.0"))
    cases = {
        "no longer exists": BuildEvidence("imgt-jb-x", False),
        "is Failed, not Succeeded": BuildEvidence("imgt-jb-x", True, "Failed", v.id, 1, False),
        "not this version": BuildEvidence("imgt-jb-x", True, "Succeeded", v.id.replace("1.0.0", "1.0.1"), 1, False),
        "does not gate distribution": BuildEvidence("imgt-jb-x", True, "Succeeded", v.id, 1, True),
    }
    for needle, evidence in cases.items():
        reasons = promotion_blockers(v, [v], evidence)
        assert len(reasons) == 1 and needle in reasons[0], (needle, reasons)
    untagged = GalleryVersion.from_arm(arm_version("1.0.0", plan_hash=None))
    assert "plan-hash tag" in promotion_blockers(untagged, [untagged], None)[0]


def test_a_higher_eligible_version_blocks_and_says_how_to_fix_it():
    v = GalleryVersion.from_arm(arm_version("0.0.5"))
    higher = GalleryVersion.from_arm(arm_version("0.0.900", exclude=False))
    lower = GalleryVersion.from_arm(arm_version("0.0.1", exclude=False))
    excluded = GalleryVersion.from_arm(arm_version("9.0.0"))
    assert promotion_blockers(v, [v, lower, excluded], good_evidence(v)) == []
    (reason,) = promotion_blockers(v, [v, higher, lower], good_evidence(v))
    assert "0.0.900 is higher" in reason and "semantic" in reason and "not ordered" in reason


def test_gallery_artifact_tags_carry_the_plan_hash_without_changing_it(default_data, default_lock):
    data = variant(
        default_data,
        distribute={"gallery": {"resource_group": "rg-images", "name": "gal", "image": {"publisher": "Contoso"}}},
    )
    plan = make_plan(data, default_lock)
    (target,) = plan.template.body["properties"]["distribute"]
    assert target["artifactTags"][HASH_TAG] == plan.hash
    assert plan.names.template == template_name(plan.names.spec, plan.hash)  # how build_evidence finds it
    assert make_plan(data, default_lock).hash == plan.hash
