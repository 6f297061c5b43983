"""Reading the head of service's list of entities: a CSV or an XLSX workbook (an edge).

Only the first sheet of a workbook is read, values only (never formulas, macros or links).
openpyxl is imported here, lazily, so the other commands never pay for it.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from provisioner.catalog import Cell

MAX_SHEET_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000


class SheetProblem(Exception):
    """The file cannot be read as a list of entities; the text says why and what to do."""


def _read_bytes(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_SHEET_BYTES + 1)
    except OSError as exc:
        raise SheetProblem(f"{path}: cannot be read ({exc.strerror})") from None
    if len(data) > MAX_SHEET_BYTES:
        raise SheetProblem(f"{path}: larger than {MAX_SHEET_BYTES // 2**20} MiB; is it the list?")
    return data


def _csv_rows(data: bytes, path: Path) -> list[list[Cell]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SheetProblem(
            f"{path}: not UTF-8 text; save the sheet as 'CSV UTF-8' and import it again"
        ) from None
    first = text.split("\n", 1)[0]
    # Spreadsheets in Catalan or Spanish locales separate with ';' (the comma is the decimal).
    delimiter = max(";,\t", key=first.count)
    try:
        return [list(row) for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise SheetProblem(f"{path}: not a readable CSV file ({exc})") from None


def _xlsx_rows(data: bytes, path: Path) -> list[list[Cell]]:
    import zipfile

    try:
        from openpyxl import load_workbook
    except ImportError:  # pragma: no cover - a runtime dependency; only a broken install lacks it
        raise SheetProblem("reading .xlsx needs openpyxl; reinstall hestia-provisioner") from None
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise SheetProblem(f"{path}: not a readable .xlsx workbook ({exc})") from None
    try:
        sheet = book.worksheets[0]
        rows: list[list[Cell]] = []
        for row in sheet.iter_rows(values_only=True):
            if len(rows) >= MAX_ROWS:
                raise SheetProblem(f"{path}: more than {MAX_ROWS} rows; is it the list?")
            rows.append(
                [c if c is None or isinstance(c, str | int | float) else str(c) for c in row]
            )
        return rows
    except SheetProblem:
        raise
    except Exception as exc:  # a damaged sheet part: openpyxl raises many kinds
        raise SheetProblem(f"{path}: the first sheet cannot be read ({exc})") from None
    finally:
        book.close()


def read_sheet(path: Path) -> tuple[list[Cell], list[tuple[int, list[Cell]]]]:
    """The heading row and the numbered rows after it (numbers as the spreadsheet shows them)."""
    data = _read_bytes(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx" or data.startswith(b"PK\x03\x04"):
        rows = _xlsx_rows(data, path)
    elif suffix in (".csv", ".txt", ""):
        rows = _csv_rows(data, path)
    else:
        raise SheetProblem(f"{path}: give a .csv or .xlsx file")
    if not rows:
        raise SheetProblem(f"{path}: empty; the first row names the columns (ine10, name, nif...)")
    return rows[0], [(i, row) for i, row in enumerate(rows[1:], start=2)]
