"""Whose a gallery image version is (its aks-jumpbox.spec tag), for `versions` and `promote`."""

from __future__ import annotations

from aks_jumpbox.core.errors import UserError
from aks_jumpbox.core.gallery import not_ours, others_by_owner, others_note
from aks_jumpbox.core.naming import SPEC_TAG
from aks_jumpbox.core.versions import GalleryVersion


def version(name: str, owner: str | None) -> GalleryVersion:
    tags = {SPEC_TAG: owner} if owner else {}
    return GalleryVersion.from_arm({"name": name, "id": f"/x/versions/{name}", "tags": tags, "properties": {}})


def test_the_owner_is_read_from_the_versions_tag():
    assert version("1.0.0", "aksjb-prod").owner == "aksjb-prod"
    assert version("1.0.0", None).owner is None


def test_other_specs_versions_are_counted_by_owner():
    rows = [version("1.0.0", "aksjb-dev"), version("1.0.1", "aksjb-prod"), version("1.0.2", "aksjb-prod")]
    rows.append(version("0.9.0", None))
    counts = others_by_owner(rows, "aksjb-dev")
    assert counts == {"aksjb-prod": 2, "untagged": 1}
    assert others_note(counts) == "3 versions of other specs (aksjb-prod: 2, untagged: 1)"
    assert others_by_owner(rows[:1], "aksjb-dev") == {}


def test_promote_refuses_another_specs_version_naming_its_owner():
    assert not_ours(version("1.0.0", "aksjb-dev"), "gal/img", "aksjb-dev") is None
    theirs = not_ours(version("1.0.1", "aksjb-prod"), "gal/img", "aksjb-dev")
    assert isinstance(theirs, UserError) and theirs.exit_code == 2
    assert "belongs to spec aksjb-prod" in str(theirs) and "nothing was changed" in str(theirs)
    assert "aks-jumpbox promote 1.0.1 -f" in str(theirs) and "versions --all" in str(theirs)
    untagged = not_ours(version("0.9.0", None), "gal/img", "aksjb-dev")
    assert untagged is not None and "has no aks-jumpbox.spec tag" in str(untagged)
