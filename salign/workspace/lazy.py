"""A table left in the typed snapshot's Parquet file until a pandas frame of it is needed.

At a million leads the activities are ten million rows: as Python objects they would take gigabytes in every
kernel, while the work over them runs in the engine (:mod:`salign.workspace.engine`) and needs no frame. A
:class:`LazyFrame` stands in for such a table in :class:`~salign.workspace.tables.Tables`: its columns, dtypes
and length are known without reading it, and anything else (``frame[...]``, ``.loc``, ``.groupby``) reads it
once and answers from the frame, exactly as if it had been loaded. A review that never asks keeps it on disk.

``SALIGN_LAZY=activities`` in the environment makes reading that table as a frame an error (:class:`LazyRead`):
the tests run the review that way to show that no analysis needs the activities as a frame.
"""
from __future__ import annotations

import os

import pandas as pd
import pyarrow.parquet as pq

#: the environment variable naming the lazy tables that may not be read as a frame (``activities,stages``;
#: ``strict``: none may)
STRICT = "SALIGN_LAZY"


class LazyRead(RuntimeError):
    """A lazy table was read as a frame while ``SALIGN_LAZY`` forbids it."""


class LazyFrame:
    """The Parquet file ``path`` as a pandas frame read on first use (``read``: the function that reads it,
    giving exactly the frame an eager load gives; it takes ``columns=`` to read only some).

    A cut (:meth:`until`, as :func:`salign.common.periods.known_at` cuts loaded frames) keeps the rows dated
    before a moment (column ``at``; undated rows stay) and, optionally, those whose ``column`` holds one of
    ``values``. ``dtypes`` (column -> dtype name) names the dtypes ``read`` gives where the file's own differ.
    """

    def __init__(self, path, read, dtypes: dict | None = None):
        self.path = path
        self._read = read
        self.before = None
        self.among = None
        self._frame = None
        meta = pq.read_metadata(path)
        self._rows = meta.num_rows
        self.dtypes = meta.schema.to_arrow_schema().empty_table().to_pandas().dtypes
        if dtypes:  # the frame's own dtypes where the file stores a column otherwise (times as microseconds)
            self.dtypes = pd.Series({c: pd.api.types.pandas_dtype(dtypes.get(c, d)) for c, d in self.dtypes.items()},
                                    dtype=object)
        self.columns = self.dtypes.index

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def loaded(self) -> bool:
        """Whether the frame has been read."""
        return self._frame is not None

    def _kept(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``frame`` the cut keeps."""
        keep = pd.Series(True, index=frame.index)
        if self.before is not None:
            keep &= frame["at"].isna() | (frame["at"] < self.before)
        if self.among is not None:
            keep &= frame[self.among[0]].isin(self.among[1])
        return frame if keep.all() else frame[keep]

    def _cut_columns(self) -> list:
        return (["at"] if self.before is not None else []) + ([self.among[0]] if self.among is not None else [])

    def frame(self) -> pd.DataFrame:
        """The table as pandas (read once, then kept)."""
        if self._frame is None:
            forbidden = os.environ.get(STRICT, "").lower()
            if forbidden == "strict" or self.name in forbidden.split(","):
                raise LazyRead(f"{self.path.name} was read as a pandas frame ({STRICT}={forbidden})")
            frame = self._read(self.path)
            self._frame = self._kept(frame).copy() if self._cut_columns() else frame
        return self._frame

    def until(self, when: pd.Timestamp, among: tuple | None = None) -> "LazyFrame":
        """The same table cut to rows dated before ``when`` and, with ``among=(column, values)``, to those rows
        whose ``column`` is in ``values`` (still unread)."""
        cut = LazyFrame.__new__(LazyFrame)
        cut.__dict__.update(self.__dict__, _frame=None, before=when if self.before is None else min(when, self.before),
                            among=among if among is not None else self.among)
        if self._frame is not None:  # already read: cut the frame instead of reading again
            cut._frame = cut._kept(self._frame).copy()
        return cut

    def __len__(self) -> int:
        if self._frame is not None:
            return len(self._frame)
        if not self._cut_columns():
            return self._rows
        return len(self._kept(self._read(self.path, columns=self._cut_columns())))

    def __getitem__(self, key):
        if self._frame is None and isinstance(key, str) and key in self.columns:
            return self.column(key)
        return self.frame()[key]

    def column(self, name: str) -> pd.Series:
        """One column as the frame would hold it (same values, dtype and index), reading only that column (and
        those of the cut) from the file: cheap, so allowed whatever ``SALIGN_LAZY`` says."""
        if self._frame is not None:
            return self._frame[name]
        part = self._read(self.path, columns=list(dict.fromkeys([name, *self._cut_columns()])))
        return self._kept(part)[name]

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.frame(), name)

    def __repr__(self) -> str:
        return f"LazyFrame({self.path}, {'read' if self.loaded else 'not read'})"
