"""Safe YAML loading that remembers line numbers, and strict validation against pydantic models.

Unknown keys, wrong types and duplicate keys are errors reported as ``file:line``. So are anchors
and aliases (``&name``, ``*name``: a few hundred bytes of nested aliases expand to gigabytes) and
nesting deeper than :data:`MAX_DEPTH`; a file larger than :data:`MAX_BYTES` is refused unread.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from salign.core.problems import Problem, WorkspaceError

M = TypeVar("M", bound=BaseModel)

#: largest YAML file read (workspace.yaml and definitions files are a few kilobytes)
MAX_BYTES = 1 << 20
#: deepest nesting of mappings and sequences in a YAML file
MAX_DEPTH = 100


class LineDict(dict):
    """A mapping that knows the line of each of its keys."""

    line: int = 0
    key_lines: dict


class LineList(list):
    """A sequence that knows the line of each of its items."""

    line: int = 0
    item_lines: list


class _Refused(yaml.composer.ComposerError):
    """YAML that parses but that salign does not accept (aliases, anchors, deep nesting)."""

    def __init__(self, rule: str, problem: str, mark) -> None:
        super().__init__(None, None, problem, mark)
        self.rule = rule


class _Loader(yaml.SafeLoader):
    _depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused("yaml-alias", "anchors and aliases (&name, *name) are not allowed: write the value out "
                           "in full", event.start_mark)
        if self._depth >= MAX_DEPTH:
            raise _Refused("too-deep", f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line, out.key_lines = node.start_mark.line + 1, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


class _Dumper(yaml.SafeDumper):
    """Writes every value out in full: salign's own files never hold the anchors and aliases its loader refuses."""

    def ignore_aliases(self, data) -> bool:
        return True


def dump_yaml(data: Any, **options) -> str:
    """``yaml.safe_dump`` without anchors or aliases (options as for ``safe_dump``)."""
    return yaml.dump(data, Dumper=_Dumper, **options)


def load_yaml(path: Path) -> Any:
    """Parse a YAML file safely; a syntax error becomes a :class:`WorkspaceError` naming file:line."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise WorkspaceError([Problem(str(path), "too-large", f"{path.stat().st_size:,} bytes; a YAML file of "
                                          f"salign's may hold at most {MAX_BYTES:,} bytes")], str(path))
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkspaceError([Problem(str(path), "missing-file", "file not found")], str(path)) from None
    except UnicodeDecodeError as exc:
        raise WorkspaceError([Problem(str(path), "encoding", f"not UTF-8 text ({exc.reason})")], str(path)) from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        msg = getattr(exc, "problem", None) or str(exc)
        rule = getattr(exc, "rule", "yaml-syntax")
        raise WorkspaceError([Problem(str(path), rule, str(msg), line=line)], str(path)) from None


def line_of(data: Any, loc: tuple) -> int | None:
    """Best line number for a pydantic error location within parsed YAML."""
    line, node = getattr(data, "line", None), data
    for part in loc:
        if isinstance(node, LineDict) and part in node:
            line, node = node.key_lines[part], node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and part < len(node):
            line, node = node.item_lines[part], node[part]
        elif isinstance(node, LineDict) and isinstance(part, str) and part not in node:
            break  # a missing key: the line of its parent mapping is the best we have
        else:
            continue  # pydantic adds union/tag names to loc; skip them
    return line


def problems_from(exc: ValidationError, data: Any, file: str) -> list[Problem]:
    """Turn a pydantic ValidationError into located problems."""
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        field = ".".join(str(p) for p in loc) or None
        rule = {"extra_forbidden": "unknown-key", "missing": "missing-key"}.get(err["type"], err["type"])
        value = err.get("input") if err["type"] != "missing" else None
        if isinstance(value, (dict, list)):
            value = None
        msg = err["msg"] if rule != "unknown-key" else "unknown key (check the spelling against the documentation)"
        out.append(Problem(file, rule, msg, column=field, line=line_of(data, loc), value=None if value is None else str(value)))
    return out


def validate(model: type[M], data: Any, file: str) -> M:
    """Validate parsed YAML against ``model``; raise :class:`WorkspaceError` listing every problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise WorkspaceError(problems_from(exc, data, file), file) from None


def load_model(model: type[M], path: Path) -> M:
    """Load and strictly validate a YAML file."""
    return validate(model, load_yaml(path), str(path))
