"""Files to raw values that remember their line numbers.

Nothing here knows what a field means; :mod:`feeds.content.validate` does. What this
module guarantees is that every value it hands on carries the line it came from,
and that every way a file can be unreadable becomes a :class:`Problem` instead
of a foreign exception:

* bytes that are not UTF-8, characters XML 1.0 cannot carry, files that are too big;
* no front matter, unclosed front matter, YAML syntax errors;
* YAML features front matter never needs and that hurt: aliases (alias bombs),
  explicit tags, duplicate keys (which YAML resolves by silently dropping one),
  implicit timestamps (PyYAML raises a bare ``ValueError`` for ``2024-13-45``)
  and YAML 1.1 booleans (``no`` meaning false).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import frontmatter.default_handlers
import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from feeds.errors import ContentError, Problem
from feeds.files import FileRefused, read_inside

#: C0 controls other than tab, LF and CR, DEL, C1 controls, and the two
#: non-characters U+FFFE and U+FFFF: XML 1.0 forbids or discourages them all.
FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")

#: Deepest nesting of lists and mappings accepted in front matter.
MAX_DEPTH = 10

_TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:")

_YAML = frontmatter.default_handlers.YAMLHandler()


@dataclass(frozen=True)
class Value:
    """A YAML value and the 1-based file line where it starts.

    ``data`` is ``str``, ``int``, ``float``, ``bool``, ``None``,
    ``list[Value]`` or :class:`Mapping`.
    """

    data: Any
    line: int


@dataclass(frozen=True)
class Mapping:
    """A YAML mapping with text keys, in file order."""

    values: dict[str, Value]
    #: Line of each key.
    key_lines: dict[str, int]


@dataclass(frozen=True)
class Document:
    """A Markdown file split into located front matter and body."""

    #: Relative to the content directory, forward slashes.
    path: str
    meta: Mapping
    #: Line of the opening ``---``; problems with no better line point here.
    meta_line: int
    body: str
    #: File line on which the body starts.
    body_line: int


class _Resolver(Resolver):
    """YAML 1.2-style scalars: no implicit timestamps, only true/false as booleans."""


_Resolver.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if not tag.endswith((":timestamp", ":bool"))]
    for first, resolvers in Resolver.yaml_implicit_resolvers.items()
}
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)

try:  # libyaml is 7-8x faster when it is there
    from yaml.cyaml import CParser as _Parser  # type: ignore[attr-defined]

    class _Loader(_Parser, SafeConstructor, _Resolver):
        def __init__(self, stream: str) -> None:
            _Parser.__init__(self, stream)
            SafeConstructor.__init__(self)
            _Resolver.__init__(self)

except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Loader(Reader, Scanner, Parser, Composer, SafeConstructor, _Resolver):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            _Resolver.__init__(self)


_CONSTRUCTOR = SafeConstructor()
_STR = "tag:yaml.org,2002:str"
#: How each scalar tag front matter may use becomes a value (plain text needs
#: nothing: it is the node's value).
_SCALARS: dict[str, Callable[[ScalarNode], Any]] = {
    f"tag:yaml.org,2002:{name}": getattr(_CONSTRUCTOR, f"construct_yaml_{name}")
    for name in ("str", "int", "float", "bool", "null")
}


def forbidden_character_problems(
    path: str, text: str, field_of_line: Callable[[int], str | None] | None = None
) -> list[Problem]:
    """One problem per line that holds a character XML 1.0 cannot carry.

    One search of the whole text first: files without any (nearly all) cost
    no more than that, and those with many cost one pass over their lines.
    """
    if FORBIDDEN_CHARACTERS.search(text) is None:
        return []
    problems = []
    for number, line in enumerate(text.split("\n"), start=1):
        match = FORBIDDEN_CHARACTERS.search(line)
        if match:
            field = field_of_line(number) if field_of_line else None
            code = f"U+{ord(match.group()):04X}"
            problems.append(
                Problem(path, number, field, f"control character {code} is not allowed")
            )
    return problems


def decode(path: str, data: bytes) -> str:
    """UTF-8 bytes to text without a leading BOM, or a ContentError with the line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        byte = data[e.start]
        raise ContentError(
            [
                Problem(
                    path, line, None, f"not valid UTF-8 (byte 0x{byte:02X}); save the file as UTF-8"
                )
            ]
        ) from e
    return text.removeprefix("\ufeff")


def read_bytes(root: Path, path: str, max_bytes: int | None = None) -> bytes:
    """A file's bytes, refusing one over ``max_bytes`` before reading it, and
    any that is not a regular file inside the content directory
    (:func:`feeds.files.read_inside`)."""
    try:
        return read_inside(root, path, max_bytes)
    except FileRefused as e:
        message = e.reason
        if e.size is not None:
            message = (
                f"file is {e.size:,} bytes, more than the limit of "
                f"{max_bytes:,} (max_article_bytes in site.toml)"
            )
        raise ContentError([Problem(path, None, None, message)]) from e
    except OSError as e:
        raise ContentError([Problem(path, None, None, f"cannot read: {e.strerror}")]) from e


def read_document(root: Path, path: str, max_bytes: int | None = None) -> Document:
    """Read ``root/path`` as YAML front matter plus Markdown body."""
    return parse_document(path, decode(path, read_bytes(root, path, max_bytes)))


def parse_document(path: str, text: str) -> Document:
    """Split and parse one Markdown file's text (see :func:`read_document`)."""
    opening = _YAML.FM_BOUNDARY.match(text) if _YAML.FM_BOUNDARY else None
    if opening is None:
        raise ContentError(
            [
                Problem(
                    path,
                    1,
                    None,
                    "no front matter; the file must start with a '---' line, "
                    "then YAML fields, then another '---' line",
                )
            ]
        )
    try:
        front, body = _YAML.split(text)
    except ValueError as e:
        raise ContentError(
            [Problem(path, 1, None, "front matter is not closed by a '---' line")]
        ) from e
    first_line = text.count("\n", 0, opening.end()) + 1
    body_line = first_line + front.count("\n")
    if body.startswith("\n"):  # the newline that ends the closing '---' line
        body, body_line = body[1:], body_line + 1

    fields: list[str | None] = []

    def field_of_line(number: int) -> str | None:
        """The top-level field a front-matter line belongs to, or "body"."""
        if number >= body_line:
            return "body"
        if not fields:  # worked out once, in one pass, when first needed
            fields.extend(_top_level_fields(front, first_line))
        return fields[number - first_line] if number >= first_line else None

    problems = forbidden_character_problems(path, text, field_of_line)
    if problems:
        raise ContentError(problems)
    meta = _parse_yaml_mapping(path, front, first_line, field_of_line)
    return Document(path, meta, max(first_line - 1, 1), body, body_line)


def _top_level_fields(front: str, first_line: int) -> list[str | None]:
    """For each line of the front matter (``first_line`` being the first), the
    last top-level key at or above it."""
    fields: list[str | None] = []
    current = None
    for line in front.split("\n"):
        key = _TOP_LEVEL_KEY.match(line)
        if key:
            current = key.group(1)
        fields.append(current)
    return fields


def _parse_yaml_mapping(path: str, source: str, first_line: int, field_of_line: Any) -> Mapping:
    loader = _Loader(source)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = first_line + mark.line if mark else None
        reason = e.problem or e.context or "not valid YAML"
        field = field_of_line(line) if line else None
        if mark is not None and reason == "mapping values are not allowed in this context":
            written = source.split("\n")
            reason += _quote_hint(written[mark.line] if mark.line < len(written) else "")
        raise ContentError([Problem(path, line, field, f"YAML syntax error: {reason}")]) from e
    except yaml.YAMLError as e:
        raise ContentError([Problem(path, None, None, f"YAML error: {e}")]) from e
    finally:
        loader.dispose()
    if node is None:
        return Mapping({}, {})
    problems: list[Problem] = []
    value = _located(path, node, first_line, problems, set(), None)
    if problems:
        raise ContentError(problems)
    if not isinstance(value.data, Mapping):
        raise ContentError(
            [
                Problem(
                    path,
                    value.line,
                    None,
                    f"front matter must be a mapping of fields, got {describe(value.data)}",
                )
            ]
        )
    return value.data


#: A field written ``key: value``, perhaps as an item of a list.
_FIELD_LINE = re.compile(r"\s*(?:-\s+)?([\w-]+):\s+(.*?)\s*\Z")


def _quote_hint(line: str) -> str:
    """What to do about PyYAML's "mapping values are not allowed in this
    context", which a colon and a space in an unquoted value cause
    (``title: Lima: water``): quote the value, shown quoted when the line
    reads as one field."""
    found = _FIELD_LINE.match(line)
    if found is None or found.group(2)[:1] in {'"', "'"}:
        return "; a value holding ': ' must be in quotes"
    key, value = found.groups()
    quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"; a value holding ': ' must be in quotes: {key}: {quoted}"


def _located(
    path: str,
    node: Node,
    first_line: int,
    problems: list[Problem],
    seen: set[int],
    field: str | None,
    key_line: int | None = None,
    depth: int = 0,
) -> Value:
    """Convert a composed YAML node to :class:`Value`, collecting problems.

    An alias is composed into the very node its anchor names, so a node met
    twice is an alias; it is reported at the key that uses it. Front matter is
    a few levels deep; anything deeper than :data:`MAX_DEPTH` is refused
    rather than recursed into.
    """
    line = first_line + node.start_mark.line
    if depth > MAX_DEPTH:
        problems.append(Problem(path, line, field, f"nested more than {MAX_DEPTH} levels deep"))
        return Value(None, line)
    if id(node) in seen:
        problems.append(
            Problem(path, key_line or line, field, "YAML aliases (*name) are not allowed")
        )
        return Value(None, line)
    seen.add(id(node))
    if isinstance(node, ScalarNode):
        tag = node.tag
        if tag == _STR:
            data: Any = node.value
        elif tag in _SCALARS:
            data = _SCALARS[tag](node)
        else:
            problems.append(Problem(path, line, field, f"YAML tag {tag!r} is not allowed"))
            return Value(None, line)
        # Only double quotes have escapes, such as "\x07": they can decode to a
        # character the file did not hold (the file itself has been checked).
        if node.style == '"' and isinstance(data, str):
            bad = FORBIDDEN_CHARACTERS.search(data)
            if bad:
                code = f"U+{ord(bad.group()):04X}"
                problems.append(
                    Problem(path, line, field, f"control character {code} is not allowed")
                )
                return Value(None, line)
        return Value(data, line)
    if isinstance(node, SequenceNode):
        return Value(
            [
                _located(path, item, first_line, problems, seen, f"{field}[{i}]", None, depth + 1)
                for i, item in enumerate(node.value, start=1)
            ],
            line,
        )
    assert isinstance(node, MappingNode)
    values: dict[str, Value] = {}
    key_lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        key_line = first_line + key_node.start_mark.line
        key = key_node.value if isinstance(key_node, ScalarNode) else None
        if not isinstance(key, str) or key_node.tag != "tag:yaml.org,2002:str":
            problems.append(Problem(path, key_line, field, "field names must be plain text"))
            continue
        name = f"{field}.{key}" if field else key
        if key in values:
            problems.append(
                Problem(path, key_line, name, f"given twice (first on line {key_lines[key]})")
            )
            continue
        key_lines[key] = key_line
        values[key] = _located(
            path, value_node, first_line, problems, seen, name, key_line, depth + 1
        )
    return Value(Mapping(values, key_lines), line)


def describe(data: object) -> str:
    """How a YAML value reads in an error message: ``'text'``, a number, a list..."""
    if isinstance(data, str):
        return repr(data)
    if isinstance(data, bool):
        return "true" if data else "false"
    if data is None:
        return "nothing"
    if isinstance(data, int | float):
        return f"the number {data}"
    if isinstance(data, list):
        return "a list"
    if isinstance(data, Mapping):
        return "a mapping"
    return type(data).__name__


@dataclass(frozen=True)
class TomlDocument:
    path: str
    values: dict[str, Any]
    #: Line of each top-level key, where it can be found.
    key_lines: dict[str, int]


def read_toml(root: Path, path: str) -> TomlDocument:
    """Parse a TOML file; syntax errors become problems with their line."""
    text = decode(path, read_bytes(root, path))
    problems = forbidden_character_problems(path, text)
    if problems:
        raise ContentError(problems)
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        message = str(e)
        match = re.search(r"\(at line (\d+), column \d+\)$", message)
        line = int(match.group(1)) if match else None
        reason = message[: match.start()].strip() if match else message
        raise ContentError([Problem(path, line, None, f"TOML syntax error: {reason}")]) from e
    key_lines: dict[str, int] = {}
    for number, text_line in enumerate(text.splitlines(), start=1):
        found = re.match(r"\s*([A-Za-z0-9_-]+)\s*=", text_line)
        if found and found.group(1) in values:
            key_lines.setdefault(found.group(1), number)
    for name, value in values.items():  # escapes such as "\u0007" decode to them too
        bad = FORBIDDEN_CHARACTERS.search(value) if isinstance(value, str) else None
        if bad:
            code = f"U+{ord(bad.group()):04X}"
            problems.append(
                Problem(path, key_lines.get(name), name, f"control character {code} is not allowed")
            )
    if problems:
        raise ContentError(problems)
    return TomlDocument(path, values, key_lines)
