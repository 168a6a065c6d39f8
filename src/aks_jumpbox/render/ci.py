"""Pipeline definitions that rebuild the image on a schedule (GitHub Actions, Azure DevOps).

Sign-in is OIDC workload identity only: the pipeline holds no secret. The identifiers it needs
(client, tenant, subscription) are repository variables, or the service connection's, never
values written into the file. Pure: text from the spec and the options.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

import yaml

from aks_jumpbox import __version__

# ASCII digits (`\d` takes any script's), a few each: a number is checked against its range below.
_CRON_ITEM = r"(\*|[0-9]{1,4}(-[0-9]{1,4})?)(/[0-9]{1,4})?"
CRON_FIELD = re.compile(rf"{_CRON_ITEM}(,{_CRON_ITEM})*")
CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
# Major-version tags; organizations that pin actions by commit SHA can replace them in place.
ACTIONS = {
    "checkout": "actions/checkout@v4",
    "uv": "astral-sh/setup-uv@v6",
    "login": "azure/login@v2",
    "upload": "actions/upload-artifact@v4",
}
HEADER = (
    "# Written by `aks-jumpbox ci {kind}` ({generator}). Re-run it after changing the options;\n"
    "# edit freely otherwise. Sign-in is OIDC workload identity: this file holds no secret.\n"
)


def cron_problem(cron: str) -> str | None:
    """Why cron is not a 5-field schedule (minute hour day month weekday), or None."""
    fields = cron.split()
    if len(fields) != 5:
        return f"{cron!r} must have 5 fields: minute hour day-of-month month day-of-week"
    for text, (low, high) in zip(fields, CRON_RANGES, strict=True):
        if not CRON_FIELD.fullmatch(text):
            return f"{text!r} in {cron!r} is not a number, range, list, step or *"
        for n in map(int, re.findall(r"[0-9]+", re.sub(r"/[0-9]+", "", text))):
            if not low <= n <= high:
                return f"{n} in {cron!r} is outside {low}-{high}"
    return None


# The values a pipeline is written from are pasted into YAML (dumped, so quoted as YAML needs), into
# `run:`/`script:` shell lines (quoted as shell words below) and into places that evaluate text: GitHub
# `${{ }}` expressions, Azure Pipelines `$( )` macros, path-filter globs. So each is first held to a
# character set inert in all of them; these are the tool's own conservative rules.
_SEGMENT = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]*")
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"  # a Python package name (PEP 508)
_VERSION_CLAUSE = r"(?:===|==|!=|<=|>=|~=|<|>)[A-Za-z0-9.*+!_-]+"
_URL = r"(?:git\+https|git\+ssh|https)://[A-Za-z0-9._~:/@#%+=-]+"
# A subset of PEP 508 without markers or spaces: name[extras] with version clauses, name @ URL, a
# bare VCS/HTTPS URL, or a wheel/sdist path in the repository. (No parser library is used: the subset
# is deliberately narrower than the full grammar, whose markers hold quotes and `;`.)
_REQUIREMENT = re.compile(
    rf"{_NAME}(?:\[{_NAME}(?:,{_NAME})*\])?(?:{_VERSION_CLAUSE}(?:,{_VERSION_CLAUSE})*| ?@ ?{_URL})?"
    rf"|{_URL}|(?:[A-Za-z0-9_.][A-Za-z0-9_.+-]*/)*[A-Za-z0-9_.][A-Za-z0-9_.+-]*\.(?:whl|tar\.gz|zip)"
)
_BRANCH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*")
_ENVIRONMENT = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9 _.()-]*[A-Za-z0-9_.)])?")


def spec_file_problem(path: str) -> str | None:
    """Why path cannot name the spec in a pipeline (a plain relative path from the repository root)."""
    if not path or len(path) > 255:
        return "must be a path of 1-255 characters"
    if path.startswith("/"):
        return "must be relative to the repository root, not absolute"
    bad = sorted({ch for ch in path if not (ch.isascii() and (ch.isalnum() or ch in "._-/"))})
    if bad:
        return f"has {''.join(bad)!r}: only letters, digits, '.', '_', '-' and '/' are written into a pipeline"
    for segment in path.split("/"):
        if segment in ("", ".", "..") or not _SEGMENT.fullmatch(segment):
            return f"has the part {segment!r}: each part must be a file or folder name (no '..', no leading '-')"
    return None


def option_problems(o: CiOptions) -> list[tuple[str, str]]:
    """(option, why) for every value that cannot be written safely into a pipeline."""
    problems = []
    if problem := spec_file_problem(o.spec_file):
        problems.append(("--file", problem))
    if len(o.install) > 500 or not _REQUIREMENT.fullmatch(o.install) or ".." in o.install.split("/"):
        problems.append(
            (
                "--install",
                "is not a package requirement such as aks-jumpbox==1.2.0, "
                "aks-jumpbox @ git+https://host/repo@v1.2.0 or "
                "dist/aks_jumpbox-1.2.0.whl",
            )
        )
    if len(o.branch) > 200 or not _BRANCH.fullmatch(o.branch) or ".." in o.branch or o.branch.endswith(("/", ".lock")):
        problems.append(("--branch", "is not a branch name (letters, digits, '.', '_', '-', '/')"))
    names = (("--environment", o.promote_environment), ("--service-connection", o.service_connection))
    for option, value in names:
        if len(value) > 100 or not _ENVIRONMENT.fullmatch(value):
            problems.append((option, "must be a name of letters, digits, spaces, '.', '_', '-' and '()'"))
    if problem := cron_problem(o.schedule):
        problems.append(("--schedule", problem))
    return problems


def _check(o: CiOptions) -> None:
    if problems := option_problems(o):
        raise ValueError("; ".join(f"{option} {value}" for option, value in problems))


def shell_word(value: str) -> str:
    """value as one shell word. Checked values hold none of $ ` " \\, so double quotes suffice and keep
    the familiar look; a `!` (as in !=) gets single quotes, where no shell expands anything."""
    if "!" in value or any(ch in value for ch in '$`"\\'):
        return shlex.quote(value)
    return f'"{value}"'


@dataclass(frozen=True)
class CiOptions:
    spec_file: str = "jumpbox.yaml"  # relative to the repository root
    schedule: str = "17 3 * * 1"  # weekly, Monday 03:17 UTC (off the top of the hour, as GitHub asks)
    branch: str = "main"
    # A pip requirement: by default the wheel `uv build` makes of this version, committed to the repository
    # (checked out before the install). Not `aks-jumpbox==X` from a public index: the tool is not published
    # there, and whoever registered the name would run in the pipeline. A git URL or an internal index works too.
    install: str = f"dist/aks_jumpbox-{__version__}-py3-none-any.whl"
    gallery: bool = False  # canary -> promote jobs (distribute.gallery in the spec)
    promote_environment: str = "production"  # a protected environment: promotion waits for approval
    service_connection: str = "aks-jumpbox"  # Azure DevOps: a workload identity federation connection


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line scripts; keys in the order written; no anchors (repeated steps
    are written out, since not every pipeline engine reads YAML aliases)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _dump(doc: dict[str, Any], kind: str) -> str:
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=120, default_flow_style=False)
    return HEADER.format(kind=kind, generator=f"aks-jumpbox {__version__}") + body


def _cmd(o: CiOptions, *args: str) -> str:
    return " ".join(["aks-jumpbox", *args, "-f", shlex.quote(o.spec_file)])


def _version_script(o: CiOptions) -> str:
    # The gallery version is a pure function of spec + lock: the plan names it.
    return (
        f"version=$(aks-jumpbox plan --no-write -o json -f {shlex.quote(o.spec_file)} "
        "| jq -r '.gallery.imageVersion')\n"
        'echo "version=$version" >> "$GITHUB_OUTPUT"\n'
    )


def github_workflow(o: CiOptions) -> str:
    _check(o)
    login = {
        "name": "Sign in to Azure (OIDC)",
        "uses": ACTIONS["login"],
        "with": {
            "client-id": "${{ vars.AZURE_CLIENT_ID }}",
            "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
            "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}",
        },
    }
    setup = [
        {"uses": ACTIONS["checkout"]},
        {"uses": ACTIONS["uv"]},
        {"name": "Install aks-jumpbox", "run": f"uv tool install {shell_word(o.install)}"},
    ]
    oidc = {"id-token": "write", "contents": "read"}
    jobs: dict[str, Any] = {
        "check": {
            "runs-on": "ubuntu-latest",
            "permissions": oidc,
            "steps": [
                *setup,
                login,
                {"name": "Plan (offline, deterministic)", "run": _cmd(o, "plan", "--out", "out")},
                {"name": "Preflight: network, region, RBAC", "run": _cmd(o, "check")},
            ],
        },
        "build": {
            "needs": "check",
            "runs-on": "ubuntu-latest",
            "permissions": oidc,
            "timeout-minutes": 300,
            "steps": [
                *setup,
                login,
                {"name": "Build the image", "run": _cmd(o, "build", "--skip-check")},
                # Logs are evidence, not a gate: when the build failed before the template ever
                # ran (deploy or preflight), `logs` has nothing to fetch and exits 1; the build
                # step's failure is what fails the job.
                {
                    "name": "Fetch the build logs",
                    "if": "always()",
                    "continue-on-error": True,
                    "run": _cmd(o, "logs", "--save", "build-logs"),
                },
                {
                    "name": "SBOM and software report",
                    "run": _cmd(o, "report", "--log", "build-logs/customization.log", "--out", "report"),
                },
                {
                    "name": "Upload SBOM, report and logs",
                    "if": "always()",
                    "uses": ACTIONS["upload"],
                    "with": {
                        "name": "aks-jumpbox-image",
                        "if-no-files-found": "warn",
                        "path": "report/sbom.cdx.json\nreport/software-report.md\n"
                        "report/software-report.json\nbuild-logs/\n",
                    },
                },
            ],
        },
    }
    if o.gallery:
        jobs["build"]["outputs"] = {"version": "${{ steps.version.outputs.version }}"}
        jobs["build"]["steps"].insert(len(setup), {"name": "Image version", "id": "version", "run": _version_script(o)})
        jobs["canary"] = {
            "needs": "build",
            "runs-on": "ubuntu-latest",
            "permissions": oidc,
            "steps": [
                *setup,
                login,
                {
                    "name": "The canary is in the gallery, excluded from latest",
                    "run": _cmd(o, "versions", "-o", "json")
                    + " | jq -e --arg v \"${{ needs.build.outputs.version }}\" '.versions[] | select(.name == $v)'",
                },
            ],
        }
        jobs["promote"] = {
            "needs": ["build", "canary"],
            "runs-on": "ubuntu-latest",
            "permissions": oidc,
            "environment": o.promote_environment,
            "steps": [
                *setup,
                login,
                {
                    "name": "Promote the canary to latest",
                    # --yes: the protected environment's approval is the confirmation.
                    "run": _cmd(o, "promote", "${{ needs.build.outputs.version }}", "--yes"),
                },
            ],
        }
    jobs["outdated"] = {
        "runs-on": "ubuntu-latest",
        "permissions": {"contents": "read"},
        "continue-on-error": True,
        "steps": [
            *setup,
            {"name": "Pins behind upstream, deprecations, review dates", "run": _cmd(o, "outdated", "--exit-code")},
        ],
    }
    doc = {
        "name": "aks-jumpbox image",
        "on": {
            "schedule": [{"cron": o.schedule}],
            "workflow_dispatch": {},
            "push": {"branches": [o.branch], "paths": [o.spec_file, _lock_beside(o.spec_file)]},
        },
        "permissions": {"contents": "read"},
        # One build at a time; a running build is never cancelled by a newer trigger.
        "concurrency": {"group": "aks-jumpbox-image", "cancel-in-progress": False},
        "jobs": jobs,
    }
    return _dump(doc, "github")


def _lock_beside(spec_file: str) -> str:
    head, _, _ = spec_file.rpartition("/")
    return f"{head}/jumpbox.lock.json" if head else "jumpbox.lock.json"


def azure_devops_pipeline(o: CiOptions) -> str:
    _check(o)

    def az(name: str, script: str, **extra: Any) -> dict[str, Any]:
        return {
            "task": "AzureCLI@2",
            "displayName": name,
            **extra,
            "inputs": {
                "azureSubscription": "$(serviceConnection)",
                "scriptType": "bash",
                "scriptLocation": "inlineScript",
                "inlineScript": script,
            },
        }

    install = {"script": f"pipx install {shell_word(o.install)}", "displayName": "Install aks-jumpbox"}
    steps = [
        {"checkout": "self"},
        install,
        {"script": _cmd(o, "plan", "--out", "out"), "displayName": "Plan (offline, deterministic)"},
        az("Preflight: network, region, RBAC", _cmd(o, "check")),
        az("Build the image", _cmd(o, "build", "--skip-check")),
        # Evidence, not a gate (see github_workflow): a template that never ran has no logs.
        az("Fetch the build logs", _cmd(o, "logs", "--save", "build-logs"), condition="always()", continueOnError=True),
        {
            "script": _cmd(o, "report", "--log", "build-logs/customization.log", "--out", "report"),
            "displayName": "SBOM and software report",
        },
        {
            "task": "PublishPipelineArtifact@1",
            "displayName": "Publish SBOM and report",
            "condition": "always()",
            "inputs": {"targetPath": "report", "artifact": "aks-jumpbox-image"},
        },
    ]
    stages = [{"stage": "build", "jobs": [{"job": "build", "timeoutInMinutes": 300, "steps": steps}]}]
    if o.gallery:
        version = (
            "set -eo pipefail  # a missing version stops before promote\n"
            f"version=$(aks-jumpbox plan --no-write -o json -f {shlex.quote(o.spec_file)} "
            "| jq -r '.gallery.imageVersion')\n"
        )
        stages.append(
            {
                "stage": "promote",
                "dependsOn": "build",
                "jobs": [
                    {
                        "deployment": "promote",
                        "environment": o.promote_environment,
                        "strategy": {
                            "runOnce": {
                                "deploy": {
                                    "steps": [
                                        {"checkout": "self"},
                                        install,
                                        az(
                                            "Promote the canary to latest",
                                            version + _cmd(o, "versions", "-o", "json") + ' | jq -e --arg v "$version" '
                                            "'.versions[] | select(.name == $v)'\n"
                                            + _cmd(o, "promote", '"$version"', "--yes"),
                                        ),
                                    ]
                                }
                            }
                        },
                    }
                ],
            }
        )
    doc = {
        "trigger": {
            "branches": {"include": [o.branch]},
            "paths": {"include": [o.spec_file, _lock_beside(o.spec_file)]},
        },
        "pr": "none",
        "schedules": [
            {
                "cron": o.schedule,
                "displayName": "scheduled rebuild",
                "branches": {"include": [o.branch]},
                "always": True,
            }
        ],
        "pool": {"vmImage": "ubuntu-latest"},
        "variables": [{"name": "serviceConnection", "value": o.service_connection}],
        "stages": stages,
    }
    return _dump(doc, "azure-devops")
