"""The aks-jumpbox command line: parse, call the core, present.

Commands load lazily, so `--help` and offline commands never import what they do not use
(the Azure SDK above all).
"""

from __future__ import annotations

import importlib
import os
import sys

import click

# name -> (module under aks_jumpbox.cli.commands, one-line help shown by --help)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("init", "Write the default jumpbox.yaml (and its lock) for editing."),
    "schema": ("schema", "Print the JSON Schema of jumpbox.yaml, for editor completion (offline)."),
    "plan": ("plan", "Render scripts, ARM templates and the network contract (offline)."),
    "try": ("try_", "Build the image in a local QEMU VM as Image Builder would, and check it from outside."),
    "mirror": ("mirror", "Fill a network-local artifact mirror from the lock, verifying every digest."),
    "lock": ("lock", "Resolve versions, URLs and SHA-256 digests into jumpbox.lock.json (online)."),
    "check": ("check", "Preflight: prove network, region, providers and permissions before a build."),
    "snapshot": ("snapshot", "Write what `check` reads from Azure to a folder of ARM JSON documents."),
    "deploy": ("deploy", "Create or update the plan's Azure resources; --what-if shows the changes."),
    "build": ("build", "Deploy, run Image Builder and watch the build to its result."),
    "status": ("status", "Show the image template's last build and its image."),
    "watch": ("watch", "Re-attach to a running build and follow it to the end."),
    "cancel": ("cancel", "Cancel the running build."),
    "logs": ("logs", "Fetch the build logs and name the failing step."),
    "versions": ("versions", "List the gallery image versions: state, regions, canary or latest, content hash."),
    "promote": ("promote", "Make a validated canary gallery version the latest."),
    "cleanup": ("cleanup", "Delete role assignments, templates, identity and custom roles (never images)."),
    "outdated": ("outdated", "Compare every pin with its newest upstream release; flag deprecations (online)."),
    "report": ("report", "Write the image's CycloneDX SBOM and software report (offline)."),
    "ci": ("ci", "Write a scheduled rebuild pipeline (GitHub Actions, Azure DevOps) with OIDC sign-in."),
    "diff": ("diff", "Compare two software reports: tools and packages added, removed, changed."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module = importlib.import_module(f"aks_jumpbox.cli.commands.{COMMANDS[name][0]}")
        return module.command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            import difflib

            from aks_jumpbox.cli.present import printable

            close = difflib.get_close_matches(name, sorted(COMMANDS), n=3, cutoff=0.6)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            ctx.fail(f"No such command '{printable(name)}'.{hint} `aks-jumpbox --help` lists the commands.")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _epilog() -> str:
    from aks_jumpbox.cli.present import EXIT_CODES

    # \b keeps click from re-wrapping the list into one paragraph.
    return "\b\nExit codes:\n" + "\n".join(f"  {code:>3}  {meaning}" for code, meaning in EXIT_CODES)


EPILOG = _epilog()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.version_option(package_name="aks-jumpbox", prog_name="aks-jumpbox")
def cli() -> None:
    """Build, verify and maintain the VM image of a hardened AKS jump box with Azure VM Image Builder.

    Start with `aks-jumpbox init`, edit jumpbox.yaml, then `aks-jumpbox plan`.
    """
    from aks_jumpbox.cli.present import new_invocation

    new_invocation()


def _never_crash_on_output() -> None:
    # A terminal or pipe whose encoding cannot show a character (PYTHONIOENCODING=ascii, a C locale
    # on an old system) gets an escape instead of a UnicodeEncodeError after the files were written.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a closed or detached stream: nothing to protect
                pass


def _run(argv: list[str] | None) -> int:
    from aks_jumpbox.cli.present import check_debug_var, set_json_output, wants_json

    # Until the command reads its -o (a callback in present.py), errors are JSON when asked for on the line.
    set_json_output(wants_json(sys.argv[1:] if argv is None else list(argv)))
    check_debug_var()
    try:
        # Without standalone mode click returns (not raises) the code of a `raise Exit(n)`.
        rv = cli.main(args=argv, prog_name="aks-jumpbox", standalone_mode=False)
        if isinstance(rv, int):
            return rv
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        return _click_error(exc)
    return 0


def _click_error(exc: click.ClickException) -> int:
    """click's own message (usage line included); with -o json also the error document, under GitHub
    Actions an annotation."""
    import io

    from aks_jumpbox.cli.annotations import defuse
    from aks_jumpbox.cli.present import ErrorReport, printable, show_error

    code = 2 if isinstance(exc, click.UsageError | click.BadParameter) else exc.exit_code
    shown = io.StringIO()
    exc.show(file=shown)
    for line in shown.getvalue().splitlines():
        click.echo(defuse(line), err=True)
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "aks-jumpbox"
    report = ErrorReport(
        code, "usage", printable(exc.format_message()), f"`{where} --help` lists the options.", shown=[]
    )
    show_error(report)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run one command. Whatever it raises becomes one message and an exit code (see EPILOG): the one
    place errors become exit codes."""
    from aks_jumpbox.cli.present import report_error

    _never_crash_on_output()
    try:
        return _run(argv)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from complaining at exit.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 1
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - anything else is reported, never a traceback
        try:
            return report_error(exc)
        except BrokenPipeError:
            return 1


if __name__ == "__main__":
    sys.exit(main())
