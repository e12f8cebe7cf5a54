"""Read a YAML file the way the Pulumi CLI reads it, keeping the line and column of every key.

The CLI decodes Pulumi.yaml, Pulumi.<stack>.yaml and PulumiPolicy.yaml with gopkg.in/yaml.v3 (pulumi/pulumi
sdk/go/common/encoding/marshal.go, read 2026-11-30). PyYAML speaks YAML 1.1 and differs where it matters for config,
so an offline run built on it would judge a different file than `pulumi preview` does. This loader composes the
document with PyYAML (for its parser and marks) and resolves values with yaml.v3's rules (yaml.v3 v3.0.1
resolve.go `resolve`, decode.go `mapping` and `scalar`):

- a key repeated in one mapping is an error, "line 63: mapping key "x" already defined at line 40"; PyYAML keeps the
  last value silently (a second `aoai-platform:deployments:` would drop the first list without a word);
- only true/True/TRUE and false/False/FALSE are booleans: yes, no, on, off, y and n stay strings;
- a date such as 2028-06-30 stays the string it is written as (yaml.v3 keeps timestamps as strings when decoding
  into an untyped value); PyYAML makes a `datetime.date`;
- integers are read as Go's `strconv.ParseInt(text, 0, 64)` reads them after underscores are dropped (0x, 0o, 0b
  and a leading 0 for octal; no base-60 `1:30`); floats must match `^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?
  [0-9]+)?$`, or be .inf/.nan; null is "", ~, null, Null or NULL;
- mapping keys must be strings (the CLI's `SimplifyMarshalledValue` refuses others);
- only the first document of a file counts.

Every problem is a `LoadError` naming the file, line, column and key, so a message points at the exact place; the
stack-file and policy-config checks build on the same types.
"""

from __future__ import annotations

import bisect
import functools
import json
import math
import pickle
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Document", "LoadError", "Position", "Problem", "load_json", "load_json_text", "load_yaml", "load_yaml_text"]

KeyPath = tuple[str | int, ...]

_STR, _INT, _FLOAT, _BOOL, _NULL = ("tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null"))
_MAP_WORDS: dict[str, Any] = {
    **dict.fromkeys(("true", "True", "TRUE"), True), **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan), **dict.fromkeys((".inf", ".Inf", ".INF"), math.inf),
    **dict.fromkeys(("+.inf", "+.Inf", "+.INF"), math.inf), **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
_YAML_STYLE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INT64 = (-(2**63), 2**63 - 1)
_UINT64_MAX = 2**64 - 1
_MERGE_KEY = "<<"
_DIGITS = {2: set("01"), 8: set("01234567"), 10: set("0123456789"), 16: set("0123456789abcdefABCDEF")}


@dataclass(frozen=True)
class Position:
    """A place in a file, both numbers from 1 as editors show them."""

    line: int
    column: int


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where, which key (dotted, empty for the whole file) and what."""

    file: str
    message: str
    key: str = ""
    position: Position | None = None

    def __str__(self) -> str:
        where = self.file if self.position is None else f"{self.file}:{self.position.line}:{self.position.column}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class LoadError(Exception):
    """A file the CLI would refuse, with every problem found; `file`, `line`, `column` and `key` are the first's."""

    def __init__(self, problems: Sequence[Problem]):
        if not problems:
            raise ValueError("a LoadError needs at least one problem")
        self.problems = tuple(problems)
        first = self.problems[0]
        self.file, self.key = first.file, first.key
        self.line = first.position.line if first.position else None
        self.column = first.position.column if first.position else None
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Document:
    """A decoded file: its value (dicts, lists, str, int, float, bool, None) and the position of every key and item."""

    file: str
    value: Any
    positions: Mapping[KeyPath, Position] = field(default_factory=dict)

    def position(self, *path: str | int) -> Position | None:
        """Where the key (or list item) at `path` is written; the nearest enclosing one when it is not written."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(tuple(path[:end]))
            if found is not None:
                return found
        return None

    def problem(self, message: str, *path: str | int, key: str | None = None) -> Problem:
        """A problem at `path`, named by `key` (default: the path, dotted)."""
        return Problem(self.file, message, dotted(path) if key is None else key, self.position(*path))


def dotted(path: Sequence[str | int]) -> str:
    """`('config', 'aoai-platform:regions', 0, 'location')` -> `config.aoai-platform:regions[0].location`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


class _Loader(yaml.SafeLoader):
    """PyYAML's parser and composer with no implicit resolvers: every plain scalar is resolved here, yaml.v3's way."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.yaml_implicit_resolvers = {}

    def compose_scalar_node(self, anchor: Any) -> yaml.ScalarNode:
        event = self.peek_event()
        node = super().compose_scalar_node(anchor)
        # An untagged plain scalar is resolved by its text; a quoted or block one is a string; a tagged one is
        # checked against its tag.
        node.v3_plain = event.tag is None and event.style is None  # type: ignore[attr-defined]
        node.v3_tag = event.tag  # type: ignore[attr-defined]
        return node


def load_yaml(path: Path, display: str | None = None) -> Document:
    """Read and decode `path`; `display` is how messages name it (default: the path as given)."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # the CLI strips a UTF-8 byte order mark too
    except OSError as error:
        raise LoadError([Problem(name, f"cannot read the file ({error.strerror or error})")]) from error
    except UnicodeDecodeError as error:
        raise LoadError([Problem(name, f"is not UTF-8 text ({error.reason} at byte {error.start})")]) from error
    return load_yaml_text(text, name)


def load_yaml_text(text: str, name: str) -> Document:
    """Decode YAML `text`, naming it `name` in messages.

    The result is a function of the text and the name alone, and PyYAML's pure-Python composer is a tenth of a
    program run: the last documents decoded are kept, and each caller gets its own copy (a pickle round trip, a
    quarter of `copy.deepcopy`'s time for a document of plain values)."""
    return pickle.loads(_decoded_yaml(text, name))


@functools.lru_cache(maxsize=32)
def _decoded_yaml(text: str, name: str) -> bytes:
    return pickle.dumps(_decode_yaml(text, name), protocol=pickle.HIGHEST_PROTOCOL)


def _decode_yaml(text: str, name: str) -> Document:
    loader = _Loader(text)
    try:
        node = loader.get_node() if loader.check_node() else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        position = Position(mark.line + 1, mark.column + 1) if mark else None
        detail = " ".join(str(part) for part in (error.context, error.problem) if part)
        raise LoadError([Problem(name, f"is not valid YAML: {detail}{_hint(detail, text, mark)}",
                                 position=position)]) from error
    except yaml.YAMLError as error:
        raise LoadError([Problem(name, f"is not valid YAML: {error}")]) from error
    finally:
        loader.dispose()
    builder = _Builder(name)
    value = builder.build(node, ()) if node is not None else None
    if node is None:  # an empty file: problems about it point at its start
        builder.positions[()] = Position(1, 1)
    if builder.problems:
        # In file order, once each (an aliased mapping is checked again where it is used).
        problems = sorted(dict.fromkeys(builder.problems),
                          key=lambda p: (p.position.line, p.position.column) if p.position else (0, 0))
        raise LoadError(problems)
    return Document(name, value, builder.positions)


def _hint(detail: str, text: str, mark: Any) -> str:
    """What the parser's words usually mean in a hand-edited stack file, and how to fix it."""
    line = text.splitlines()[mark.line] if mark is not None and mark.line < len(text.splitlines()) else ""
    if "'\\t'" in detail or "\t" in line[: len(line) - len(line.lstrip())]:
        return " (a tab: YAML indents with spaces only; replace the tab with spaces)"
    if "mapping values are not allowed" in detail:
        return (" (check this line's indentation against the key above it: a key indented deeper than its "
                "siblings, or a value holding ': ' that needs quotes)")
    if "expected <block end>" in detail or "could not find expected ':'" in detail:
        return " (the indentation changes here: every key of one mapping starts in the same column)"
    if "found duplicate anchor" in detail or "found undefined alias" in detail:
        return " (an '&anchor' or '*alias': quote a value that starts with & or *)"
    return ""


def _position(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns composed nodes into values, recording positions and every problem (not only the first)."""

    def __init__(self, name: str):
        self.name = name
        self.positions: dict[KeyPath, Position] = {}
        self.problems: list[Problem] = []

    def fail(self, node: yaml.Node, path: KeyPath, message: str) -> None:
        self.problems.append(Problem(self.name, message, dotted(path), _position(node)))

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        if not path:
            self.positions[()] = _position(node)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.positions[(*path, index)] = _position(item)
                items.append(self.build(item, (*path, index)))
            return items
        assert isinstance(node, yaml.MappingNode)
        return self.mapping(node, path)

    def scalar(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        tag = getattr(node, "v3_tag", None)
        if getattr(node, "v3_plain", False):
            return resolve_plain(node.value)
        if tag in (None, "!", _STR):
            return node.value
        if tag in (_INT, _FLOAT, _BOOL, _NULL):
            value = resolve_plain(node.value)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if tag == _FLOAT and number:
                return float(value)
            if (tag == _INT and number and isinstance(value, int)) or (tag == _BOOL and isinstance(value, bool)) \
                    or (tag == _NULL and value is None):
                return value
            self.fail(node, path, f"cannot decode {node.value!r} as {tag.rsplit(':', 1)[1]}")
            return node.value
        self.fail(node, path, f"the tag {tag} is not one the Pulumi CLI's files use")
        return node.value

    def mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        seen: dict[tuple[str, str], yaml.Node] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                raw = (key_node.id, key_node.value)
                if raw in seen:
                    first = seen[raw]
                    self.fail(key_node, (*path, key_node.value),
                              f"mapping key {json.dumps(key_node.value)} already defined at line "
                              f"{first.start_mark.line + 1} "
                              f"(the Pulumi CLI's YAML parser, yaml.v3, refuses a repeated key; PyYAML would keep "
                              f"only the last one)")
                else:
                    seen[raw] = key_node
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and getattr(key_node, "v3_plain", False) \
                    and key_node.value == _MERGE_KEY:
                merged.update(self.merge(value_node, path))
                continue
            key = self.build(key_node, (*path, "<key>")) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "a collection"
                self.fail(key_node, path, f"expected only string keys, got {shown!r} (quote it)")
                continue
            self.positions[(*path, key)] = _position(key_node)
            result[key] = self.build(value_node, (*path, key))
        return {**merged, **result}

    def merge(self, node: yaml.Node, path: KeyPath) -> dict[str, Any]:
        """A `<<:` merge: its mapping (or list of mappings, earlier ones winning) under this mapping's own keys."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for source in reversed(sources):
            if not isinstance(source, yaml.MappingNode):
                self.fail(source, path, "map merge requires map or sequence of maps as the value")
                continue
            merged.update(self.mapping(source, path))
        return merged


def resolve_plain(text: str) -> Any:
    """The value of an untagged plain scalar under yaml.v3's resolver (resolve.go `resolve`)."""
    if text in _MAP_WORDS:
        return _MAP_WORDS[text]
    first = text[:1]
    if first == ".":
        return float(text) if _YAML_STYLE_FLOAT.match(text) and not math.isinf(float(text)) else text
    if not first or not (first.isdigit() or first in "+-"):
        return text
    plain = text.replace("_", "")
    whole = go_parse_int(plain)
    if whole is not None:
        return whole
    if _YAML_STYLE_FLOAT.match(plain):
        number = float(plain)
        return text if math.isinf(number) else number  # Go's ParseFloat fails out of range: the text stays
    return text


def go_parse_int(text: str) -> int | None:
    """`strconv.ParseInt(text, 0, 64)`, else `strconv.ParseUint(text, 0, 64)` (no sign), else None."""
    sign, digits = 1, text
    if digits[:1] in ("+", "-"):
        sign, digits = (-1 if digits[0] == "-" else 1), digits[1:]
    base = 10
    lowered = digits[:2].lower()
    if lowered in ("0x", "0o", "0b"):
        base, digits = {"0x": 16, "0o": 8, "0b": 2}[lowered], digits[2:]
    elif len(digits) > 1 and digits[0] == "0":
        base, digits = 8, digits[1:]
    if not digits or not set(digits) <= _DIGITS[base]:
        return None
    value = sign * int(digits, base)
    if _INT64[0] <= value <= _INT64[1]:
        return value
    if text[:1] not in ("+", "-") and value <= _UINT64_MAX:
        return value
    return None


def walk(value: Any, path: KeyPath = ()) -> Iterator[tuple[KeyPath, Any]]:
    """Every (path, value) in a decoded document, outermost first."""
    yield path, value
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from walk(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from walk(inner, (*path, index))


# --- JSON ---------------------------------------------------------------------------------------------------------

def load_json(path: Path, display: str | None = None) -> Document:
    """Read and decode a JSON file, keeping the line and column of every key and item."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise LoadError([Problem(name, f"cannot read the file ({error.strerror or error})")]) from error
    except UnicodeDecodeError as error:
        raise LoadError([Problem(name, f"is not UTF-8 text ({error.reason} at byte {error.start})")]) from error
    return load_json_text(text, name)


def load_json_text(text: str, name: str) -> Document:
    """Decode JSON `text`. A syntax error names its line and column; a key repeated in one object is refused (Go's
    encoding/json, which the CLI uses, keeps the last one silently: half an entry would vanish without a word)."""
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise LoadError([Problem(name, f"is not valid JSON: {error.msg}",
                                 position=Position(error.lineno, error.colno))]) from error
    scanner = _JsonScanner(text, name)
    value = scanner.value(scanner.skip(0), ())[0]
    if scanner.problems:
        raise LoadError(scanner.problems)
    return Document(name, value, scanner.positions)


class _JsonScanner:
    """Walks JSON that is known to be valid, recording where each key and item starts and every repeated key."""

    def __init__(self, text: str, name: str):
        self.text, self.name = text, name
        self.decoder = json.JSONDecoder()
        self.line_starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]
        self.positions: dict[KeyPath, Position] = {}
        self.problems: list[Problem] = []

    def where(self, index: int) -> Position:
        line = bisect.bisect_right(self.line_starts, index)
        return Position(line, index - self.line_starts[line - 1] + 1)

    def skip(self, index: int) -> int:
        while index < len(self.text) and self.text[index] in " \t\r\n":
            index += 1
        return index

    def value(self, index: int, path: KeyPath) -> tuple[Any, int]:
        self.positions.setdefault(path, self.where(index))
        char = self.text[index]
        if char == "{":
            result: dict[str, Any] = {}
            index = self.skip(index + 1)
            while self.text[index] != "}":
                key, after = self.decoder.raw_decode(self.text, index)
                if key in result:
                    first = self.positions[(*path, key)]
                    self.problems.append(Problem(self.name, f"key {json.dumps(key)} already defined at line "
                                                 f"{first.line} (a repeated key silently replaces the first; "
                                                 "write it once)", dotted((*path, key)), self.where(index)))
                else:
                    self.positions[(*path, key)] = self.where(index)
                index = self.skip(after)  # at ':'
                result[key], index = self.value(self.skip(index + 1), (*path, key))
                index = self.skip(index)
                if self.text[index] == ",":
                    index = self.skip(index + 1)
            return result, index + 1
        if char == "[":
            items: list[Any] = []
            index = self.skip(index + 1)
            while self.text[index] != "]":
                item, index = self.value(index, (*path, len(items)))
                items.append(item)
                index = self.skip(index)
                if self.text[index] == ",":
                    index = self.skip(index + 1)
            return items, index + 1
        return self.decoder.raw_decode(self.text, index)
