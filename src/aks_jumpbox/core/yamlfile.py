"""Read YAML while remembering the line of every key, so errors can point at it.

Bounded: YAML aliases let a ten-line file stand for billions of values (the "billion laughs"), and
PyYAML composes nested collections recursively. A document is refused, with the line where the bound
was crossed, when it nests deeper than MAX_DEPTH, when it expands (every alias counted at each use)
to more than MAX_NODES values, or when an alias refers to a collection that contains it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from aks_jumpbox.core.errors import Problem, SpecError

Path = tuple[str | int, ...]

MAX_DEPTH = 64  # a spec nests about six levels
MAX_NODES = 100_000  # a spec has a few hundred values


@dataclass
class LocatedDocument:
    data: Any
    file: str
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int | None:
        """The line of the deepest known prefix of path (1-based), or None."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, which YAML would otherwise silently merge, and nesting
    deeper than MAX_DEPTH (checked while composing, before Python's recursion limit is near)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML's signature
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Bound(
                    f"nested deeper than {MAX_DEPTH} levels; a spec needs far fewer", self.peek_event().start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Bound(Exception):
    """A document past a bound: why, and where (a YAML mark)."""

    def __init__(self, reason: str, mark: yaml.Mark) -> None:
        self.reason, self.mark = reason, mark


def _measure(node: yaml.Node, depth: int, memo: dict[int, tuple[int, int]], active: set[int]) -> tuple[int, int]:
    """(values, depth) of node with every alias expanded; each node is measured once (memo), so a bomb
    costs as much as its text; the recursion stops at MAX_DEPTH."""
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:
        raise _Bound("an alias refers to a collection that contains it (a recursive structure)", node.start_mark)
    if depth > MAX_DEPTH:
        raise _Bound(f"nested deeper than {MAX_DEPTH} levels once aliases are expanded", node.start_mark)
    if isinstance(node, yaml.MappingNode):
        children = [n for pair in node.value for n in pair]
    elif isinstance(node, yaml.SequenceNode):
        children = node.value
    else:
        children = []
    active.add(key)
    size, deepest = 1, 1
    for child in children:
        s, d = _measure(child, depth + 1, memo, active)
        size, deepest = size + s, max(deepest, d + 1)
        if depth + d > MAX_DEPTH:  # e.g. an alias, measured where it was defined, used deeper here
            raise _Bound(f"nested deeper than {MAX_DEPTH} levels once aliases are expanded", node.start_mark)
        if size > MAX_NODES:
            raise _Bound(
                f"expands to more than {MAX_NODES} values (aliases count at every use); "
                "a spec needs far fewer: write the values out instead of using aliases",
                child.start_mark,
            )
    active.discard(key)
    memo[key] = (size, deepest)
    return memo[key]


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain value, not a list or mapping", key_node.start_mark
            ) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key]})", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Dates stay strings: the spec validates them itself, and the lock must round-trip unchanged.
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _record_lines(node: yaml.Node, path: Path, lines: dict[Path, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[path + (key,)] = key_node.start_mark.line + 1
            _record_lines(value_node, path + (key,), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, path + (index,), lines)


def load_yaml(text: str, file: str) -> LocatedDocument:
    """Parse text; a syntax error becomes a located SpecError naming the file and line."""
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is not None:
            _measure(node, 1, {}, set())
        data = loader.construct_document(node) if node is not None else None
    except _Bound as exc:
        raise SpecError([Problem(file, exc.mark.line + 1, "", exc.reason)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        reason = exc.problem or str(exc)
        raise SpecError([Problem(file, line, "", f"not valid YAML: {reason}; fix the syntax at this line")]) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise SpecError(
            [Problem(file, line, "", f"not valid YAML: the control character #x{code:04x} is not allowed; remove it")]
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError([Problem(file, None, "", f"not valid YAML: {exc}")]) from None
    except RecursionError:  # not expected with the bounds above; a traceback would be worse
        raise SpecError(
            [Problem(file, None, "", f"nested too deeply; a spec needs at most {MAX_DEPTH} levels")]
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[Path, int] = {}
    if node is not None:
        _record_lines(node, (), lines)
    return LocatedDocument(data=data, file=file, lines=lines)
