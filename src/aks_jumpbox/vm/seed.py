"""The first-boot seed: a cloud-init NoCloud data source on an ISO 9660 volume labelled `cidata`.

cloud-init reads `meta-data` and `user-data` from a file system labelled cidata
(https://cloudinit.readthedocs.io/en/latest/reference/datasources/nocloud.html). The user-data creates
the build user the way Packer's azure-arm builder has one (`packer`: not root, passwordless sudo, one
SSH key: the run's fresh ephemeral key), and names the allowed hosts in /etc/hosts. Nothing of this
machine's SSH keys, agent or credentials is in it; only the ephemeral public key.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

BUILD_USER = "packer"
HOSTNAME = "aks-jumpbox-try"


def user_data(public_key: str, hosts: list[str]) -> str:
    doc = {
        "users": [
            {
                "name": BUILD_USER,
                "gecos": "aks-jumpbox try build user",
                "shell": "/bin/bash",
                "sudo": "ALL=(ALL) NOPASSWD:ALL",
                "lock_passwd": True,
                "ssh_authorized_keys": [public_key.strip()],
            }
        ],
        "disable_root": True,
        # The guest's own name (sudo looks it up) and the allowed hosts' guest addresses (network.py).
        "write_files": [
            {
                "path": "/etc/hosts",
                "append": True,
                "content": "".join(h + "\n" for h in [f"127.0.1.1 {HOSTNAME}", *hosts]),
            }
        ],
        # The image's own package updates stay with provision.sh, as on Image Builder's build VM.
        "package_update": False,
        "package_upgrade": False,
    }
    # JSON is YAML: no YAML emitter quirks in what cloud-init parses.
    return "#cloud-config\n" + json.dumps(doc, indent=2) + "\n"


def meta_data(instance_id: str) -> str:
    return json.dumps({"instance-id": instance_id, "local-hostname": HOSTNAME}) + "\n"


def write_seed_iso(path: Path, files: dict[str, str]) -> Path:
    """An ISO 9660 (Joliet and Rock Ridge names) volume `cidata` holding files; written with pycdlib."""
    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, joliet=3, rock_ridge="1.09", vol_ident="cidata")
    for n, (name, text) in enumerate(sorted(files.items())):
        data = text.encode("utf-8")
        iso.add_fp(
            io.BytesIO(data),
            len(data),
            f"/FILE{n};1",
            rr_name=name,
            joliet_path=f"/{name}",
        )
    tmp = path.with_name(path.name + ".tmp")
    iso.write(str(tmp))
    iso.close()
    tmp.replace(path)
    return path
