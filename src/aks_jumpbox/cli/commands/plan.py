"""`aks-jumpbox plan`: render everything a build needs, offline and deterministically."""

from __future__ import annotations

from pathlib import Path

import click

from aks_jumpbox.cli.context import resolve_plan
from aks_jumpbox.cli.present import console, emit_json, lock_option, output_option, spec_option
from aks_jumpbox.core.errors import UserError


@click.command("plan")
@spec_option
@lock_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="out",
    show_default=True,
    help="Where to write the rendered files.",
)
@click.option("--no-write", is_flag=True, help="Print the plan only; write no files.")
@click.option(
    "--svg",
    is_flag=True,
    help="Also draw network/contract.md's diagram as network/contract.svg (offline; needs the `svg` extra: "
    "pip install 'aks-jumpbox[svg]').",
)
@output_option
def command(spec_path: str | None, lock_path: str | None, out_dir: str, no_write: bool, svg: bool, output: str) -> None:
    """Render provision.sh, validate.sh, ARM templates and the network contract.

    Offline and deterministic: the same spec and lock give byte-identical files.
    """
    from aks_jumpbox.render.output import plan_document, render_files, write_files

    if not no_write and not out_dir.strip():  # e.g. `--out "$OUT"` with OUT unset: not silently the current folder
        raise UserError("--out is empty.", fix="Name a folder, e.g. --out out.")
    if svg:
        _need_svg()
    inputs, plan = resolve_plan(spec_path, lock_path)
    files = render_files(plan)
    if svg:
        from aks_jumpbox.render.diagram import network_diagram
        from aks_jumpbox.render.diagram import svg as draw

        files["network/contract.svg"] = draw(network_diagram(plan))
    if not no_write:
        write_files(files, Path(out_dir))
    if output == "json":
        emit_json(plan_document(plan))
        return
    _summary(plan, inputs.spec_label, inputs.lock_label, None if no_write else Path(out_dir), files)


def _need_svg() -> None:
    import importlib.util

    if importlib.util.find_spec("mermaidx") is None:
        raise UserError(
            "--svg: the optional SVG renderer (the mermaidx package) is not installed.",
            fix="Install the extra (uv tool install '.[svg]', or pip install 'aks-jumpbox[svg]'), or drop --svg: "
            "network/contract.md holds the diagram as Mermaid, which GitHub, Azure DevOps and VS Code draw.",
        )


def _summary(plan, spec_label: str, lock_label: str, out: Path | None, files: dict[str, str]) -> None:
    from rich.table import Table

    from aks_jumpbox.cli.present import esc

    con = console()
    spec = plan.spec
    con.print(f"[bold]aks-jumpbox plan[/] {plan.hash[:12]}  ({esc(spec_label)}, {esc(lock_label)})")
    con.print(
        f"  image     {esc(plan.names.image)} ({esc(spec.base_image)}, {esc(spec.architecture)}) -> "
        f"{esc(plan.image_id)}"
    )
    con.print(
        f"  template  {esc(plan.names.template)} in {esc(spec.build.resource_group)} ({esc(spec.build.location)})"
    )
    if plan.gallery is not None:
        g = plan.gallery
        regions = ", ".join(f"{n} x{c}" for n, c, _ in g.target_regions)
        con.print(
            f"  gallery   version {esc(g.version)} ({esc(g.version_source)}) -> "
            f"{esc(g.image_definition_id)} "
            f"{esc(f'[{regions}]')}" + (", canary (excluded from latest)" if g.exclude_from_latest else "")
        )
    con.print(
        f"  build     {esc(spec.topology)} topology in {esc(spec.build.subnet.vnet)}/{esc(spec.build.subnet.subnet)}"
    )

    # Types, names and IDs are folded, never cut: a reader copies them (at 80 columns a cut one is useless).
    resources = Table(title="Azure resources (in order)", title_justify="left", box=None, pad_edge=False)
    for col in ("#", "type", "name", "scope"):
        resources.add_column(col, overflow="fold")
    for i, r in enumerate(plan.resources, 1):
        resources.add_row(
            str(i), esc(r.type), esc(r.name), esc(r.scope if r.level != "resourceGroup" else r.resource_group or "")
        )
    con.print(resources)

    tools = Table(title="Tools", title_justify="left", box=None, pad_edge=False)
    for col in ("tool", "version", "verified by", "from"):
        tools.add_column(col, overflow="fold")
    tools.add_row(
        "azure-cli",
        esc(plan.azure_cli.version),
        "apt signature (key pinned by fingerprint)",
        esc(plan.azure_cli.repo_url),
    )
    for a in plan.artifacts:
        verified = f"sha256 {esc(a.sha256[:12])}…" if a.sha256 else "upstream checksum file at build time"
        tools.add_row(esc(a.name), esc(a.version), verified, esc(a.url))
    con.print(tools)

    net = plan.network
    con.print(f"[bold]Network[/] {len(net.flows)} NSG flows, {len(net.fqdns)} egress FQDNs (see network/contract.md)")
    if out is not None:
        from aks_jumpbox.render.network import deploy_commands

        # With this spec's names, unwrapped so each is copied whole; contract.md also has the az alternative.
        con.print(
            "  deploy: spoke (NSGs on the subnets), then hub "
            "(set HUB_SUBSCRIPTION, HUB_RESOURCE_GROUP, FIREWALL_POLICY)"
        )
        for line in deploy_commands(plan, str(out)):
            if not line.startswith("#"):
                con.print(f"  {esc(line)}", soft_wrap=True)
    for w in plan.warnings:
        con.print(f"[yellow]warning:[/] {esc(w)}")
    if out is not None:
        con.print(f"wrote {len(files)} files to {esc(out)}/: " + esc(", ".join(sorted(files))))
    con.print(_next_step(spec_label))


def _next_step(spec_label: str) -> str:
    """What a person does after a plan: make the spec theirs, or prove the network and build."""
    if spec_label.startswith("<embedded"):
        return "next: `aks-jumpbox init`, then edit jumpbox.yaml (plan reads it from then on)"
    return "next: `aks-jumpbox check` (network, roles, providers), then `aks-jumpbox build`"
