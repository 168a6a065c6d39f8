"""Fetch the newest release of many pins at once (the HTTPS adapter, a few in parallel)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from aks_jumpbox.core.catalog import Catalog
from aks_jumpbox.core.releases import Newest, newest_release


def newest_releases(names: list[str], catalog: Catalog, arch: str, feed: str | None) -> dict[str, Newest]:
    from aks_jumpbox.adapters.http import fetch_text

    def fetch(url: str) -> str:
        return fetch_text(url, attempts=3, timeout=30.0, limit=16 << 20)

    with ThreadPoolExecutor(max_workers=4) as pool:
        found = pool.map(lambda n: newest_release(n, catalog, arch, fetch, feed), names)
        return {n.name: n for n in found}


def offline_fix(
    host: str, *, command: str, mirror: str | None = None, feed: str | None = None, source: str | None = None
) -> str:
    """What to do when `host` cannot be reached, for `command` (lock, outdated, mirror sync): the exact
    commands for an offline or air-gapped machine, or which setting names the unreachable mirror."""
    from urllib.parse import urlsplit

    settings = (
        ("mirror.artifacts in jumpbox.yaml", mirror),
        ("--feed (or AKS_JUMPBOX_RELEASE_FEED)", feed),
        ("--from", source),
    )
    for setting, url in settings:
        if url and (urlsplit(url).hostname or "").lower() == host.lower():
            return f"{host} is the host {setting} names: check that URL, its DNS name and any proxy, then re-run."
    feed_hint = (
        "read release metadata from a mirror of it: `aks-jumpbox {command} --feed https://FEED` "
        "(https://HOST/PATH is read from https://FEED/HOST/PATH; or set AKS_JUMPBOX_RELEASE_FEED)"
    )
    mirror_hint = (
        "set mirror.artifacts in jumpbox.yaml to your artifact mirror's URL, filled on a connected machine with "
        "`aks-jumpbox mirror sync --to DIR` (or `mirror sync --from DIR --to DIR2` from a copied folder)"
    )
    if command == "outdated":
        return f"This machine seems offline. To work offline, {feed_hint.format(command=command)}."
    if command == "mirror sync":
        return (
            "This machine seems offline. Copy the artifacts in by other means and run "
            "`aks-jumpbox mirror sync --from DIR --to MIRROR`, or give another mirror: `--from https://MIRROR`."
        )
    return (
        f"This machine seems offline. To lock offline, {mirror_hint}, then re-run `aks-jumpbox lock`; "
        f"with --upgrade, also {feed_hint.format(command=command)}."
    )
