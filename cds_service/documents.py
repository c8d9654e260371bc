"""Reading the reviewed knowledge files: strict YAML, a JSON Schema each, and problems that
name the file, the line and the key.

Clinical reviewers edit these files by hand, so a typo must stop the service, never change
what a card says: a misspelt key (``maxx:`` on an ABI band), a string where a boolean
belongs (``discriminating: "false"``) or a key given twice (YAML would keep the last) is a
problem here. What a file may hold is declared once, in ``schemas/<kind>.schema.json``;
adding a knowledge key means adding it there (and a negative test). Python keeps only what a
schema cannot say: references between files and a few orderings.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one knowledge file, at one key."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class DuplicateKeyError(yaml.YAMLError):
    def __init__(self, key: str, line: int, first_line: int):
        super().__init__(f"key {key!r} given twice (first on line {first_line})")
        self.key, self.line = key, line


_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when built with it: 10x faster


class StrictLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """A SafeLoader that refuses a mapping key given twice instead of keeping the last."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise DuplicateKeyError(str(key), line, seen[key])
            if isinstance(key, (str, int, float, bool)):
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def dotted(path: KeyPath) -> str:
    """``("signs", "pallor", "read_from", 0)`` -> ``signs.pallor.read_from[0]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class Document:
    """One knowledge file: its parsed data, and the line of each key (found only when needed)."""

    path: Path
    label: str
    text: str
    data: Any
    _lines: dict[KeyPath, int] | None = field(default=None, repr=False)

    def line(self, path: KeyPath) -> int | None:
        """The line of the deepest key of ``path`` that the file holds (1-based)."""
        if self._lines is None:
            self._lines = _line_index(self.text)
        for end in range(len(path), -1, -1):
            if path[:end] in self._lines:
                return self._lines[path[:end]]
        return None

    def problem(self, path: KeyPath, message: str) -> Problem:
        return Problem(self.label, self.line(path), dotted(path), message)


def _line_index(text: str) -> dict[KeyPath, int]:
    """Key path -> line, from YAML's node tree (JSON files are read the same way)."""
    try:
        root = yaml.compose(text, Loader=_SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[KeyPath, int] = {}

    def walk(node: yaml.Node | None, path: KeyPath) -> None:
        if node is None:
            return
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key_path = (*path, str(key_node.value))
                lines[key_path] = key_node.start_mark.line + 1
                walk(value_node, key_path)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    walk(root, ())
    return lines


def read(path: Path, label: str) -> Document | Problem:
    """Parse a YAML or JSON knowledge file, refusing duplicated keys."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return Problem(label, None, "", f"not readable ({exc.strerror or exc})")
    try:
        if path.suffix == ".json":
            try:
                data = json.loads(text, object_pairs_hook=_no_duplicates)
            except _JSONDuplicate:  # JSON is YAML: let the strict loader find the line and path
                data = yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader
        else:
            data = yaml.load(text, Loader=StrictLoader)  # noqa: S506
    except DuplicateKeyError as exc:
        paths = [p for p, line in _line_index(text).items() if line == exc.line and p and p[-1] == exc.key]
        return Problem(label, exc.line, dotted(paths[0]) if paths else exc.key, str(exc))
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        return Problem(label, line, "", f"not readable YAML: {exc.problem}")
    except (ValueError, yaml.YAMLError) as exc:
        return Problem(label, getattr(exc, "lineno", None), "", f"not valid {path.suffix.lstrip('.').upper()}: {exc}")
    return Document(path, label, text, data)


def read_named(path: Path, label: str, kind: str) -> Document | list[Problem]:
    """A file whose ``id`` must be its file name (the value sets): read strictly, checked against
    ``schemas/<kind>.schema.json``, then the id; the document, or every problem found."""
    doc = read(path, label)
    if isinstance(doc, Problem):
        return [doc]
    found = validate(doc, kind)
    if not found and doc.data["id"] != path.stem:
        found = [doc.problem(("id",), f"{doc.data['id']!r} must match the file name")]
    return found or doc


class _JSONDuplicate(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _JSONDuplicate(key)
        out[key] = value
    return out


@cache
def schema(kind: str) -> jsonschema.protocols.Validator:
    """The compiled schema ``schemas/<kind>.schema.json`` (checked itself, once)."""
    raw = json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(raw)
    cls.check_schema(raw)
    return cls(raw)


def validate(doc: Document, kind: str) -> list[Problem]:
    """Every place where ``doc`` breaks its schema, one problem per key, in file order."""
    problems = [p for error in schema(kind).iter_errors(doc.data) for p in _explain(doc, error)]
    return sorted(set(problems), key=lambda p: (p.line or 0, p.key, p.message))


_PY_TO_JSON = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "mapping",
               type(None): "null"}


def _explain(doc: Document, error: jsonschema.ValidationError) -> list[Problem]:
    path: KeyPath = tuple(error.absolute_path)
    kind, value = error.validator, error.instance
    expected: Any = error.validator_value
    rule: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    if "propertyNames" in error.relative_schema_path:  # the error is about a key's name, not its value
        path = (*path, str(value))
    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = sorted(rule.get("properties", {}))
        patterns = list(rule.get("patternProperties", {}))
        extra = [k for k in value if k not in allowed and not any(re.search(p, k) for p in patterns)]
        hint = f" (allowed here: {', '.join(allowed)})" if allowed else ""
        return [doc.problem((*path, k), f"unknown key{hint}") for k in extra]
    if kind == "required":
        missing = [k for k in expected if isinstance(value, dict) and k not in value]
        return [doc.problem((*path, k), f"{k} is required here" + _why(error)) for k in missing]
    if kind == "type":
        wanted = " or ".join([expected] if isinstance(expected, str) else expected)
        got = _PY_TO_JSON.get(type(value), type(value).__name__)
        article = "an" if got[0] in "aeiou" else "a"
        return [doc.problem(path, f"{_short(value)} is {article} {got}; expected {wanted.replace('object', 'mapping')}")]
    if kind == "enum":
        words = rule.get("description")
        return [doc.problem(path, f"{_short(value)} is not {words or 'one of ' + ', '.join(map(str, expected))}")]
    if kind == "const":
        return [doc.problem(path, f"{_short(value)} must be {expected!r}")]
    if kind is None or error.schema is False:  # a key a `false` schema forbids
        return [doc.problem(path, "not allowed here" + _why(error))]
    if kind == "pattern":
        return [doc.problem(path, f"{_short(value)} does not match {expected!r}" + _why(error))]
    if kind == "not":
        return [doc.problem(path, "does not follow the rule" + _why(error))]
    if kind == "uniqueItems":
        return [doc.problem(path, "lists an item twice")]
    summary = error.message if len(error.message) <= 160 else f"breaks the {kind!r} rule"
    return [doc.problem(path, summary + _why(error))]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _why(error: jsonschema.ValidationError) -> str:
    """The rule's own words: the ``description`` of the schema object that failed, if any."""
    if isinstance(error.schema, dict) and error.schema.get("description"):
        return f" ({error.schema['description']})"
    return ""
