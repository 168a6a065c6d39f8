"""ARM template strings: a literal is written so that ARM reads back exactly that literal.

ARM evaluates every string, property values *and* property names, that starts with `[` and ends
with `]` as an expression; a literal of that shape is written with a second leading bracket (`[[`),
which ARM removes. A string that does not end with `]` is never an expression and must not be
escaped. https://learn.microsoft.com/azure/azure-resource-manager/templates/template-expressions#escape-characters

`deploy` PUTs resource bodies through the SDK, where nothing is evaluated: there the literal is
sent as it is. The rendered templates run every plain string through `arm_literal` (one walk over
the whole document, see `escape_template`), so both paths store the same value. Pure.
"""

from __future__ import annotations

from typing import Any


class Expression(str):
    """An ARM expression the renderer writes on purpose (`[reference(...)]`); never escaped."""


def is_expression(s: str) -> bool:
    """What ARM evaluates: `[...]`, unless escaped as `[[...]`."""
    return len(s) >= 2 and s[0] == "[" and s[-1] == "]" and s[1] != "["


def arm_literal(s: str) -> str:
    """The template string that ARM reads as the literal s."""
    return "[" + s if s[:1] == "[" and s[-1:] == "]" else s


def arm_value(s: str) -> str:
    """What ARM makes of a template string that is not an expression (the inverse of arm_literal)."""
    return s[1:] if s[:2] == "[[" and s[-1:] == "]" else s


def quote_arg(s: str) -> str:
    """s as a string literal inside an expression: in single quotes, a quote doubled."""
    return "'" + s.replace("'", "''") + "'"


def escape_template(value: Any) -> Any:
    """value with every plain string (keys included) made an ARM literal; Expressions kept as they are.

    Call it once per rendered document: escaping is not idempotent (`[[x]` would become `[[[x]`).
    """
    if isinstance(value, Expression):
        return str(value)
    if isinstance(value, str):
        return arm_literal(value)
    if isinstance(value, dict):
        return {escape_template(k): escape_template(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [escape_template(v) for v in value]
    return value
