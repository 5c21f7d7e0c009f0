"""CSV files (`source: csv`): numeric columns chosen by header name or 0-based index; the
header row is detected (a first row with a non-numeric cell) unless `header` says. Empty cells
and `nan` read as NaN; any other non-numeric cell is an error naming its row and column."""
from __future__ import annotations

import csv
from typing import Any

import numpy as np

from ...errors import DataError
from ...registry import suggest
from ..arrays import ArraySplit
from .hdf5_files import require_path
from .keymap import map_keys
from .unreadable import UNREADABLE, reason


def load_csv(spec: Any, key_path: str, input_names: list[str], output_names: list[str]) -> ArraySplit:
    path = require_path(spec, key_path)
    header, cells = read_cells(path, spec.delimiter, spec.header)
    columns = header or [str(i) for i in range(cells.shape[1])]
    y_keys = map_keys(spec.y, output_names, "y", columns if header else None, f"{key_path}.y",
                      list_is_one_array=True)
    used = {_column(key, columns, header, path) for keys in y_keys.values()
            for key in _as_list(keys)}
    if spec.sample_weight is not None:
        used.add(_column(spec.sample_weight, columns, header, path))
    x_value = spec.x if spec.x is not None else [i for i in range(len(columns)) if i not in used]
    x_keys = map_keys(x_value, input_names, "x", None, f"{key_path}.x", list_is_one_array=True)
    if spec.limit:
        cells = cells[: spec.limit]

    def numeric(keys: Any) -> np.ndarray:
        indices = [_column(key, columns, header, path) for key in _as_list(keys)]
        array = np.stack([_to_float(cells[:, i], path, columns[i], header) for i in indices], axis=1)
        return array if isinstance(keys, list) else array[:, 0]

    x = {name: numeric(keys) for name, keys in x_keys.items()}
    y = {name: numeric(keys) for name, keys in y_keys.items()} or None
    weights = numeric(spec.sample_weight) if spec.sample_weight is not None else None
    names = {**x_keys, **y_keys, "sample_weight": spec.sample_weight}
    return ArraySplit(x, y, weights, path,
                      {n: _describe(k, columns) for n, k in names.items() if k is not None})


def read_table(path: str) -> np.ndarray:
    """Every column of a CSV file as float32 [rows, columns] (header detected), for predict."""
    header, cells = read_cells(path)
    columns = header or [str(i) for i in range(cells.shape[1])]
    return np.stack([_to_float(cells[:, i], path, columns[i], header)
                     for i in range(cells.shape[1])], axis=1)


def read_cells(path: str, delimiter: str = ",", header: bool | None = None
               ) -> tuple[list[str] | None, np.ndarray]:
    """(header names or None, a 2-D array of the cells as strings)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle, delimiter=delimiter) if row]
    except UNREADABLE as exc:
        raise DataError(f"not a readable CSV file ({reason(exc)})", path) from None
    if not rows:
        raise DataError("the CSV file is empty", path)
    if header is None:
        header = not all(_is_number(cell) for cell in rows[0])
    names = [cell.strip() for cell in rows[0]] if header else None
    body = rows[1:] if header else rows
    width = len(rows[0])
    for number, row in enumerate(body, start=2 if header else 1):
        if len(row) != width:
            raise DataError(f"row {number} has {len(row)} cells, expected {width}", path)
    return names, np.array(body, dtype=str).reshape(len(body), width)


def _to_float(column: np.ndarray, path: str, name: str, header: list[str] | None) -> np.ndarray:
    cleaned = np.char.strip(column)
    cleaned = np.where(cleaned == "", "nan", cleaned)
    try:
        return cleaned.astype(np.float64).astype(np.float32)
    except ValueError:
        for row, cell in enumerate(cleaned):
            if not _is_number(cell):
                line = row + (2 if header else 1)
                raise DataError(f"non-numeric cell '{cell}' in row {line}", path,
                                f"column {name}") from None
        raise


def _column(key: Any, columns: list[str], header: list[str] | None, path: str) -> int:
    if isinstance(key, int) and not isinstance(key, bool):
        if not 0 <= key < len(columns):
            raise DataError(f"no column {key} (the file has {len(columns)} columns, 0-based)",
                            path, f"column {key}")
        return key
    if header is None:
        raise DataError(f"column '{key}' named but the file has no header row; use 0-based "
                        f"column numbers", path, f"column {key}")
    if key not in header:
        raise DataError(f"no column '{key}'{suggest(str(key), header)} (columns: "
                        f"{', '.join(header)})", path, f"column {key}")
    return header.index(key)


def _as_list(keys: Any) -> list:
    return keys if isinstance(keys, list) else [keys]


def _describe(keys: Any, columns: list[str]) -> str:
    return "columns " + ",".join(columns[k] if isinstance(k, int) and k < len(columns) else str(k)
                                 for k in _as_list(keys))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False
