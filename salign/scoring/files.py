"""``salign score`` file handling: read a leads file as text, write the scored copy atomically.

The leads file is read, never written: every value is kept as its text (identifiers with
leading zeros stay intact) and the output is a new file carrying the input columns plus the
score columns, written to a temporary file next to ``out`` and renamed into place. In a CSV,
text a spreadsheet would run as a formula gets a leading quote (:mod:`salign.core.csvsafe`).
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from salign.core import csvsafe
from salign.core.problems import Problem, WorkspaceError
from salign.definitions.qualification import load_definition
from salign.scoring.score import Scorer

PARQUET = (".parquet", ".pq")
#: every CSV column is read as dictionary-encoded text: values stay exactly as written, and each
#: distinct value is stored (and later looked at by the scorer) once
TEXT = pa.dictionary(pa.int32(), pa.string())
#: bytes parsed per block: few blocks, so few per-block dictionaries to unify when scoring
BLOCK = 64 << 20


def read_leads(path: Path) -> pd.DataFrame:
    """A CSV (UTF-8, comma-separated, header row) or Parquet file of leads, CSV values as text.

    Columns are Arrow-backed and dictionary-encoded (pyarrow reads the file), which is also what
    makes scoring fast.
    """
    if not path.is_file():
        raise WorkspaceError([Problem(str(path), "missing-file", "file not found")], str(path))
    if path.suffix.lower() in PARQUET:
        return pd.read_parquet(path, dtype_backend="pyarrow")
    try:
        names = pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns
        convert = pacsv.ConvertOptions(column_types={name: TEXT for name in names}, null_values=[""],
                                       strings_can_be_null=True)
        table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(block_size=BLOCK), convert_options=convert)
    except (UnicodeDecodeError, pd.errors.ParserError, pa.ArrowInvalid) as exc:
        raise WorkspaceError([Problem(str(path), "unreadable", f"not a UTF-8 comma-separated file ({exc})")],
                             str(path)) from None
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def write_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write CSV or Parquet (by suffix) to a temporary file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if path.suffix.lower() in PARQUET:
            pq.write_table(table, tmp)
        else:  # dictionary-encoded text back to plain text, no formulas; quotes only where a value needs them
            table = csvsafe.safe_table(table.cast(pa.schema([
                pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
                for f in table.schema])))
            pacsv.write_csv(table, tmp, write_options=pacsv.WriteOptions(quoting_style="needed"))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def score_file(definition: Path, leads: Path, out: Path) -> tuple[pd.DataFrame, list[str]]:
    """Score the leads in ``leads`` with ``definition`` and write them with their scores to ``out``.

    Returns
    -------
    (pandas.DataFrame, list of str)
        The scored frame and the fields the definition reads that the file lacks (counted as missing).
    """
    if Path(out).resolve() == Path(leads).resolve():
        raise ValueError("--out must differ from --leads: the leads file is never modified")
    scorer = Scorer(load_definition(definition))
    frame = read_leads(Path(leads))
    scored = scorer.score(frame)
    scored["qualified"] = scored["qualified"].map({True: "yes", False: "no"})
    result = pd.concat([frame, scored.drop(columns=[c for c in scored.columns if c in frame.columns])], axis=1)
    write_atomic(result, Path(out))
    return result, scorer.absent(frame)
