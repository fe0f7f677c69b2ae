"""The results store: tables and manifests written atomically into one output directory.

A file is written under a temporary name in its final directory, flushed to disk, then renamed
over its final name (``os.replace`` is atomic on POSIX), so a run killed at any moment leaves
either the previous complete file or the new complete file under its final name.  A kill that
cannot be caught (SIGKILL) may leave the temporary file behind, hidden and named ``.*.part``;
the next run into the directory removes those first (:func:`remove_partial_files`).  File names
come from code, not from config values, and are checked to stay inside the output directory.
CSV files have the bytes pandas would write (``float_format="%.10g"``, "\n" line ends), made
faster by formatting each column's distinct values once (:func:`csv_text`).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def safe_child(directory: Path, name: str) -> Path:
    """``directory / name``, refusing names that would escape the directory."""
    target = (directory / name).resolve()
    if directory.resolve() not in target.parents:
        raise ValueError(f"output name {name!r} escapes the output directory {directory}")
    return target


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        with open(tmp_path, "rb+") as handle:
            os.fsync(handle.fileno())
        tmp_path.chmod(0o666 & ~_umask())  # mkstemp makes 0600; results are for sharing
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


# What write_atomic's temporary files are called: "." + final name + "." + mkstemp's eight
# random characters + ".part"
_PARTIAL = re.compile(r"\..+\.[a-z0-9_]{8}\.part")


def remove_partial_files(out: Path) -> list[Path]:
    """Delete the temporary files an uncatchable kill left in an output directory; return them.

    Only where an experiment writes — ``out`` itself and ``out/replications/<point>/`` — and
    only names :func:`write_atomic` makes, so nothing else the directory holds is touched.
    """
    places = [out, *sorted((out / "replications").glob("*"))] if out.is_dir() else []
    leftovers = [path for place in places if place.is_dir() for path in place.iterdir()
                 if path.is_file() and _PARTIAL.fullmatch(path.name)]
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_table(directory: Path, stem: str, table: pd.DataFrame, csv: bool = True) -> None:
    """``stem.parquet`` (and ``stem.csv``), each written atomically."""
    write_atomic(safe_child(directory, f"{stem}.parquet"),
                 lambda p: table.to_parquet(p, index=False))
    if csv:
        write_atomic(safe_child(directory, f"{stem}.csv"),
                     lambda p: p.write_bytes(csv_text(table).encode()))


# --- CSV ---------------------------------------------------------------------------------------

FLOAT_FORMAT = "%.10g"


def csv_text(table: pd.DataFrame) -> str:
    """``table.to_csv(index=False, float_format="%.10g")`` with "\n" line ends, same bytes, faster.

    pandas formats every cell on its own; a results table repeats a few values many times (the
    scenario, channel and metric names, interval start times), so each column's distinct
    values are formatted once — by pandas itself — and looked up, several times faster on
    interval tables.  Tables with other column types
    (object, nullable integers, categories) or fewer than two columns are left to pandas.
    """
    if table.shape[1] < 2 or len(table) == 0 or not all(map(_plain, table.dtypes)):
        return _pandas_csv(table)
    columns = []
    for name in table.columns:
        cells = _column_cells(table[name])
        if cells is None:
            return _pandas_csv(table)
        columns.append(cells)
    return _pandas_csv(table.head(0)) + "".join(",".join(row) + "\n" for row in zip(*columns))


def _pandas_csv(frame: pd.DataFrame, header: bool = True) -> str:
    return frame.to_csv(index=False, header=header, float_format=FLOAT_FORMAT,
                        lineterminator="\n")


def _plain(dtype) -> bool:
    """Numbers, booleans, datetimes and strings: types whose cells pandas formats one by one."""
    return dtype.kind in "fiubM" or isinstance(dtype, pd.StringDtype)


def _column_cells(values: pd.Series) -> list[str] | None:
    """Each cell of a column as pandas writes it, or None when a value spans lines."""
    if values.dtype.kind == "f":  # by bit pattern: pandas writes 0.0 and -0.0 differently
        raw = values.to_numpy()
        codes, bits = pd.factorize(raw.view(f"i{raw.itemsize}"))
        distinct = bits.view(raw.dtype)
    else:
        codes, distinct = pd.factorize(values, use_na_sentinel=True)
    # a second column stops the csv writer quoting an empty string that is alone on its line
    lines = _pandas_csv(pd.DataFrame({"v": distinct, "_": 0}), header=False).split("\n")[:-1]
    if len(lines) != len(distinct) or not all(line.endswith(",0") for line in lines):
        return None
    cells = np.array([line[:-2] for line in lines] + [""], dtype=object)  # code -1: missing
    return cells[codes].tolist()


def write_json(directory: Path, name: str, data: dict[str, Any]) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, default=str)
    write_atomic(safe_child(directory, name), lambda p: p.write_text(text + "\n"))


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())
