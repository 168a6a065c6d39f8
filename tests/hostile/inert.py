"""Is a hostile value inert in what the tool rendered? Checks on {relative path: text} of a plan's output.

Shared by the corpus (files read back from out/) and the property tests (files rendered in memory).
Each check returns a list of problems (empty: inert). The reference shapes (variable names, deb822
fields, the ARM expressions the tool writes itself) come from `Baseline`, built from benign plans.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aks_jumpbox.core import scripts
from tests.support.rendered import Deb822Error, apt_sources, arm_strings, image_manifest, parse_deb822

VAR_NAME = re.compile(r"([A-Z_][A-Z0-9_]*)=")
SAFE_BARE = re.compile(r"[A-Za-z0-9@%+=:,./_-]+")  # what shlex.quote leaves unquoted
# ARM evaluates a string that starts with "[" and ends with "]"; "[[" escapes it (and only then).
# https://learn.microsoft.com/azure/azure-resource-manager/templates/template-expressions#escape-characters
ARM_LITERAL = re.compile(r"'(?:[^']|'')*'")
TOOL_FUNCTIONS = ("[reference(", "[resourceId(", "[format(", "[parameters(", "[union(")
SAFE_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
EGRESS_LINE = re.compile(r"^[A-Za-z0-9*.:\-]+$")
# The tool tables' columns, as the renderer names them (the scripts read rows into these names).
COLUMNS = {
    "provision.sh": ("ARTIFACTS", scripts.PROVISION_COLUMNS),
    "validate.sh": ("TOOLS", scripts.VALIDATE_COLUMNS),
}
HEREDOC = re.compile(r"^cat > /tmp/aks-jumpbox-(?P<script>\S+) <<'(?P<eof>\w+)'$")


class NotInert(Exception):
    pass


def _template(name: str) -> str:
    """The script as rendered with no variables: the header, shared helpers and columns filled in, and
    the #@@CONFIG@@ marker left where the variable block goes (the logic every plan must carry unchanged)."""
    marker = "AKS_JUMPBOX_HOSTILE_MARKER"
    filled = scripts._fill(scripts._source(name), {marker: ""}, COLUMNS[name][1])
    assert filled.count(f"{marker}=''") == 1
    return filled.replace(f"{marker}=''", "#@@CONFIG@@")


# ---- the variable block of provision.sh / validate.sh


def variable_block(text: str, script: str) -> str:
    """The NAME='...' lines between the script's header and its logic (the logic must be untouched)."""
    head, tail = _template(script).split("#@@CONFIG@@", 1)
    start = 0
    for _ in range(head.count("\n")):
        start = text.index("\n", start) + 1
    if not text.endswith(tail):
        raise NotInert(f"{script}: the logic after the variable block differs from the template")
    got_head, want_head = text[:start].split("\n"), head.split("\n")
    differ = [w for g, w in zip(got_head, want_head, strict=True) if g != w and w != "#@@HEADER@@"]
    if differ:
        raise NotInert(f"{script}: the script head differs from the template at {differ[0]!r}")
    return text[start : len(text) - len(tail)]


def parse_block(block: str, script: str) -> list[tuple[str, str]]:
    """NAME=value pairs; every value single-quoted (or a word shlex.quote leaves bare), nothing else."""
    pairs, i = [], 0
    while i < len(block):
        m = VAR_NAME.match(block, i)
        if not m:
            raise NotInert(f"{script}: variable block: expected NAME= at {block[i : i + 60]!r}")
        name, i, value = m[1], m.end(), []
        while i < len(block) and block[i] != "\n":
            if block[i] == "'":
                j = block.find("'", i + 1)
                if j < 0:
                    raise NotInert(f"{script}: {name}: unterminated quote")
                value.append(block[i + 1 : j])
                i = j + 1
            elif block.startswith("\\'", i):
                value.append("'")
                i += 2
            elif (bare := SAFE_BARE.match(block, i)) is not None:
                value.append(bare[0])
                i = bare.end()
            else:
                raise NotInert(f"{script}: {name}: unquoted {block[i]!r} in the variable block")
        i += 1
        pairs.append((name, "".join(value)))
    words = shlex.split(block, posix=True)
    if words != [f"{n}={v}" for n, v in pairs]:
        raise NotInert(f"{script}: the variable block does not read back as {len(pairs)} assignments with shlex")
    return pairs


def script_vars(files: dict[str, str], script: str) -> dict[str, str]:
    return dict(parse_block(variable_block(files[script], script), script))


def bash_syntax(text: str, shell: str = "bash") -> str | None:
    r = subprocess.run([shell, "-n"], input=text, capture_output=True, text=True, timeout=30, check=False)
    return None if r.returncode == 0 else (r.stderr.strip() or f"{shell} -n failed")


# ---- deb822 (.sources) and the manifest, as provision.sh's own functions print them

# The .sources files provision.sh writes, in the order it writes them (the OS one only with an apt mirror).
SOURCES = ("aks-jumpbox-os.sources", "aks-jumpbox-azure-cli.sources")


def _sourceable(files: dict[str, str]) -> str:
    """provision.sh, once its variable block is proven to be assignments only: then sourcing it runs
    nothing but those assignments and the script's own definitions (its main guard keeps main from
    running)."""
    block = variable_block(files["provision.sh"], "provision.sh")
    parse_block(block, "provision.sh")
    if "\0" in block:
        raise NotInert(
            "provision.sh: a NUL byte in the variable block (bash drops it: the value is not what was given)"
        )
    return files["provision.sh"]


def deb822_outputs(files: dict[str, str]) -> dict[str, str]:
    """{file name: text} of the .sources files provision.sh writes (tests/support/rendered.apt_sources)."""
    script = _sourceable(files)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            return apt_sources(script, Path(tmp))
        except subprocess.CalledProcessError as exc:
            raise NotInert(f"the .sources functions fail: {exc.stderr.strip()}") from None


def deb822_paragraphs(text: str) -> list[list[tuple[str, str]]]:
    paragraphs, current = [], []
    for line in text.split("\n"):
        if "\r" in line or "\0" in line:
            raise NotInert(f"deb822: control character in {line!r}")
        if not line.strip():
            if current:
                paragraphs.append(current)
            current = []
            continue
        if line[0] in " \t":
            raise NotInert(f"deb822: continuation line {line!r} (adds to the field above)")
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9-]*):(?: (.*))?$", line)
        if not m:
            raise NotInert(f"deb822: {line!r} is not a field")
        current.append((m[1], m[2] or ""))
    if current:
        paragraphs.append(current)
    return paragraphs


# ---- ARM


def arm_skeleton(expression: str) -> str:
    return ARM_LITERAL.sub("''", expression)


def is_expression(s: str) -> bool:
    return s.startswith("[") and s.endswith("]") and not s.startswith("[[")


def arm_unescape(s: str) -> str:
    return s[1:] if s.startswith("[[") and s.endswith("]") else s


def _shell_customizers(value: Any):
    if isinstance(value, dict):
        if value.get("type") == "Shell" and isinstance(value.get("inline"), list):
            yield value
        for v in value.values():
            yield from _shell_customizers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _shell_customizers(v)


# ---- the baseline and the checks


@dataclass(frozen=True)
class Baseline:
    provision_vars: tuple[str, ...]
    validate_vars: tuple[str, ...]
    deb822_fields: dict[str, tuple[tuple[str, ...], ...]]  # per .sources file: per paragraph: field names
    signed_by: tuple[str, ...]
    skeletons: frozenset[str]

    @classmethod
    def of(cls, benign: list[dict[str, str]]) -> Baseline:
        """From benign plans; one of them must use an apt mirror (so the OS .sources file is written)."""
        first = benign[0]
        fields: dict[str, tuple[tuple[str, ...], ...]] = {}
        signed: dict[str, tuple[str, ...]] = {}
        skeletons = set()
        for files in benign:
            for name, text in deb822_outputs(files).items():
                paragraphs = deb822_paragraphs(text)
                shape = tuple(tuple(k for k, _ in p) for p in paragraphs)
                assert fields.setdefault(name, shape) == shape, f"benign plans disagree on {name}"
                signed[name] = tuple(v for p in paragraphs for k, v in p if k == "Signed-By")
            for rel, text in files.items():
                if rel.startswith("arm/"):
                    skeletons |= {arm_skeleton(s) for _, s in arm_strings(json.loads(text)) if is_expression(s)}
        assert set(fields) == set(SOURCES), f"the benign plans write {sorted(fields)}, not {SOURCES}"
        return cls(
            provision_vars=tuple(script_vars(first, "provision.sh")),
            validate_vars=tuple(script_vars(first, "validate.sh")),
            deb822_fields=fields,
            signed_by=tuple(v for name in SOURCES for v in signed[name]),
            skeletons=frozenset(skeletons),
        )


def check_scripts(files: dict[str, str], base: Baseline, expect_vars: dict[str, str] | None = None) -> list[str]:
    problems = []
    for script, names in (("provision.sh", base.provision_vars), ("validate.sh", base.validate_vars)):
        if script not in files:
            problems.append(f"{script} was not written")
            continue
        if err := bash_syntax(files[script]):
            problems.append(f"{script}: bash -n: {err}")
        if "\0" in files[script]:
            problems.append(f"{script}: holds a NUL byte")
        try:
            values = script_vars(files, script)
        except NotInert as exc:
            problems.append(str(exc))
            continue
        if tuple(values) != names:
            problems.append(f"{script}: variables {list(values)} differ from the default plan's {list(names)}")
        for name, want in (expect_vars or {}).items():
            if name in values and values[name] != want:
                problems.append(f"{script}: {name} reads back as {values[name]!r}, not {want!r}")
        table, columns = COLUMNS[script]
        for row in filter(None, values.get(table, "").split("\n")):
            cells = row.split("\t")
            if len(cells) != len(columns):
                problems.append(f"{script}: {table} row {row[:60]!r} has {len(cells)} columns, not {len(columns)}")
            elif script == "provision.sh":
                cell = dict(zip(columns, cells, strict=True))
                file_name, url = cell["file"], cell["url"]
                if not SAFE_FILE_NAME.match(file_name) or file_name in (".", ".."):
                    problems.append(f"provision.sh: cache file name {file_name!r} is not a plain file name")
                if not url.startswith("https://") or re.search(r"\s", url):
                    problems.append(f"provision.sh: download URL {url!r} is not a plain https:// URL")
    return problems


def check_deb822(files: dict[str, str], base: Baseline, expect_uris: dict[int, str] | None = None) -> list[str]:
    try:
        texts = deb822_outputs(files)
        outputs = {name: deb822_paragraphs(texts[name]) for name in SOURCES if name in texts}
        for text in texts.values():
            parse_deb822(text)  # strict: single-line fields, none repeated
    except (NotInert, Deb822Error) as exc:
        return [f"deb822: {exc}"]
    problems = []
    if not set(texts) <= set(SOURCES) or SOURCES[-1] not in texts:
        problems.append(f"provision.sh writes the .sources files {sorted(texts)}, not (some of) {SOURCES}")
    for name, paragraphs in outputs.items():
        fields = tuple(tuple(k for k, _ in p) for p in paragraphs)
        if name in base.deb822_fields and fields != base.deb822_fields[name]:
            problems.append(f"{name} has fields {fields}, not {base.deb822_fields[name]}")
    uris = [v for o in outputs.values() for p in o for k, v in p if k == "URIs"]
    for value in uris:
        if len(value.split()) != 1:
            problems.append(f"URIs: {value!r} does not name exactly one repository")
    for index, want in (expect_uris or {}).items():
        if index < len(uris) and uris[index] != want:
            problems.append(f"URIs #{index} is {uris[index]!r}, not {want!r}")
    signed = tuple(v for o in outputs.values() for p in o for k, v in p if k == "Signed-By")
    if signed != base.signed_by:
        problems.append(f"Signed-By is {signed}, not {base.signed_by}")
    return problems


def check_arm(files: dict[str, str], base: Baseline, expect_values: tuple[str, ...] = ()) -> list[str]:
    problems, literals = [], set()
    for rel in sorted(r for r in files if r.startswith("arm/") and r.endswith(".json")):
        doc = json.loads(files[rel])
        for _, s in arm_strings(doc):
            if is_expression(s):
                if not s.startswith(TOOL_FUNCTIONS) or arm_skeleton(s) not in base.skeletons:
                    problems.append(f"{rel}: {s[:100]!r} would be evaluated by ARM (not an expression the tool writes)")
            else:
                literals.add(arm_unescape(s))
        for customizer in _shell_customizers(doc):
            problems += _check_inline(rel, [arm_unescape(s) for s in customizer["inline"]], files)
    for want in expect_values:
        if want not in literals:
            problems.append(f"arm/*.json: no string reads back (ARM-unescaped) as {want[:80]!r}")
    return problems


def _check_inline(rel: str, lines: list[str], files: dict[str, str]) -> list[str]:
    problems = [f"{rel}: an inline line holds '{{{{' (template interpolation)" for s in lines if "{{" in s][:1]
    if err := bash_syntax("\n".join(lines) + "\n", "sh"):
        problems.append(f"{rel}: the inline customizer fails sh -n: {err}")
    for i, line in enumerate(lines):
        m = HEREDOC.match(line)
        if not m:
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j] == m["eof"]), None)
        script = m["script"]
        if end is None:
            problems.append(f"{rel}: the heredoc of {script} never ends")
        elif script in files and "\n".join(lines[i + 1 : end]) + "\n" != files[script]:
            problems.append(
                f"{rel}: the inline copy of {script} differs from out/{script} (an early terminator, "
                "or ARM escaping that does not read back)"
            )
    return problems


def check_egress(files: dict[str, str]) -> list[str]:
    text = files.get("network/egress-fqdns.txt", "")
    return [
        f"egress-fqdns.txt: {line!r} is not a host name"
        for line in text.split("\n")[:-1]
        if not EGRESS_LINE.match(line)
    ]


# network/contract.md's Mermaid diagram: every line is one of the shapes render/diagram.py writes, and a label
# is a quoted run of plain characters, entity codes and the renderer's own <br>; so no value closes its
# label, starts a directive (click, style, %%{init}%%) or a link.
_MM_LABEL = r'"(?:[A-Za-z0-9 .,:/()*+_-]|#\d+;|<br>)*"'
_MM_ID = r"[a-z][a-z0-9_]*"
MERMAID_GRAMMAR = tuple(
    re.compile(g)
    for g in (
        r"flowchart LR",
        r"  %% network contract: [A-Za-z0-9 .,:/()*+_#;-]*",
        rf"\s*subgraph {_MM_ID}\[{_MM_LABEL}\]",
        r"\s*direction TB",
        r"\s*end",
        rf"\s*{_MM_ID}(?:\[{_MM_LABEL}\]|\[\[{_MM_LABEL}\]\]|\(\[{_MM_LABEL}\]\)|\{{\{{{_MM_LABEL}\}}\}})",
        rf"  {_MM_ID} (?:-->|-\.->)\|{_MM_LABEL}\| {_MM_ID}",
        r"  classDef (?:pass|warn|fail|skip|unchecked) [a-z:#0-9,-]+(?: [0-9]+)?",
        rf"  class {_MM_ID}(?:,{_MM_ID})* (?:pass|warn|fail|skip|unchecked)",
        r"  linkStyle \d+ stroke:#[0-9a-f]{6},stroke-width:\dpx",
    )
)


def mermaid_problems(diagram: str) -> list[str]:
    """Lines of a diagram that are none of the shapes the tool writes."""
    return [line for line in diagram.splitlines() if not any(g.fullmatch(line) for g in MERMAID_GRAMMAR)]


def check_diagram(files: dict[str, str]) -> list[str]:
    text = files.get("network/contract.md")
    if text is None:
        return []
    blocks = text.split("```mermaid\n")
    if len(blocks) != 2 or "```" not in blocks[1]:
        return ["network/contract.md: not exactly one closed mermaid block (a value broke the fence)"]
    return [f"network/contract.md: diagram line {line[:100]!r}" for line in mermaid_problems(blocks[1].split("```")[0])]


def check_manifest(files: dict[str, str]) -> list[str]:
    """The image's manifest.json, as provision.sh's manifest_json completes it, is JSON and names each
    tool's download URL exactly as the tool table does."""
    try:
        script = _sourceable(files)
        rows = [
            dict(zip(scripts.PROVISION_COLUMNS, row.split("\t"), strict=True))
            for row in filter(None, script_vars(files, "provision.sh").get("ARTIFACTS", "").split("\n"))
        ]
    except (NotInert, ValueError) as exc:
        return [f"manifest: {exc}"]
    # Tools the lock could not pin get the digest the build verified; names are the catalog's own.
    verified = {r["name"]: "0" * 64 for r in rows if r["sha"] == "-" and SAFE_FILE_NAME.match(r["name"])}
    try:
        manifest = image_manifest(script, verified)
    except subprocess.CalledProcessError as exc:
        return [f"manifest: manifest_json fails: {exc.stderr.strip()[:200]}"]
    except ValueError as exc:
        return [f"manifest: the image's manifest.json is not JSON: {exc}"]
    sources = [t.get("source") for t in manifest.get("tools", [])]
    if sources != [r["url"] for r in rows]:
        return [f"manifest: the tools' sources {sources[:3]} are not the download URLs"]
    return []


def check_plan_output(
    files: dict[str, str],
    base: Baseline,
    *,
    expect_vars: dict[str, str] | None = None,
    expect_uris: dict[int, str] | None = None,
    expect_arm: tuple[str, ...] = (),
) -> list[str]:
    problems = check_scripts(files, base, expect_vars)
    if "provision.sh" in files:
        problems += check_deb822(files, base, expect_uris)
        problems += check_manifest(files)
    problems += check_arm(files, base, expect_arm)
    problems += check_egress(files)
    problems += check_diagram(files)
    if "plan.json" in files:
        try:
            json.loads(files["plan.json"])
        except ValueError as exc:
            problems.append(f"plan.json is not JSON: {exc}")
    return problems


# ---- CI pipelines: option values inside shell steps

_QUIET = re.compile(r"[A-Za-z0-9_./:=@+,%-]")  # characters that mean nothing to a shell, quoted or not


def shell_words(script: str) -> tuple[list[list[tuple[str, str]]], int]:
    """A small POSIX lexer: words as (character, quoting) pairs, and the count of command separators.

    Quoting is "'" (single quotes), '\\' (backslash), '"' (double quotes) or "" (unquoted)."""
    words: list[list[tuple[str, str]]] = []
    word: list[tuple[str, str]] | None = None
    separators, state, i, n = 0, "", 0, len(script)

    def flush() -> None:
        nonlocal word
        if word is not None:
            words.append(word)
        word = None

    while i < n:
        c = script[i]
        if state == "'":
            if c == "'":
                state = ""
            else:
                word.append((c, "'"))
        elif state == '"':
            if c == '"':
                state = ""
            elif c == "\\" and i + 1 < n and script[i + 1] in '$`"\\\n':
                word.append((script[i + 1], "\\"))
                i += 1
            else:
                word.append((c, '"'))
        elif c in " \t":
            flush()
        elif c in "\n;&|":
            flush()
            separators += 1
        elif c == "#" and word is None:
            while i < n and script[i] != "\n":
                i += 1
            continue
        elif c in "'\"":
            word = word if word is not None else []
            state = c
        elif c == "\\" and i + 1 < n:
            word = word if word is not None else []
            word.append((script[i + 1], "\\"))
            i += 1
        else:
            word = word if word is not None else []
            word.append((c, ""))
        i += 1
    flush()
    return words, separators


def _protected(c: str, quoting: str) -> bool:
    return bool(_QUIET.match(c)) or quoting in ("'", "\\") or (quoting == '"' and c not in '$`\\"')


def ci_scripts(doc: Any) -> list[str]:
    """The shell text of every step (GitHub `run`, Azure Pipelines `script` and `inlineScript`), in order."""
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k in ("run", "script", "inlineScript") and isinstance(v, str):
                out.append(v)
            else:
                out += ci_scripts(v)
    elif isinstance(doc, list):
        for v in doc:
            out += ci_scripts(v)
    return out


def check_ci(text: str, benign: str, kind: str, payload: str | None) -> list[str]:
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [f"the pipeline is not YAML: {exc}"]
    problems = []
    scripts, base = ci_scripts(doc), ci_scripts(yaml.safe_load(benign))
    if len(scripts) != len(base):
        problems.append(f"{len(scripts)} shell steps, not {len(base)}")
    for script, reference in zip(scripts, base, strict=False):
        if err := bash_syntax(script):
            problems.append(f"a step fails bash -n: {err}")
        if shell_words(script)[1] != shell_words(reference)[1]:
            problems.append(f"a step has more commands than the benign pipeline's: {script[:80]!r}")
    if payload is not None:
        found = False
        for script in scripts:
            for word in shell_words(script)[0]:
                decoded = "".join(c for c, _ in word)
                at = decoded.find(payload)
                if at < 0:
                    continue
                found = True
                loose = [c for c, q in word[at : at + len(payload)] if not _protected(c, q)]
                if loose:
                    problems.append(f"{payload!r} is one word but {''.join(loose)!r} is left to the shell")
        if not found:
            problems.append(f"{payload!r} is not one shell word in any step (split, or changed)")
    # Pipeline engines expand their own syntax before any shell: GitHub ${{ }}, Azure Pipelines $( ).
    marker = "${{" if kind == "github" else "$("
    if text.count(marker) != benign.count(marker):
        problems.append(
            f"the pipeline holds {text.count(marker)} {marker!r}, the benign one {benign.count(marker)}: "
            "the engine would expand the value before the shell runs"
        )
    return problems
