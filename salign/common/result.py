"""What an analysis returns: data for people (text, tables, figures, metrics), never HTML.

An analysis result is a :class:`Result`: a ``title``, ``blocks()`` (what a reader sees, in
order: paragraphs, bullet lists, tables), ``draw()`` (a matplotlib Figure or None; ``figure()``
returns it labelled with ``figure_description``, the image's alternative text), ``metrics()`` (the figures written to ``metrics.json``)
and ``methods()`` (how it was computed: test names, corrections, interval methods, diagnostics; the report
moves them to a "How this was computed" part at the end of the page, so the findings read in plain words). Only
:mod:`salign.report` turns blocks into HTML (escaping every text); notebooks display results
through the formatter the runner registers.

Text is plain: a paragraph is a sequence of parts, each a string or a span
(:class:`Strong`, :class:`Em`, :class:`Code`) that the report renders with emphasis.

>>> Paragraph(Strong("Immature cohort:"), " 12 of 40 leads had less than 90 days.").text
'Immature cohort: 12 of 40 leads had less than 90 days.'
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Strong:
    """Text a reader should not miss."""

    text: str


@dataclass(frozen=True)
class Em:
    """Text set apart (a term, a name)."""

    text: str


@dataclass(frozen=True)
class Code:
    """A file, column or value name as typed."""

    text: str


Part = str | Strong | Em | Code


def _parts(parts) -> tuple:
    out = []
    for p in parts:
        if p is None or p == "":
            continue
        if not isinstance(p, (str, Strong, Em, Code)):
            raise TypeError(f"a paragraph holds text and spans, not {type(p).__name__}")
        out.append(p)
    return tuple(out)


class Paragraph:
    """One paragraph: ``Paragraph("text", Strong("bold"), " more")``; ``note=True`` for a side remark."""

    __slots__ = ("parts", "note")

    def __init__(self, *parts: Part, note: bool = False):
        self.parts = _parts(parts)
        self.note = note

    @property
    def text(self) -> str:
        """The paragraph as plain text (for tests and the PII scan)."""
        return "".join(p if isinstance(p, str) else p.text for p in self.parts)

    def __repr__(self) -> str:
        return f"Paragraph({self.text!r}{', note=True' if self.note else ''})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Paragraph) and (self.parts, self.note) == (other.parts, other.note)

    def __hash__(self) -> int:
        return hash((self.parts, self.note))


class Bullets:
    """A bullet list; each item is a string or a tuple of parts, like a paragraph's."""

    __slots__ = ("items",)

    def __init__(self, items):
        self.items = tuple(_parts(i if isinstance(i, (tuple, list)) else (i,)) for i in items)

    @property
    def texts(self) -> list[str]:
        return ["".join(p if isinstance(p, str) else p.text for p in item) for item in self.items]

    def __repr__(self) -> str:
        return f"Bullets({self.texts!r})"


@dataclass
class Table:
    """A table for people: ``frame`` as shown (its cells already formatted with :mod:`salign.core.fmt`
    where they carry units), an optional ``caption``, the row ``index`` shown or not, at most ``max_rows``."""

    frame: pd.DataFrame
    caption: str = ""
    index: bool = False
    max_rows: int = 60


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a result (below the section's own heading)."""

    text: str


Block = Paragraph | Bullets | Table | Heading


class Result:
    """Base of analysis results; subclasses set ``title`` and override what they have."""

    title: str = ""
    #: what the figure shows, in words (the image's alternative text); empty: the figure's own title
    figure_description: str = ""

    def blocks(self) -> list[Block]:
        return []

    def metrics(self) -> dict:
        return {}

    def methods(self) -> list[Block]:
        """How the result was computed, for the reader who asks: test names, corrections for many comparisons,
        interval methods, model diagnostics and the figures behind them (blocks, like :meth:`blocks`).

        The report gathers every result's methods into one "How this was computed" part at the end of the
        page, so that the findings above read in plain words; empty: nothing to add."""
        return []

    def draw(self):
        """The result's matplotlib Figure, or None; subclasses with a picture override this."""
        return None

    def figure(self):
        """The figure, labelled with :attr:`figure_description` (the report's alternative text for the image)."""
        fig = self.draw()
        if fig is not None:
            fig.set_label(self.figure_description)
        return fig


@dataclass
class Skipped(Result):
    """Stands in for a result an analysis could not produce, and says why."""

    what: str
    reason: str

    def __repr__(self) -> str:
        return f"Skipped: {self.what} - {self.reason}"

    def metrics(self) -> dict:
        return {"skipped": self.reason}
