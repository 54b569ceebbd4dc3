"""Checks of the canonical tables: every row that breaks a rule, named by table, column, line and value."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from salign.core.problems import Problem
from salign.workspace.schema import FUNNEL, TABLES

#: Timestamps outside these years cannot be real CRM events (spreadsheet epochs, typos like 0205, 9999).
PLAUSIBLE_YEARS = (1900, 2100)
#: Largest believable value of a number column (a paste of a phone number, a currency in cents, a typo):
#: the world's largest employer has about 2.3 million people, its largest company about 700 billion in revenue.
PLAUSIBLE_MAX = {"employees": 5_000_000, "annual_revenue": 2e12, "amount": 1e11}
#: Problems shown per table, column and rule; a summary line counts the rest.
SHOWN = 20


@dataclass
class Check:
    """Rows of one table that break one rule.

    ``detail`` holds per-row explanations (keyed by the row's index label), appended to ``message``.
    """

    table: str
    rule: str
    column: str | None
    mask: pd.Series
    message: str
    detail: dict = field(default_factory=dict)

    def problems(self, frame, file: str, limit: int = SHOWN) -> list:
        hits = list(self.mask[self.mask].index)
        out = [Problem(file, self.rule, self.message + self.detail.get(i, ""), column=self.column, line=int(i),
                       value=None if self.column is None or self.column not in frame.columns else _shown(frame.at[i, self.column]))
               for i in hits[:limit]]
        if len(hits) > limit:
            out.append(Problem(file, self.rule, f"{len(hits) - limit} more rows break this rule", column=self.column))
        return out


def _shown(v):

    if v is None or (not isinstance(v, (list, tuple)) and pd.isna(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return v


def row_checks(name: str, frame, strings: dict | None = None) -> list[Check]:
    """Rules about single rows of one typed table: required values, vocabularies, minimums, plausible dates,
    and times that must not run backwards within a row.

    ``strings`` may hold text columns as Arrow strings with exactly the frame's values (faster to check)."""

    spec, out = TABLES[name], []
    strings = strings or {}
    for col in spec.columns:
        if col.name not in frame.columns:
            continue
        values = frame[col.name]
        arr = strings.get(col.name)
        if col.required:
            missing = values.isna() if arr is None else pd.Series(~_valid(arr), index=frame.index)
            out.append(Check(name, "required-value", col.name, missing, "this column must not be empty"))
        if col.vocabulary:
            if arr is None:
                other = values.notna() & ~values.isin(col.vocabulary)
            else:
                known = pc.fill_null(pc.is_in(arr, value_set=pa.array(col.vocabulary, pa.string())), True)
                other = pd.Series(~np.asarray(known.to_numpy(zero_copy_only=False), dtype=bool), index=frame.index)
            out.append(Check(name, "vocabulary", col.name, other, f"must be one of {', '.join(col.vocabulary)}"))
        if col.min is not None and pd.api.types.is_numeric_dtype(values):
            out.append(Check(name, "minimum", col.name, values.notna() & (values < col.min), f"must be at least {col.min:g}"))
        if col.name in PLAUSIBLE_MAX and pd.api.types.is_numeric_dtype(values):
            top = PLAUSIBLE_MAX[col.name]
            out.append(Check(name, "implausible-value", col.name, values.notna() & (values > top),
                             f"more than {top:,.0f} is not believable for {col.name}: a typo, a pasted number or "
                             "a different unit (cents)?"))
        if col.kind == "datetime" and pd.api.types.is_datetime64_any_dtype(values):
            years = values.dt.year
            out.append(Check(name, "implausible-date", col.name,
                             values.notna() & ((years < PLAUSIBLE_YEARS[0]) | (years > PLAUSIBLE_YEARS[1])),
                             f"a CRM date must lie between {PLAUSIBLE_YEARS[0]} and {PLAUSIBLE_YEARS[1]}"))
    for start, end in ((("created_at", "closed_at"),) if name == "opportunities" else
                       (("created_at", "churned_at"),) if name == "accounts" else
                       (("created_at", "updated_at"),) if name == "content" else ()):
        if start in frame.columns and end in frame.columns and pd.api.types.is_datetime64_any_dtype(frame[end]) \
                and pd.api.types.is_datetime64_any_dtype(frame[start]):
            back = frame[end].notna() & frame[start].notna() & (frame[end] < frame[start])
            out.append(Check(name, "time-order", end, back, f"{end} is before {start}",
                             {i: f" ({frame.at[i, start]:%Y-%m-%d %H:%M})" for i in back[back].index[:SHOWN]}))
    if name == "opportunities" and {"outcome", "closed_at"} <= set(frame.columns):
        open_closed = frame["outcome"].eq("open") & frame["closed_at"].notna()
        out.append(Check(name, "outcome-closed", "closed_at", open_closed,
                         "an open opportunity has a close date; the outcome says open but the deal was closed"))
    return out


def key_checks(name: str, frame, ids: Ids | None = None, strings: dict | None = None) -> list[Check]:
    """Duplicate keys: exact repeats of an earlier row, and repeats whose other values conflict.

    ``ids`` (:class:`Ids` of all the tables) holds the id columns as integers, which compare faster; ``strings``
    text columns as Arrow strings with exactly the frame's values.
    """
    spec = TABLES[name]
    key = list(spec.key)
    if not all(k in frame.columns for k in key):
        return []
    dup = _duplicated(name, frame, key, ids, strings or {})
    if not dup.any():
        return []
    exact = frame.astype(str).duplicated(keep="first") & dup
    first_line = {}
    for i, k in zip(frame.index, map(tuple, frame[key].astype(str).to_numpy())):
        first_line.setdefault(k, i)
    detail = {}
    for i in dup[dup].index[:SHOWN]:
        k = tuple(frame.loc[i, key].astype(str)) if frame.index.is_unique else None
        j = first_line.get(k)
        if j is None:
            continue
        if exact[i]:
            detail[i] = f" (an exact repeat of line {j})"
        else:
            diff = [c for c in frame.columns if c not in key and str(frame.at[i, c]) != str(frame.at[j, c])]
            shown = "; ".join(f"{c}: {_shown(frame.at[j, c])!r} vs {_shown(frame.at[i, c])!r}" for c in diff[:3])
            detail[i] = f" with different values than line {j} ({shown})"
    label = ", ".join(key)
    return [Check(name, "duplicate-key", key[0], dup, f"the key ({label}) appears more than once", detail)]


def _duplicated(name: str, frame, key: list[str], ids: Ids | None, strings: dict) -> pd.Series:
    """``frame.duplicated(key, keep="first")``, on integer codes where it can (ids, times, small vocabularies)."""
    if ids is not None and len(key) == 1 and (name, key[0]) in ids.first:
        return pd.Series(~ids.first[name, key[0]], index=frame.index)
    if ids is None or len(key) == 1:
        return frame.duplicated(key, keep="first")
    codes = []  # per column, codes 0 .. n-1 (a missing value is one of them)
    for col in key:
        values = frame[col]
        if (name, col) in ids.codes:
            codes.append(ids.codes[name, col])
        elif col in strings:
            codes.append(_codes(strings[col]))
        elif pd.api.types.is_datetime64_any_dtype(values):
            codes.append(pd.factorize(values.dt.as_unit("ns").array.asi8)[0])
        else:
            codes.append(pd.factorize(values, use_na_sentinel=False)[0])
    sizes = [int(c.max()) + 1 if len(c) else 1 for c in codes]
    if np.prod([float(n) for n in sizes]) >= 2.0**62:
        return pd.DataFrame(dict(enumerate(codes)), index=frame.index).duplicated(keep="first")
    whole = np.zeros(len(frame), dtype=np.int64)  # the columns' codes as one number per row
    for c, n in zip(codes, sizes):
        whole = whole * n + c
    return pd.Series(pd.Series(whole).duplicated(keep="first").to_numpy(), index=frame.index)


def _codes(arr: pa.Array) -> np.ndarray:
    """Codes of Arrow values, in order of first appearance; missing is a value."""
    return np.asarray(pc.dictionary_encode(arr, null_encoding="encode").indices.to_numpy(zero_copy_only=False),
                      dtype=np.int64)


class Ids:
    """The id columns of all tables as integer codes: for each table another one references, its key and every
    column referencing it, encoded together (Arrow's hashing, once), so that equal ids have equal codes.

    Attributes
    ----------
    codes : dict
        ``(table, column) -> codes`` (a missing id has a code too, as pandas groups missing values together).
    valid : dict
        ``(table, column) -> whether the id is there``.
    known : dict
        ``table -> K``: the codes of its key's values are exactly ``0 .. K-1`` (the key is encoded first).
    first : dict
        ``(table, key) -> whether the row is the first with its key`` (keys only).
    """

    def __init__(self, frames: dict, strings: dict | None = None):
        self.codes, self.valid, self.known, self.first = {}, {}, {}, {}
        universes = []
        strings = strings or {}
        for target, spec in TABLES.items():
            if target not in frames or len(spec.key) != 1 or spec.key[0] not in frames[target].columns:
                continue  # (a table keyed by several columns, as stages, is referenced by none)
            parts = [(target, spec.key[0])] + [(name, col) for name, frame in frames.items()
                                               for col, to in TABLES[name].references.items()
                                               if to == target and col in frame.columns]
            arrays = [strings.get(n, {}).get(c) for n, c in parts]
            arrays = [_strings(frames[n][c]) if a is None else a for (n, c), a in zip(parts, arrays)]
            if all(a is not None for a in arrays):
                universes.append((target, parts, arrays))
        with ThreadPoolExecutor(2) as pool:  # Arrow hashes without holding the interpreter: two tables at once
            for (target, parts, arrays), codes in zip(universes, pool.map(_encode, [u[2] for u in universes])):
                self._keep(target, parts, arrays, codes)

    def _keep(self, target: str, parts: list, arrays: list, codes: np.ndarray) -> None:
        n = len(arrays[0])
        own = codes[:n]
        seen = np.maximum.accumulate(own) if n else own
        first = own > np.r_[-1, seen[:-1]] if n else np.zeros(0, dtype=bool)
        if not np.array_equal(own[first], np.arange(int(first.sum()))):
            return  # codes not in order of first appearance: leave this table to pandas
        self.known[target] = int(first.sum())
        self.first[target, parts[0][1]] = first
        start = 0
        for (name, col), arr in zip(parts, arrays):
            self.codes[name, col] = codes[start: start + len(arr)]
            self.valid[name, col] = _valid(arr)
            start += len(arr)


def _valid(arr: pa.Array) -> np.ndarray:
    """Which values of ``arr`` are there (not null)."""
    return np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _encode(arrays: list) -> np.ndarray:
    """Codes of the values of ``arrays`` (one after another), in order of first appearance; missing is a value."""
    words = _words(arrays)  # short ids (the usual case) as integers, which hash much faster than strings
    whole = pa.array(words) if words is not None else pa.concat_arrays(arrays) if len(arrays) > 1 else arrays[0]
    encoded = pc.dictionary_encode(whole, null_encoding="encode")
    return np.array(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)  # owned, not a view


#: The low ``k`` bytes of a 64-bit word, for ``k`` = 0 .. 7.
_LOW_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(8)], dtype=np.uint64)
#: The word of a missing value: eight bytes 0xFF, which no UTF-8 text holds (nor a length byte up to 7).
_MISSING_WORD = np.uint64(2**64 - 1)


def _words(arrays: list) -> np.ndarray | None:
    """The values of Arrow string ``arrays`` (one after another) as 64-bit words, equal exactly where the values are
    (missing ones too), or ``None`` if a value is longer than 8 bytes (or values of 8 bytes mix with shorter ones).

    A word holds the value's bytes and, for values up to 7 bytes, its length in the top byte; a value of 8 bytes
    is its bytes alone (all values are then 8 bytes long)."""
    pieces = []
    for arr in arrays:
        n = len(arr)
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset: arr.offset + n + 1] if n else \
            np.zeros(1, dtype=np.int32)
        buf = arr.buffers()[2]
        data = np.frombuffer(buf, dtype=np.uint8) if buf is not None else np.zeros(0, dtype=np.uint8)
        pieces.append((offsets, data, _valid(arr) if arr.null_count else None))
    sizes = [np.diff(o)[v] if v is not None else np.diff(o) for o, _, v in pieces]
    filled = [s for s in sizes if len(s)]
    if not filled:
        return np.full(sum(len(o) - 1 for o, _, _ in pieces), _MISSING_WORD)
    longest = max(int(s.max()) for s in filled)
    shortest = min(int(s.min()) for s in filled)
    if longest > 8 or (longest == 8 and shortest != 8):
        return None
    out = []
    for offsets, data, valid in pieces:
        padded = np.concatenate([data, np.zeros(8, dtype=np.uint8)])  # a word may be read past the last value
        # every byte position's following 8 bytes as one little-endian word (a view: nothing is copied)
        at = np.ndarray((len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
        size = np.diff(offsets)
        word = at[np.minimum(offsets[:-1], len(padded) - 8)]  # (an empty value at the very end reads zeros)
        if longest < 8:
            word &= _LOW_BYTES[np.minimum(size, 7)]
            word |= size.astype(np.uint64) << np.uint64(56)
        if valid is not None:
            word[~valid] = _MISSING_WORD
        out.append(word)
    return np.concatenate(out) if len(out) > 1 else out[0]


def _strings(values: pd.Series) -> pa.Array | None:
    """The column as Arrow strings (nulls where ``None``), or ``None`` if it holds something else than text and
    ``None`` (NaN, which pandas does not group with ``None``, included)."""
    if values.dtype != object:
        return None
    try:
        return pa.array(values.to_numpy(), type=pa.string(), from_pandas=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeError):
        return None


def reference_checks(frames: dict, ids: Ids | None = None) -> list[Check]:
    """References into other tables that find no row there (orphans)."""
    out = []
    for name, frame in frames.items():
        spec = TABLES[name]
        for col, target in spec.references.items():
            if col not in frame.columns or target not in frames:
                continue
            key = TABLES[target].key[0]
            if key not in frames[target].columns:
                continue
            keys = frames[target][key]
            if ids is not None and (name, col) in ids.codes:
                orphan = pd.Series(ids.valid[name, col] & (ids.codes[name, col] >= ids.known[target]),
                                   index=frame.index)
            else:
                orphan = frame[col].notna() & ~frame[col].isin(keys[keys.notna()])
            detail = {}
            if orphan.any():
                have = set(keys.dropna())
                width = _zero_padded_width(have)
                for i in orphan[orphan].index[:SHOWN]:
                    v = str(frame.at[i, col])
                    if width and v.isdigit() and v.zfill(width) in have:
                        detail[i] = (f"; {v.zfill(width)!r} exists: a spreadsheet probably dropped the leading zeros "
                                     "(export ids as text)")
            out.append(Check(name, "orphan-reference", col, orphan, f"no {target} row has {key} = this value", detail))
    return out


def _zero_padded_width(ids: set) -> int:
    padded = [v for v in ids if isinstance(v, str) and v.isdigit() and v.startswith("0")]
    return max(map(len, padded)) if padded else 0


def stage_order_checks(frames: dict, ids: Ids | None = None, strings: dict | None = None) -> list[Check]:
    """Stage histories that go back in time: a lead first reaching a later stage before an earlier one,
    or any stage before the lead was created. (``strings``: text columns as Arrow, as for :func:`validate_tables`.)"""
    stages = frames.get("stages")
    if stages is None or not {"lead_id", "stage", "at"} <= set(stages.columns) or stages.empty:
        return []
    leads = frames.get("leads")
    with_created = leads is not None and {"lead_id", "created_at"} <= set(leads.columns) and \
        pd.api.types.is_datetime64_any_dtype(leads["created_at"])
    n = len(stages)
    # one code per lead (a missing lead_id is a lead of its own), shared with the leads table
    if ids is not None and ("stages", "lead_id") in ids.codes and ("leads", "lead_id") in ids.codes:
        codes = np.concatenate([ids.codes["stages", "lead_id"], ids.codes["leads", "lead_id"]])
        n_codes = int(codes.max()) + 1 if len(codes) else 0
    else:
        both = pd.concat([stages["lead_id"], leads["lead_id"]], ignore_index=True) if with_created \
            else stages["lead_id"]
        codes, uniques = pd.factorize(both, use_na_sentinel=False)
        n_codes = len(uniques)
    lead = codes[:n]
    arrow = (strings or {}).get("stages", {}).get("stage")
    if arrow is not None:  # (as pd.factorize: -1 where missing)
        encoded = pc.dictionary_encode(arrow)
        stage_codes = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
        stage_names = encoded.dictionary.to_pylist()
    else:
        stage_codes, stage_names = pd.factorize(stages["stage"])
    position = np.array([FUNNEL.index(s) if s in FUNNEL else -1 for s in stage_names] + [-1])[stage_codes]
    at = stages["at"].dt.as_unit("ns").array.asi8 if pd.api.types.is_datetime64_any_dtype(stages["at"]) else None
    out = []
    if at is not None:
        nat = np.iinfo(np.int64).min
        rows = np.flatnonzero((position >= 0) & (at != nat))
        # each (lead, stage)'s first time, the earliest row among equal times
        key = lead[rows].astype(np.int64) * len(FUNNEL) + position[rows]
        order = np.lexsort((at[rows], key))  # stable: among equal times the earlier row comes first
        rows, key = rows[order], key[order]
        first = rows[np.r_[True, key[1:] != key[:-1]]]
        leads_of, where = np.unique(lead[first], return_inverse=True)
        wide = np.full((len(leads_of), len(FUNNEL)), nat, dtype=np.int64)
        wide[where, position[first]] = at[first]
        earlier = np.maximum.accumulate(wide, axis=1)  # NaT is the smallest int64
        back = np.zeros_like(wide, dtype=bool)
        back[:, 1:] = (wide[:, 1:] < earlier[:, :-1]) & (wide[:, 1:] != nat)
        bad = first[back[where, position[first]]]
        mask = np.zeros(n, dtype=bool)
        mask[bad] = True
        detail = {}
        index = stages.index
        for i in bad[np.lexsort((bad, at[bad]))][:SHOWN]:  # in time order, as a stable sort by time gives them
            row = wide[np.searchsorted(leads_of, lead[i])]
            later = [p for p in range(position[i]) if row[p] != nat and row[p] > at[i]]
            label = index[i]
            detail[label] = (f" (lead {stages.at[label, 'lead_id']} reached {stages.at[label, 'stage']} at "
                             f"{stages.at[label, 'at']:%Y-%m-%d %H:%M}, before {FUNNEL[later[0]]} at "
                             f"{pd.Timestamp(row[later[0]], tz='UTC').tz_convert(stages['at'].dt.tz):%Y-%m-%d %H:%M})")
        out.append(Check("stages", "stage-order", "stage", pd.Series(mask, index=stages.index), "this stage was first "
                         f"reached before an earlier stage of the funnel ({' < '.join(FUNNEL)}): the history goes "
                         "backwards", detail))
    if with_created:
        created = leads["created_at"].dt.as_unit("ns").array.asi8
        first_row = np.full(n_codes, -1, dtype=np.int64)
        lead_rows = codes[n:]
        seen, first_at = np.unique(lead_rows, return_index=True)
        first_row[seen] = first_at  # the first row of each lead_id, as drop_duplicates keeps it
        row = first_row[lead]
        found = row >= 0
        made_ns = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
        made_ns[found] = created[row[found]]
        made = pd.Series(made_ns.view("M8[ns]"), index=stages.index).dt.tz_localize("UTC").dt.tz_convert(
            leads["created_at"].dt.tz).dt.as_unit(leads["created_at"].dt.unit)
        early = stages["at"].notna() & made.notna() & (stages["at"] < made)
        out.append(Check("stages", "before-created", "at", early, "this stage event is before the lead was created",
                         {i: f" (lead created {made[i]:%Y-%m-%d %H:%M})" for i in early[early].index[:SHOWN]}))
    return out


def currency_checks(frames: dict, currency: str, rates: dict) -> list[Check]:
    """Amounts in a currency other than the workspace's, with no exchange rate declared."""
    out = []
    for name, frame in frames.items():
        if "currency" not in frame.columns:
            continue
        values = frame["currency"].astype("string").str.strip().str.upper()
        foreign = values.notna() & (values != currency.upper()) & ~values.isin([c.upper() for c in rates])
        out.append(Check(name, "mixed-currency", "currency", foreign.fillna(False).astype(bool),
                         f"amounts in this currency cannot be added to {currency} amounts: declare exchange_rates "
                         f"in workspace.yaml (1 unit of it in {currency}) or convert the amounts"))
    return out


def future_problems(frames: dict, files: dict, cutoff: pd.Timestamp, declared: bool) -> list:
    """Rows dated at or after ``cutoff`` (the declared ``as_of``, else now), in every timestamp column.

    These are warnings, not errors: CRM exports often hold tasks scheduled in the future. The review reads
    the data up to ``as_of`` and ignores them; the warning says so, and names them in case a date is a typo.
    """
    what = "the workspace's as_of" if declared else "today (no as_of is declared)"
    checks = [Check(name, "future-date", col, frame[col].notna() & (frame[col] >= cutoff),
                    f"dated after {what}, {cutoff:%Y-%m-%d}: a warning (a scheduled task is normal; a typo in "
                    "the year is not); the review ignores events after the cut-off")
              for name, frame in frames.items() for col in frame.columns
              if pd.api.types.is_datetime64_any_dtype(frame[col])]
    return [p for c in checks for p in c.problems(frames[c.table], str(files[c.table]))]


def validate_tables(frames: dict, files: dict, currency: str | None = None, rates: dict | None = None,
                    strings: dict | None = None) -> list:
    """Check typed frames against the data model; return every problem (never raises).

    Rules: required columns present and filled, vocabularies, minimums, plausible dates,
    times in order, unique keys, references into other tables, stage histories that do not
    go backwards, and (when ``currency`` is given) one currency or declared exchange rates.
    ``strings`` (table -> column -> Arrow strings holding exactly the frame's values, as
    :func:`salign.workspace.files.read_table` gives them) makes the checks of those columns faster.
    """
    strings = strings or {}
    problems: list[Problem] = []
    checks: list[Check] = []
    for name, frame in frames.items():
        spec, file = TABLES[name], str(files[name])
        for c in [c for c in spec.required if c not in frame.columns]:
            problems.append(Problem(file, "required-column", f"table '{name}' needs this column "
                                    f"(has: {', '.join(map(str, frame.columns))})" + _spaced(c, frame)
                                    + _looks_like(name, frame),
                                    column=c, line=1, value=",".join(map(str, frame.columns))))
    with ThreadPoolExecutor(1) as pool:  # the ids are encoded while the rows are checked
        pending = pool.submit(Ids, frames, strings)
        rows = {name: row_checks(name, frame, strings.get(name)) for name, frame in frames.items()}
        ids = pending.result()
    for name, frame in frames.items():
        checks += rows[name] + key_checks(name, frame, ids, strings.get(name))
    checks += reference_checks(frames, ids) + stage_order_checks(frames, ids, strings)
    if currency is not None:
        checks += currency_checks(frames, currency, rates or {})
    for check in checks:
        problems += check.problems(frames[check.table], str(files[check.table]))
    return problems


def _spaced(column: str, frame) -> str:
    """'; the header has ' source ' ...' when the column is there but with spaces around its name."""
    near = [str(c) for c in frame.columns if str(c).strip() == column]
    return (f"; the header has {near[0]!r}, with spaces around the name: remove them from the header line"
            if near else "")


def _looks_like(name: str, frame) -> str:
    """' - it looks like the X table' when the header matches another table's required columns."""
    cols = set(map(str, frame.columns))
    for other, spec in TABLES.items():
        if other != name and set(spec.required) <= cols and TABLES[name].key[0] not in cols:
            return f"; the header looks like the '{other}' table: is the file declared under the right table?"
    return ""
