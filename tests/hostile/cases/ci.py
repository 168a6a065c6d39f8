"""`aks-jumpbox ci`: option values that end up in a pipeline's shell steps (ci-workflow class)."""

from __future__ import annotations

from tests.hostile.case import Case


def _copy_spec_to(name: str):
    def prepare(ws) -> None:
        (ws.work / name).write_bytes((ws.work / "jumpbox.yaml").read_bytes())

    return prepare


def ci(
    id: str,
    kind: str,
    expect: str,
    mentions: tuple[str, ...],
    extra: tuple[str, ...],
    payload: str | None = None,
    **kw,
) -> Case:
    return Case(
        id,
        "ci-workflow",
        expect,
        mentions,
        args=("ci", kind, *extra, "--out", "wf.yml"),
        writes=("{work}/wf.yml",),
        verify="ci",
        payload=payload,
        **kw,
    )


def _ci_cases() -> list[Case]:
    install = "x; rm -rf /"
    path = "a b$(id).yaml"
    macro = "x$(System.AccessToken).yaml"
    expression = "${{ secrets.GITHUB_TOKEN }}.yaml"
    return [
        ci("ci-github-baseline", "github", "inert", (), ()),
        ci("ci-azure-devops-baseline", "azure-devops", "inert", (), ()),
        ci(
            "ci-github-install-injection",
            "github",
            "either",
            ("--install",),
            ("--install", install),
            install,
            why="was pasted unquoted into `run:`; quoting it or refusing it both hold",
        ),
        ci(
            "ci-azure-devops-install-injection",
            "azure-devops",
            "either",
            ("--install",),
            ("--install", install),
            install,
        ),
        ci(
            "ci-github-spec-path-injection",
            "github",
            "either",
            ("a b$(id).yaml",),
            ("-f", path),
            path,
            prepare=_copy_spec_to(path),
        ),
        ci(
            "ci-azure-devops-spec-path-injection",
            "azure-devops",
            "either",
            ("a b$(id).yaml",),
            ("-f", path),
            path,
            prepare=_copy_spec_to(path),
            why="Azure Pipelines expands $(name) macros before the shell runs, quoted or not",
        ),
        ci(
            "ci-azure-devops-spec-path-macro",
            "azure-devops",
            "either",
            (macro,),
            ("-f", macro),
            macro,
            prepare=_copy_spec_to(macro),
            why="$(System.AccessToken) would paste the job's token into the script",
        ),
        ci(
            "ci-github-spec-path-expression",
            "github",
            "either",
            (expression,),
            ("-f", expression),
            expression,
            prepare=_copy_spec_to(expression),
            why="GitHub evaluates ${{ }} in run: before the shell sees it",
        ),
        ci(
            "ci-github-environment-expression",
            "github",
            "either",
            ("--environment",),
            ("--environment", "${{ secrets.GITHUB_TOKEN }}"),
        ),
        ci("ci-github-branch-newline", "github", "either", ("--branch",), ("--branch", "main\nx: y")),
        ci(
            "ci-github-schedule-injection",
            "github",
            "reject",
            ("--schedule",),
            ("--schedule", "17 3 * * 1; id"),
        ),
        ci(
            "ci-github-install-dquote-breakout",
            "github",
            "either",
            ("--install",),
            ("--install", 'x" ; id ; "'),
            'x" ; id ; "',
        ),
        ci(
            "ci-azure-devops-install-cmdsubst",
            "azure-devops",
            "either",
            ("--install",),
            ("--install", "x`id`"),
            "x`id`",
        ),
        ci(
            "ci-github-install-newline",
            "github",
            "either",
            ("--install",),
            ("--install", "aks-jumpbox\nid"),
            "aks-jumpbox\nid",
        ),
    ]


CASES = _ci_cases()
