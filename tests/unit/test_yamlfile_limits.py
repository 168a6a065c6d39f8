"""core/yamlfile.py: alias bombs, deep nesting and recursive aliases are located errors, not hangs,
memory exhaustion or RecursionError."""

from __future__ import annotations

import pytest

from aks_jumpbox.core.errors import SpecError
from aks_jumpbox.core.yamlfile import MAX_DEPTH, MAX_NODES, load_yaml
from tests.conftest import run_cli

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9)
)
MERGES = "m0: &m0 {x: 1, y: 2}\n" + "".join(
    f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: 1}}\n" for i in range(1, 60)
)


def _error(text: str) -> str:
    with pytest.raises(SpecError) as e:
        load_yaml(text, "jumpbox.yaml")
    assert len(e.value.problems) == 1
    return str(e.value.problems[0])


def test_the_billion_laughs_is_refused_where_it_expands():
    message = _error(LAUGHS)
    assert message.startswith("jumpbox.yaml:") and f"expands to more than {MAX_NODES} values" in message
    assert int(message.split(":")[1]) in range(2, 11)  # a line of the bomb


def test_a_merge_key_bomb_is_refused():
    assert f"expands to more than {MAX_NODES} values" in _error(MERGES)


@pytest.mark.parametrize(
    "text",
    [
        "x: " + "[" * 10_000 + "]" * 10_000,
        "x: " + "{a: " * 10_000 + "1" + "}" * 10_000,
        "".join(f"{'  ' * i}k:\n" for i in range(10_000)) + "  " * 10_000 + "v\n",
        "".join(f"{'  ' * i}- \n" for i in range(2_000)),
    ],
    ids=["flow-list", "flow-map", "block-map", "block-list"],
)
def test_deep_nesting_is_refused_with_its_line(text):
    assert f"nested deeper than {MAX_DEPTH} levels" in _error(text)


def test_nesting_through_aliases_counts_too():
    """Each part nests 40 levels; only through the alias does the whole exceed 64."""
    text = "a: &a " + "[" * 40 + "]" * 40 + "\nb: " + "[" * 40 + "*a" + "]" * 40 + "\n"
    assert "jumpbox.yaml:2: nested deeper than 64 levels once aliases are expanded" in _error(text)
    assert load_yaml(text.replace("*a", "x"), "jumpbox.yaml").data["b"]


@pytest.mark.parametrize("text", ["a: &a [1, *a]\n", "a: &a {b: *a}\n"])
def test_a_recursive_alias_is_refused(text):
    assert "jumpbox.yaml:1: an alias refers to a collection that contains it" in _error(text)


@pytest.mark.parametrize("text", ["? [1]\n: 2\n", "{[1]: 2}\n", "? {a: 1}\n: 2\n"])
def test_a_list_or_mapping_as_key_is_a_located_error(text):
    assert "jumpbox.yaml:1: not valid YAML: a key must be a plain value" in _error(text)


def test_a_control_character_names_its_line():
    assert (
        _error("a: 1\nb: \x01\n")
        == "jumpbox.yaml:2: not valid YAML: the control character #x0001 is not allowed; remove it"
    )


def test_ordinary_aliases_and_sizes_still_load():
    doc = load_yaml("tags: &t {team: ops}\nother: *t\nlist: [" + ", ".join(["1"] * 5000) + "]\n", "x.yaml")
    assert doc.data["other"] == {"team": "ops"} and len(doc.data["list"]) == 5000
    assert doc.line_of(("other", "team")) == 1


@pytest.mark.parametrize("text", [LAUGHS, "x: " + "[" * 10_000 + "]" * 10_000], ids=["laughs", "deep"])
def test_the_cli_refuses_them_with_exit_2(tmp_path, text):
    spec = tmp_path / "jumpbox.yaml"
    spec.write_text(text)
    result = run_cli("plan", "-f", str(spec), "--out", str(tmp_path / "out"), timeout=60)  # a hang fails here
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: {spec}:") and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
