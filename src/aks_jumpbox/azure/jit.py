"""Just-in-time image-write permission: the identity holds its image-writer role only while it builds.

Upstream recommends removing the assignment after a build. `build` re-adds it (it is part of the
plan) before the next run, and leaves it out when there is nothing to build.
"""

from __future__ import annotations

from aks_jumpbox.azure import resources as rs
from aks_jumpbox.azure.clients import Azure
from aks_jumpbox.azure.errors import arm
from aks_jumpbox.core import kinds
from aks_jumpbox.core.plan import Plan

# The image-writer role's assignments: on the managed image's group and/or on the gallery.
IMAGE_ASSIGNMENTS = tuple(a.key for a in kinds.ASSIGNMENTS if a.just_in_time)


def image_assignment_keys(plan: Plan) -> set[str]:
    return {r.key for r in plan.resources if r.key in IMAGE_ASSIGNMENTS}


def remove_image_role(az: Azure, plan: Plan) -> bool:
    """Delete the image-writer assignments; True if there was one."""
    removed = False
    for r in plan.resources:
        if r.key not in IMAGE_ASSIGNMENTS:
            continue
        with arm(f"removing the image-writer role assignment {r.name}", r.id):
            if rs.read(az, r) is None:
                continue
            rs.ops(r.type).delete(az, r)
            removed = True
    return removed
