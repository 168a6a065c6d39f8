"""A release feed as an organization would mirror it: upstream answers at FEED/HOST/PATH.

The answers have the shape of the real APIs (GitHub's releases list, releases.hashicorp.com's
index.json, dl.k8s.io's stable.txt) and include what must be ignored: pre-releases, drafts,
releases whose assets are missing (withdrawn) and versions without a linux build.
"""

from __future__ import annotations

import json
from pathlib import Path

from aks_jumpbox.core.catalog import load_catalog, url_basename

# tool -> releases as (version, kind): kind is "release", "prerelease", "draft" or "no-assets"
GITHUB = {
    "helm": [
        ("4.3.0", "release"),
        ("4.3.1", "release"),
        ("4.4.0-rc.1", "prerelease"),
        ("4.5.0", "draft"),
        ("4.2.9", "release"),
    ],
    "kubelogin": [("0.2.19", "release"), ("0.2.20", "no-assets"), ("0.3.0", "prerelease")],
    "flux": [("2.9.6", "release"), ("2.10.0", "release"), ("2.11.0-rc.1", "prerelease")],
    "azwi": [("1.6.0", "release")],
    "osm": [("1.2.4", "release")],
    "azure-cli": [("2.90.0", "release"), ("2.91.0", "release"), ("2.92.0", "prerelease")],
}
KUBECTL_STABLE = "v1.38.2"
TERRAFORM = [
    ("1.16.5", ["linux_amd64", "linux_arm64", "darwin_arm64"]),
    ("1.16.6", ["linux_amd64", "linux_arm64"]),
    ("1.16.7", ["darwin_arm64"]),
    ("1.17.0-rc1", ["linux_amd64"]),
    ("1.18.0-alpha20270101", ["linux_amd64"]),
]
NEWEST = {
    "helm": "4.3.1",
    "kubelogin": "0.2.19",
    "flux": "2.10.0",
    "azwi": "1.6.0",
    "osm": "1.2.4",
    "azure-cli": "2.91.0",
    "kubectl": "1.38.2",
    "terraform": "1.16.6",
}


def _github_release(repo: str, tag: str, kind: str, assets: list[str], n: int) -> dict:
    return {
        "url": f"https://api.github.com/repos/{repo}/releases/{1000 + n}",
        "id": 1000 + n,
        "html_url": f"https://github.com/{repo}/releases/tag/{tag}",
        "tag_name": tag,
        "name": tag,
        "draft": kind == "draft",
        "prerelease": kind == "prerelease",
        "created_at": f"2027-01-{n + 1:02d}T10:00:00Z",
        "published_at": None if kind == "draft" else f"2027-01-{n + 1:02d}T11:00:00Z",
        "assets": []
        if kind == "no-assets"
        else [
            {
                "name": a,
                "size": 1000,
                "content_type": "application/octet-stream",
                "browser_download_url": f"https://github.com/{repo}/releases/download/{tag}/{a}",
            }
            for a in assets
        ],
    }


def write_feed(root: Path) -> Path:
    catalog = load_catalog()
    for name, releases in GITHUB.items():
        src = catalog.azure_cli.releases if name == "azure-cli" else catalog.tool(name).releases
        answer = []
        for n, (version, kind) in enumerate(reversed(releases)):
            tag = src.tag.format(version=version)
            assets = []
            if name != "azure-cli":
                tool = catalog.tool(name)
                assets = sorted(
                    {url_basename(tool.artifact_url(version, a)) for a in tool.arch_names}
                    | {url_basename(tool.checksum_file_url(version, "amd64"))}
                )
            answer.append(_github_release(src.repo, tag, kind, assets, n))
        path = root / "api.github.com" / "repos" / src.repo / "releases"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(answer, indent=1))
    stable = root / "dl.k8s.io" / "release" / "stable.txt"
    stable.parent.mkdir(parents=True, exist_ok=True)
    stable.write_text(KUBECTL_STABLE)  # the real file has no trailing newline
    versions = {}
    for version, platforms in TERRAFORM:
        builds = [
            {
                "name": "terraform",
                "version": version,
                "os": p.split("_")[0],
                "arch": p.split("_")[1],
                "filename": f"terraform_{version}_{p}.zip",
                "url": f"https://releases.hashicorp.com/terraform/{version}/terraform_{version}_{p}.zip",
            }
            for p in platforms
        ]
        versions[version] = {
            "name": "terraform",
            "version": version,
            "shasums": f"terraform_{version}_SHA256SUMS",
            "shasums_signature": f"terraform_{version}_SHA256SUMS.sig",
            "builds": builds,
        }
    index = root / "releases.hashicorp.com" / "terraform" / "index.json"
    index.parent.mkdir(parents=True, exist_ok=True)
    index.write_text(json.dumps({"name": "terraform", "versions": versions}))
    return root
