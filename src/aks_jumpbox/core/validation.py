"""One validation style for every input file: pydantic models, each error a located Problem.

The spec (YAML), the catalog (YAML) and the lock (JSON) are validated by pydantic models; a
ValidationError becomes one Problem per error: file, line (when known), the field's path in the
document and what to change. Validators raise ValueError with a sentence the user can act on, or
`invalid(...)` to place an error at a sub-field (pydantic prefixes the enclosing path).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from aks_jumpbox.core.errors import Problem, SpecError
from aks_jumpbox.core.yamlfile import LocatedDocument
from aks_jumpbox.core.yamlfile import Path as Loc


def field_path(path: Loc, *, brackets: bool = False) -> str:
    """a.b.0 (the spec's style) or a.b[0] (the lock's, as JSON tools write it)."""
    out = ""
    for part in path:
        if brackets and isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _document_path(loc: Loc, data: Any, etype: str) -> tuple[list[str | int], Any]:
    """The part of pydantic's loc that exists in the document (it appends validator branch names),
    and the document's value there."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            path.append(part)
            node = node[part]
        elif etype == "extra_forbidden" and part == loc[-1]:
            path.append(part)
        else:
            break
    return path, node


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """' did you mean 'x'?' (with its leading space) for the closest choice, else ''."""
    close = difflib.get_close_matches(value, [str(c) for c in choices], n=1, cutoff=0.6)
    return f" did you mean {close[0]!r}?" if close else ""


def problem_for(
    error: Any,
    doc: LocatedDocument,
    *,
    unknown: Callable[[str], str],
    missing: str,
    brackets: bool = False,
    exact: bool = False,
    allowed: Callable[[tuple[str | int, ...]], Sequence[str]] | None = None,
) -> Problem:
    """One pydantic error as a Problem; `unknown(parent)` and `missing` word the two generic cases.

    exact: the models mirror the document field for field, so the error's loc is the field's path even
    where the document holds something else (e.g. a list where a mapping with that field belongs).
    allowed(parent path): the keys allowed there, to suggest the closest for an unknown key."""
    # pydantic appends validator kinds, and "[key]" when a mapping's key (the part before it) is wrong.
    loc = tuple(p for p in error["loc"] if p not in ("function-after", "function-before", "[key]"))
    path, node = (list(loc), None) if exact else _document_path(loc, doc.data, error["type"])
    field = field_path(tuple(path), brackets=brackets)
    etype, msg = error["type"], error["msg"]
    if etype == "extra_forbidden":
        parent = field_path(tuple(path[:-1]), brackets=brackets) or "the top level"
        keys = list(allowed(tuple(path[:-1]))) if allowed else []
        if keys:
            hint = did_you_mean(str(path[-1]), keys)
            msg = f"unknown key;{hint} {'rename' if hint else 'remove'} it (allowed under {parent}: {', '.join(keys)})"
        else:
            msg = unknown(parent)
    elif etype == "missing":
        last = loc[-1]
        field = field_path((*path, last), brackets=brackets) if path[-1:] != [last] else field
        msg = missing
    else:
        absent = len(path) == len(loc) - 1 and isinstance(node, dict) and isinstance(loc[-1], str)
        if etype == "value_error" and absent:  # a field absent from the document, e.g. a validated default
            field = field_path((*path, loc[-1]), brackets=brackets)
        msg = msg.removeprefix("Value error, ")
        if "input" in error and etype != "value_error" and not isinstance(error["input"], dict | list):
            msg = f"{msg} (got {error['input']!r})"
        if etype == "literal_error" and isinstance(error.get("input"), str):  # a mistyped choice
            hint = did_you_mean(error["input"], re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected"))))
            msg += f";{hint}" if hint else ""
    return Problem(doc.file, doc.line_of(tuple(path)), field, msg)


def located(exc: ValidationError, doc: LocatedDocument, **words: Any) -> SpecError:
    """Every error of exc, located in doc, once each (see problem_for for the words)."""
    errors = exc.errors(include_url=False)
    allowed = words.get("allowed")
    if allowed is not None:  # `verison:` is one mistake: say "did you mean 'version'?", not also "version is required"
        renamed = set()
        for e in errors:
            if e["type"] == "extra_forbidden" and isinstance(e["loc"][-1], str):
                parent = tuple(e["loc"][:-1])
                close = difflib.get_close_matches(e["loc"][-1], list(allowed(parent)), n=1, cutoff=0.6)
                renamed |= {(*parent, c) for c in close}
        errors = [e for e in errors if not (e["type"] == "missing" and tuple(e["loc"]) in renamed)]
    problems = [problem_for(e, doc, **words) for e in errors]
    return SpecError(list(dict.fromkeys(problems)))


def error(loc: Loc, message: str, value: Any = None) -> InitErrorDetails:
    """An error at loc (below the validator raising it: pydantic prefixes the enclosing path), worded
    exactly as given; raise a list of them with invalid()."""
    return InitErrorDetails(type=PydanticCustomError("value_error", message), loc=loc, input=value)


def invalid(errors: Iterable[InitErrorDetails], title: str = "document") -> ValidationError:
    return ValidationError.from_exception_data(title, list(errors))


def relocated(exc: ValidationError, prefix: Loc) -> list[InitErrorDetails]:
    """exc's errors moved under prefix (for a validator that validates items itself); pydantic's own
    types are kept, so problem_for still words them."""
    out: list[InitErrorDetails] = []
    for e in exc.errors(include_url=False):
        loc = (*prefix, *e["loc"])
        if e["type"] == "value_error":
            out.append(error(loc, e["msg"], e.get("input")))
        else:
            out.append(InitErrorDetails(type=e["type"], loc=loc, input=e.get("input"), ctx=e.get("ctx", {})))
    return out


def json_lines(text: str) -> dict[Loc, int]:
    """The line (1-based) of every key and array item of a JSON text that json.loads accepted."""
    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    decoder = json.JSONDecoder()
    lines: dict[Loc, int] = {}

    def line(pos: int) -> int:
        lo, hi = 0, len(starts)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if starts[mid] <= pos else (lo, mid)
        return lo + 1

    def ws(pos: int) -> int:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        return pos

    def value(pos: int, path: Loc) -> int:
        pos = ws(pos)
        lines.setdefault(path, line(pos))
        if text[pos] == "{":
            pos = ws(pos + 1)
            while text[pos] != "}":
                key, end = decoder.raw_decode(text, pos)
                lines[(*path, key)] = line(pos)
                pos = ws(value(ws(end) + 1, (*path, key)))  # past the ':' and the value
                pos = ws(pos + 1) if text[pos] == "," else pos
            return pos + 1
        if text[pos] == "[":
            pos, index = ws(pos + 1), 0
            while text[pos] != "]":
                lines[(*path, index)] = line(ws(pos))
                pos = ws(value(pos, (*path, index)))
                pos, index = (ws(pos + 1) if text[pos] == "," else pos), index + 1
            return pos + 1
        return decoder.raw_decode(text, pos)[1]

    try:
        value(0, ())
    except (ValueError, IndexError, RecursionError):  # not expected for accepted JSON; lines are a help
        return {}
    return lines
