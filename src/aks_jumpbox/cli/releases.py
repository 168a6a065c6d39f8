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
