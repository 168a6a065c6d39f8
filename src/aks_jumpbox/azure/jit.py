"""Just-in-time image-write permission: the identity holds its image-writer role only while it builds.

Upstream recommends removing the assignment after a build. `build` re-adds it (it is part of the
plan) before the next run, and leaves it out when there is nothing to build.
"""

from __future__ import annotations

from aks_jumpbox.azure import resources as rs
from aks_jumpbox.azure.clients import Azure
from aks_jumpbox.azure.errors import arm
from aks_jumpbox.core.plan import Plan

IMAGE_ASSIGNMENT = "assignment.image"


def remove_image_role(az: Azure, plan: Plan) -> bool:
    """Delete the image-writer assignment; True if there was one."""
    r = plan.resource(IMAGE_ASSIGNMENT)
    with arm(f"removing the image-writer role assignment {r.name}", r.id):
        if rs.read(az, r) is None:
            return False
        rs.ops(r.type).delete(az, r)
    return True
