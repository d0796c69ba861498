"""Biopsies in CSV, both ways: ``followup export biopsies`` writes them, ``followup import
biopsies`` reads them back (clinical-rules.md §4).

One row per biopsy, columns :data:`BIOPSY_COLUMNS`: ``patient_id``, ``date``, ``side``
(left/right), ``result`` (pending/benign/high-risk/malignant), ``concordant`` (``true`` or
``false``, empty when not recorded; yes/no and concordant/discordant read too), ``facility``,
``pathology``, ``note``. Headers are matched as ``import exams`` matches its own (case,
spaces, ``_`` and ``-`` folded; a few other names, e.g. ``mrn``, ``laterality``,
``concordance``, ``diagnosis``). A cell an export neutralised for spreadsheets reads back as
it was. :func:`read_biopsies` reads (no database); :func:`import_biopsies` adds them through
the store, as ``biopsy add`` does.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO

from sqlalchemy.orm import Session

from followup import rules
from followup.exchange.csv_columns import MappingError, fold_header
from followup.exchange.spreadsheet import restore
from followup.store.biopsies import add_biopsy, stored_twin
from followup.store.errors import StoreError
from followup.store.patients import find_patient
from followup.store.plans import refresh_plans

BIOPSY_COLUMNS = (
    "patient_id",
    "date",
    "side",
    "result",
    "concordant",
    "facility",
    "pathology",
    "note",
)
REQUIRED = ("patient_id", "date", "side", "result")
ALIASES = {
    **{h: "patient_id" for h in ("patient id", "patient", "mrn", "id")},
    **{h: "date" for h in ("date", "biopsy date")},
    **{h: "side" for h in ("side", "laterality", "breast")},
    **{h: "result" for h in ("result", "pathology result", "biopsy result")},
    **{h: "concordant" for h in ("concordant", "concordance")},
    **{h: "facility" for h in ("facility", "site", "location")},
    **{h: "pathology" for h in ("pathology", "diagnosis", "histology")},
    **{h: "note" for h in ("note", "notes", "comment", "comments")},
}
YES = {"true", "yes", "y", "1", "concordant"}
NO = {"false", "no", "n", "0", "discordant"}


@dataclass(frozen=True)
class BiopsyRecord:
    """One row: the patient (by the id people type), the biopsy, its note, its line."""

    line: int
    patient: str
    biopsy: rules.Biopsy
    note: str | None


class BiopsyRowError(ValueError):
    """A row that cannot be read; the message names the line and what to fix."""


def columns(header: Sequence[str]) -> dict[str, int]:
    """Our field -> column index; MappingError for a missing or doubled column."""
    found: dict[str, int] = {}
    for index, title in enumerate(header):
        name = ALIASES.get(fold_header(title))
        if name is None:
            continue
        if name in found:
            raise MappingError(
                f"columns {header[found[name]]!r} and {title!r} both look like {name}; keep one"
            )
        found[name] = index
    missing = [name for name in REQUIRED if name not in found]
    if missing:
        raise MappingError(
            f"no column for {', '.join(missing)}; the header is "
            + ", ".join(repr(h) for h in header)
            + f"; a biopsies file has the columns {', '.join(BIOPSY_COLUMNS)}"
        )
    return found


def _concordance(text: str) -> bool | None:
    folded = text.strip().lower()
    if not folded:
        return None
    if folded in YES:
        return True
    if folded in NO:
        return False
    raise ValueError(
        f"concordant {text!r} is neither true nor false; give true, false or leave it empty"
    )


def read_biopsies(file: IO[str]) -> Iterator[BiopsyRecord]:
    """The file's biopsies in order; BiopsyRowError (naming the line) for a bad row."""
    reader = csv.reader(file)
    header = next(reader, None)
    if header is None:
        raise MappingError("the file is empty; it needs a header row")
    index = columns(header)
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        line = reader.line_num
        get = {name: restore(cells[i]) if i < len(cells) else "" for name, i in index.items()}
        try:
            yield _record(line, get)
        except ValueError as exc:
            raise BiopsyRowError(f"line {line}: {exc}") from None


def _record(line: int, cells: dict[str, str]) -> BiopsyRecord:
    """A row's values; free text (the note) as written, the others without spaces around."""
    value = {name: text.strip() for name, text in cells.items() if name != "note"}
    for name in REQUIRED:
        if not value.get(name):
            raise ValueError(f"{name} is empty; every row needs one")
    biopsy = rules.Biopsy(
        date=rules.parse_date(value["date"]),
        side=rules.parse_biopsy_side(value["side"]),
        result=rules.parse_biopsy_result(value["result"]),
        concordant=_concordance(value.get("concordant", "")),
        facility=value.get("facility") or None,
        pathology=value.get("pathology") or None,
    )
    return BiopsyRecord(line, value["patient_id"], biopsy, cells.get("note") or None)


def import_biopsies(
    session: Session, records: Iterable[BiopsyRecord], *, today: date, policy: rules.Policy
) -> tuple[int, int]:
    """Add the records' biopsies not yet stored, each checked and audited as ``biopsy add``
    does it, then each patient's plan once; (added, skipped as already recorded). The first
    bad record raises BiopsyRowError naming its line (the caller's transaction rolls back)."""
    added = known = 0
    changed: set[int] = set()
    for record in records:
        try:
            patient = find_patient(session, record.patient)
            if patient is None:
                raise StoreError(
                    f"no patient with id {record.patient!r}; import her exams first, or add "
                    f"her with `followup patient add {record.patient}`"
                )
            twin = stored_twin(session, patient.id, record.biopsy, record.note, today=today)
            if twin is not None:
                known += 1
                continue
            add_biopsy(
                session, patient.external_id, record.biopsy, note=record.note, today=today,
                refresh=False,
            )  # fmt: skip
        except StoreError as exc:
            raise BiopsyRowError(f"line {record.line}: {exc}") from None
        changed.add(patient.id)
        added += 1
    if changed:
        refresh_plans(session, sorted(changed), policy)
    return added, known
