"""Local stand-ins for Azure used by the test suite: an ARM emulator (HTTPS, in memory) and Azurite.

See tests/emulator/README.md for what is emulated and how tests and the product subprocess reach it.
"""

from .app import ArmEmulator, EmulatorConfig
from .azurite import Azurite, AzuriteBlobs
from .credentials import FakeJwtCredential, make_jwt
from .plugin import AzureEnv, product_env
from .tls import TestCA

__all__ = [
    "ArmEmulator",
    "AzureEnv",
    "Azurite",
    "AzuriteBlobs",
    "EmulatorConfig",
    "FakeJwtCredential",
    "TestCA",
    "make_jwt",
    "product_env",
]
