"""The artifact mirror's layout, shared by the plan (what the build fetches), `lock` (where the
mirror's checksum files are) and `mirror sync` (what to write where).

    <base>/<tool>/<version>/<arch>/<file name of the upstream URL>
    <base>/azure-cli-extensions/<extension>/<version>/<wheel file name>   (Azure CLI extensions)
    <base>/base-images/<base image>/<release>/<arch>/<file name>          (cloud images `try` boots)

Any static web server or blob container can serve it.
"""

from __future__ import annotations

from dataclasses import dataclass

from aks_jumpbox.core.baseimages import load_base_images
from aks_jumpbox.core.baseimages import mirror_path as base_image_mirror_path
from aks_jumpbox.core.catalog import SAFE_FILE_NAME, Catalog, UnsafeFileName, sibling_url, url_basename
from aks_jumpbox.core.errors import Problem, SpecError
from aks_jumpbox.core.extensions import INDEX_URL, MIRROR_INDEX
from aks_jumpbox.core.extensions import mirror_path as extension_mirror_path
from aks_jumpbox.core.lock import Lock
from aks_jumpbox.core.spec import Spec

INDEX_NAME = "aks-jumpbox-mirror.json"


def mirror_path(tool: str, version: str, arch: str, upstream_url: str) -> str:
    """The relative path of an artifact in the mirror. Every part is confined to safe file names
    (url_basename raises UnsafeFileName otherwise), so the path never leaves its folder."""
    for part in (tool, version, arch):
        if not SAFE_FILE_NAME.fullmatch(part):
            raise UnsafeFileName(f"{part!r} is not safe as a folder name in the mirror")
    return f"{tool}/{version}/{arch}/{url_basename(upstream_url)}"


def mirror_url(base: str, tool: str, version: str, arch: str, upstream_url: str) -> str:
    return f"{base.rstrip('/')}/{mirror_path(tool, version, arch, upstream_url)}"


@dataclass(frozen=True)
class MirrorItem:
    tool: str
    version: str
    arch: str
    upstream_url: str
    path: str  # relative path in the mirror
    sha256: str | None  # None: check against the checksum file
    # An Azure CLI extension's "checksum file" is Microsoft's extension index (format azext-index).
    checksum_upstream_url: str
    checksum_path: str
    checksum_format: str
    order_upstream_url: str | None
    order_path: str | None


def mirror_items(
    spec: Spec, lock: Lock, catalog: Catalog, lock_label: str = "jumpbox.lock.json", *, base_images: bool = False
) -> list[MirrorItem]:
    """Every locked artifact of the spec's tools, for every architecture the lock holds; with `base_images`,
    also the spec's pinned cloud image (hundreds of MB, needed only by `try`, never by a build in Azure)."""
    items, problems = [], []
    for name in sorted(spec.tools):
        version = spec.tools[name].version
        entry = lock.get(name, version)
        if entry is None:
            continue  # the plan reports a pin missing from the lock; sync mirrors what is locked
        tool = catalog.tool(name)
        index = sorted(lock.tools[name], key=lambda v: tuple(int(p) for p in v.split("."))).index(version)
        for arch in sorted(entry.artifacts):
            art = entry.artifacts[arch]
            try:
                catalog_order = tool.checksum_order_file_url(version, arch)
                order = sibling_url(art.checksum_url, url_basename(catalog_order)) if catalog_order else None
                items.append(
                    MirrorItem(
                        tool=name,
                        version=version,
                        arch=arch,
                        upstream_url=art.url,
                        path=mirror_path(name, version, arch, art.url),
                        sha256=art.sha256,
                        checksum_upstream_url=art.checksum_url,
                        checksum_path=mirror_path(name, version, arch, art.checksum_url),
                        checksum_format=tool.checksum_format,
                        order_upstream_url=order,
                        order_path=mirror_path(name, version, arch, order) if order else None,
                    )
                )
            except UnsafeFileName as exc:  # a Lock built in code, without parse_lock's checks
                problems.append(Problem(lock_label, None, f"tools.{name}[{index}].artifacts.{arch}.url", str(exc)))
    for ext in spec.azure_cli.extensions:  # the plan reports an extension the lock does not pin
        locked = lock.extension_versions(ext.name)
        wanted = ext.version or (locked[-1] if locked else None)
        pinned = lock.extensions.get(ext.name, {}).get(wanted) if wanted else None
        if pinned is None:
            continue
        try:
            path = extension_mirror_path(ext.name, pinned.version, pinned.url)
            for part in (ext.name, pinned.version):
                if not SAFE_FILE_NAME.fullmatch(part):
                    raise UnsafeFileName(f"{part!r} is not safe as a folder name in the mirror")
        except UnsafeFileName as exc:
            problems.append(Problem(lock_label, None, f"azureCli.extensions.{ext.name}", str(exc)))
            continue
        items.append(
            MirrorItem(
                tool=ext.name,
                version=pinned.version,
                arch="any",
                upstream_url=pinned.url,
                path=path,
                sha256=pinned.sha256,
                checksum_upstream_url=INDEX_URL,
                checksum_path=MIRROR_INDEX,
                checksum_format="azext-index",
                order_upstream_url=None,
                order_path=None,
            )
        )
    image = load_base_images().image(spec.base_image)
    for arch, pin in sorted(lock.base_images.get(spec.base_image, {}).items() if base_images else ()):
        if image is None or pin.sha256 is None:
            continue  # unconfirmed: `lock` pins it first (a SHA-512-only publisher cannot be checked otherwise)
        try:
            items.append(
                MirrorItem(
                    tool=spec.base_image,
                    version=pin.release,
                    arch=arch,
                    upstream_url=pin.url,
                    path=base_image_mirror_path(spec.base_image, pin.release, arch, pin.url),
                    sha256=pin.sha256,
                    checksum_upstream_url=pin.checksum_url,
                    checksum_path=base_image_mirror_path(spec.base_image, pin.release, arch, pin.checksum_url),
                    checksum_format=image.checksum.format,
                    order_upstream_url=None,
                    order_path=None,
                )
            )
        except UnsafeFileName as exc:
            problems.append(Problem(lock_label, None, f"baseImages.{spec.base_image}.{arch}.url", str(exc)))
    if problems:
        raise SpecError(problems)
    return items
