"""Problems found in inputs, collected before failing and reported together."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located as precisely as the input allows.

    Attributes
    ----------
    file : str
        The file (or table/query) the problem is in.
    rule : str
        Short name of the rule that was broken, e.g. ``required-column``.
    message : str
        Plain-words explanation, including what to do where obvious.
    column, line, value : optional
        Where: the column, the 1-based line in the file (header is line 1),
        the offending value as read.
    """

    file: str
    rule: str
    message: str
    column: str | None = None
    line: int | None = None
    value: str | None = None

    def __post_init__(self) -> None:
        if self.value is not None and not isinstance(self.value, str):
            v = self.value
            text = str(int(v)) if isinstance(v, float) and float(v).is_integer() else str(v)
            object.__setattr__(self, "value", text)
        if self.line is not None:
            object.__setattr__(self, "line", int(self.line))

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line is not None else "")
        parts = [where]
        if self.column is not None:
            parts.append(f"column '{self.column}'")
        if self.value is not None:
            v = str(self.value)
            parts.append(f"value {v[:60]!r}" + ("..." if len(v) > 60 else ""))
        return f"{', '.join(parts)}: {self.message} [{self.rule}]"


class WorkspaceError(Exception):
    """Raised when a workspace has problems; carries every problem found."""

    def __init__(self, problems: list[Problem], what: str = "workspace"):
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{what}: {n} problem{'s' if n != 1 else ''} found"
        lines = [head] + [f"  - {p}" for p in self.problems[:200]]
        if n > 200:
            lines.append(f"  ... and {n - 200} more")
        super().__init__("\n".join(lines))


class Collector:
    """Accumulates problems; ``raise_if_any`` fails once with all of them."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, file: str, rule: str, message: str, column=None, line=None, value=None) -> None:
        self.problems.append(Problem(str(file), rule, message, column, line, None if value is None else str(value)))

    def extend(self, problems) -> None:
        self.problems.extend(problems)

    def raise_if_any(self, what: str = "workspace") -> None:
        if self.problems:
            raise WorkspaceError(self.problems, what)
