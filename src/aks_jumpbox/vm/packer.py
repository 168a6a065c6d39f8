"""What Image Builder's Packer runs on the build VM for the template's Shell customizers (pure).

A Shell customizer is Packer's shell provisioner: its `inline` lines are joined by newlines into one
file that starts with the inline shebang, `#!/bin/sh -e`, uploaded to /tmp and run as
`chmod +x <path>; <vars> <path>` over SSH as the build user (not root: the lines use sudo).
https://developer.hashicorp.com/packer/docs/provisioners/shell (inline, inline_shebang, execute_command)
https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-json#properties-customize
("Shell" customizer: inline or scriptUri; commands needing root are prefixed with sudo)
In-VM validations of type Shell run the same way after the customizers:
https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-json#properties-validate
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aks_jumpbox.core.model import Plan

INLINE_SHEBANG = "#!/bin/sh -e"
# What Packer's azure-arm builder sets for every shell provisioner (`{{.Vars}}` of execute_command).
PACKER_VARS = "PACKER_BUILDER_TYPE='azure-arm' PACKER_BUILD_NAME='azure-arm'"


@dataclass(frozen=True)
class ShellStep:
    phase: str  # "customize" | "validate"
    name: str  # the customizer's name
    script: str  # the file Packer uploads

    def remote_path(self, index: int) -> str:
        return f"/tmp/script_{index:04d}.sh"

    def execute_command(self, index: int) -> str:
        path = self.remote_path(index)
        return f"chmod +x {path}; {PACKER_VARS} {path}"


def inline_script(lines: list[str]) -> str:
    return INLINE_SHEBANG + "\n" + "\n".join(lines) + "\n"


def shell_steps(plan: Plan) -> list[ShellStep]:
    """Every Shell customizer, then every Shell in-VM validation, of the plan's image template.

    Read from the template's body as the plan holds it: the resource-group template writes the same
    strings with ARM's `[[` escape, which ARM removes before Image Builder sees them.
    """
    props: dict[str, Any] = plan.template.body["properties"]
    steps: list[ShellStep] = []
    for c in props.get("customize", []):
        if c.get("type") == "Shell" and "inline" in c:
            steps.append(ShellStep("customize", c["name"], inline_script(c["inline"])))
    for c in props.get("validate", {}).get("inVMValidations", []):
        if c.get("type") == "Shell" and "inline" in c:
            steps.append(ShellStep("validate", c["name"], inline_script(c["inline"])))
    return steps
