"""A table left in the typed snapshot's Parquet file until a pandas frame of it is needed.

At a million leads the activities are ten million rows: as Python objects they would take gigabytes in every
kernel, while the work over them runs in the engine (:mod:`salign.workspace.engine`) and needs no frame. A
:class:`LazyFrame` stands in for such a table in :class:`~salign.workspace.tables.Tables`: its columns, dtypes
and length are known without reading it, and anything else (``frame[...]``, ``.loc``, ``.groupby``) reads it
once and answers from the frame, exactly as if it had been loaded. A review that never asks keeps it on disk.

``SALIGN_LAZY=strict`` in the environment makes reading one an error (:class:`LazyRead`) instead: the tests run
the review that way to show that no analysis needs the activities as a frame.
"""
from __future__ import annotations

import os

import pandas as pd
import pyarrow.parquet as pq

#: the environment variable that makes reading a lazy table an error (value ``strict``)
STRICT = "SALIGN_LAZY"


class LazyRead(RuntimeError):
    """A lazy table was read as a frame while ``SALIGN_LAZY=strict``."""


class LazyFrame:
    """The Parquet file ``path`` as a pandas frame read on first use (``read``: the function that reads it,
    giving exactly the frame an eager load gives), optionally cut to rows dated before ``before`` (in column
    ``at``; undated rows stay), as :func:`salign.common.periods.known_at` cuts loaded frames. ``dtypes``
    (column -> dtype name) names the dtypes ``read`` gives where the file's own differ."""

    def __init__(self, path, read, before: pd.Timestamp | None = None, dtypes: dict | None = None):
        self.path = path
        self._read = read
        self.before = before
        self._frame = None
        meta = pq.read_metadata(path)
        self._rows = meta.num_rows
        self.dtypes = meta.schema.to_arrow_schema().empty_table().to_pandas().dtypes
        if dtypes:  # the frame's own dtypes where the file stores a column otherwise (times as microseconds)
            self.dtypes = pd.Series({c: pd.api.types.pandas_dtype(dtypes.get(c, d)) for c, d in self.dtypes.items()},
                                    dtype=object)
        self.columns = self.dtypes.index

    @property
    def loaded(self) -> bool:
        """Whether the frame has been read."""
        return self._frame is not None

    def frame(self) -> pd.DataFrame:
        """The table as pandas (read once, then kept)."""
        if self._frame is None:
            if os.environ.get(STRICT, "").lower() == "strict":
                raise LazyRead(f"{self.path.name} was read as a pandas frame ({STRICT}=strict)")
            frame = self._read(self.path)
            if self.before is not None:
                frame = frame[frame["at"].isna() | (frame["at"] < self.before)].copy()
            self._frame = frame
        return self._frame

    def until(self, when: pd.Timestamp) -> "LazyFrame":
        """The same table cut to rows dated before ``when`` (still unread)."""
        cut = LazyFrame.__new__(LazyFrame)
        cut.__dict__.update(self.__dict__, _frame=None,
                            before=when if self.before is None else min(when, self.before))
        if self._frame is not None:  # already read: cut the frame instead of reading again
            cut._frame = self._frame[self._frame["at"].isna() | (self._frame["at"] < when)].copy()
        return cut

    def __len__(self) -> int:
        if self._frame is not None:
            return len(self._frame)
        if self.before is None:
            return self._rows
        at = pq.read_table(self.path, columns=["at"]).column("at").to_pandas()
        return int((at.isna() | (at < self.before)).sum())

    def __getitem__(self, key):
        if self._frame is None and isinstance(key, str) and key in self.columns:
            return self.column(key)
        return self.frame()[key]

    def column(self, name: str) -> pd.Series:
        """One column as the frame would hold it (same values, dtype and index), reading only that column (and
        ``at`` for a cut) from the file: cheap, so allowed in strict mode too."""
        if self._frame is not None:
            return self._frame[name]
        cols = [name] if self.before is None or name == "at" else [name, "at"]
        part = self._read(self.path, columns=cols)
        if self.before is not None:
            part = part[part["at"].isna() | (part["at"] < self.before)]
        return part[name]

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.frame(), name)

    def __repr__(self) -> str:
        return f"LazyFrame({self.path}, {'read' if self.loaded else 'not read'})"
