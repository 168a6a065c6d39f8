"""Where the emulator's storage accounts keep their blobs.

``MemoryBlobs`` keeps them in the emulator (its endpoint is a closed local port, so a client that tries
to reach it fails fast). ``AzuriteBlobs`` (azurite.py) puts them in a running Azurite. Both hand out
staging account names from a pool and answer listKeys with the account's key.
"""

from __future__ import annotations

import base64
import os
import uuid


def random_account_name() -> str:
    # AIB's staging accounts have 24 random lower-case letters and digits.
    return uuid.uuid4().hex[:24]


class MemoryBlobs:
    def __init__(self) -> None:
        self.data: dict[tuple[str, str, str], bytes] = {}
        self.keys: dict[str, str] = {}

    def allocate_account(self) -> str:
        name = random_account_name()
        self.keys[name] = base64.b64encode(os.urandom(64)).decode()
        return name

    def endpoint(self, account: str) -> str:
        return f"https://127.0.0.1:9/{account}/"

    def account_key(self, account: str) -> str | None:
        return self.keys.get(account)

    def put(self, account: str, container: str, blob: str, data: bytes) -> None:
        self.data[(account, container, blob)] = data

    def get(self, account: str, container: str, blob: str) -> bytes | None:
        return self.data.get((account, container, blob))

    def forget(self, account: str) -> None:
        for key in [k for k in self.data if k[0] == account]:
            del self.data[key]

    def reset(self) -> None:
        self.data.clear()
