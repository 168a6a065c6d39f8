"""`aks-jumpbox schema`: print the JSON Schema of jumpbox.yaml, for editors."""

from __future__ import annotations

import json

import click


@click.command("schema")
def command() -> None:
    """Print the JSON Schema of jumpbox.yaml (from the spec's models) for editor completion and checks.

    Save it beside the spec and point the YAML language server at it with a first line in jumpbox.yaml:

        aks-jumpbox schema > jumpbox.schema.json
        # yaml-language-server: $schema=./jumpbox.schema.json
    """
    from aks_jumpbox.core.catalog import load_catalog
    from aks_jumpbox.core.specschema import spec_json_schema

    click.echo(json.dumps(spec_json_schema(load_catalog()), indent=2))
