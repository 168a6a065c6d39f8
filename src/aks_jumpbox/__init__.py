"""aks-jumpbox: the AKS jump box image as code."""

__version__ = "0.1.0"
