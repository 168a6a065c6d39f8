"""Build logs shaped like Image Builder's customization.log, written from a plan's own data.

Every line gets Packer's prefix, as Image Builder's log has it, so parsers must search markers
rather than anchor them.
"""

from __future__ import annotations

PREFIX = "[2027-01-05T10:0{n}:00.000Z] PACKER OUT     azure-arm: "


def build_log(
    plan, packages: list[tuple[str, str, str]], *, finished: str = "2027-01-05T10:31:07Z", plan_hash: str | None = None
) -> str:
    lines = ["==> aks-jumpbox step apt-upgrade begin 2027-01-05T10:02:00Z", "Reading package lists..."]
    for a in plan.artifacts:
        sha = a.sha256 or "ab" * 32
        lines.append(f"    {a.name} {a.version} installed at {a.install_path} (sha256 {sha})")
    lines.append("==> aks-jumpbox step manifest begin 2027-01-05T10:30:59Z")
    lines += [f"==> aks-jumpbox package {n} {v} {arch}" for n, v, arch in packages]
    lines.append(f"==> aks-jumpbox step manifest end {finished}")
    lines.append(f"==> aks-jumpbox provision complete ({plan_hash or plan.hash})")
    return "".join(PREFIX.format(n=i % 10) + line + "\n" for i, line in enumerate(lines))


PACKAGES = [
    ("openssh-server", "1:9.6p1-3ubuntu13.5", "amd64"),
    ("libssl3t64", "3.0.13-0ubuntu3.4", "amd64"),
    ("azure-cli", "2.90.0-1~noble", "amd64"),
    ("curl", "8.5.0-2ubuntu10.6", "amd64"),
    ("tzdata", "2025b-0ubuntu0.24.04", "all"),
    ("libc6", "2.39-0ubuntu8.4", "amd64"),
    ("libc6", "2.39-0ubuntu8.4", "i386"),
]
