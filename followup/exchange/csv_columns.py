"""A CSV file's header mapped onto followup's fields: common names by default, ``--map``
over them, ``--default-date``/``--default-facility`` for what the file lacks. A header that
cannot be mapped is a :class:`MappingError` (a usage error) before any row is read."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

# Every field a column can fill, in the order --help lists them.
FIELDS = (
    "patient_id",
    "date",
    "facility",
    "category",
    "laterality",
    "kind",
    "morphology",
    "distribution",
    "size_class",
    "follow_up_months",
    "finding_id",
    "note",
    "subdivision",
    "imaged",
    "density",
    "radiologist",
    "name",
    "email",
    "phone",
    "birth_date",
)
IGNORE = "ignore"

# Header names people and exports use, folded (lower case, runs of space/_/- as one space).
HEADER_ALIASES: dict[str, str] = {
    **{h: "patient_id" for h in ("patient id", "patient", "mrn", "id", "patient number")},
    **{h: "date" for h in ("date", "exam date", "study date")},
    **{h: "facility" for h in ("facility", "site", "location")},
    **{h: "category" for h in ("category", "birads", "bi rads", "assessment")},
    **{h: "laterality" for h in ("laterality", "side", "left or right", "left or right breast")},
    **{h: "kind" for h in ("kind", "type", "exam type")},
    **{h: "morphology" for h in ("morphology", "calc type")},
    **{h: "distribution" for h in ("distribution", "calc distribution")},
    **{h: "size_class" for h in ("size class", "size")},
    **{h: "follow_up_months" for h in ("follow up months", "follow up", "interval")},
    **{h: "finding_id" for h in ("finding id", "abnormality id")},
    **{h: "note" for h in ("note", "notes", "comment", "comments")},
    **{h: "subdivision" for h in ("subdivision", "birads subdivision", "subcategory")},
    **{h: "imaged" for h in ("imaged", "breasts imaged", "imaged side")},
    **{h: "density" for h in ("density", "breast density")},
    **{h: "radiologist" for h in ("radiologist", "reader", "read by")},
    "name": "name",
    "email": "email",
    "phone": "phone",
    **{h: "birth_date" for h in ("birth date", "date of birth", "dob")},
}


def fold_header(text: str) -> str:
    """``Patient_ID``, ``patient-id`` and ``Patient  ID`` all read as ``patient id``."""
    return re.sub(r"[\s_\-]+", " ", text.strip().lower()).strip()


class MappingError(ValueError):
    """The header cannot be mapped onto our fields: a usage error, before any row is read."""


@dataclass(frozen=True)
class Defaults:
    """Values for fields the file lacks (CBIS-DDSM has no dates and no facility)."""

    date: date | None = None
    facility: str | None = None


@dataclass(frozen=True)
class ColumnMap:
    """Which column (by index) fills which field; ``ignored`` lists the unused headers."""

    header: tuple[str, ...]
    columns: dict[str, int]
    ignored: tuple[str, ...]


def _find_column(header: Sequence[str], column: str) -> int:
    if column in header:
        return header.index(column)
    folded = [fold_header(h) for h in header]
    if fold_header(column) in folded:
        return folded.index(fold_header(column))
    raise MappingError(
        f"--map {column}=...: the file has no column {column!r}; its columns are "
        + ", ".join(repr(h) for h in header)
    )


def _parse_override(text: str) -> tuple[str, str]:
    column, sep, name = text.rpartition("=")
    name = name.strip().lower().replace("-", "_")
    if not sep or not column.strip():
        raise MappingError(f"--map {text!r} is not COLUMN=FIELD, e.g. --map 'MRN=patient_id'")
    if name not in (*FIELDS, IGNORE):
        raise MappingError(
            f"--map {text!r}: unknown field {name!r}; use one of {', '.join(FIELDS)} "
            f"(or {IGNORE} to leave the column out)"
        )
    return column.strip(), name


def map_columns(header: Sequence[str], overrides: Sequence[str], defaults: Defaults) -> ColumnMap:
    """Map the header onto our fields: common names by default, ``--map`` over them.

    Two columns that both look like one field are refused rather than guessed between: a wrong
    patient id column would file exams under the wrong people.
    """
    header = [h.strip() for h in header]
    forced: dict[int, str] = {}
    for text in overrides:
        column, field = _parse_override(text)
        forced[_find_column(header, column)] = field
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        name = forced.get(index) or HEADER_ALIASES.get(fold_header(title))
        if name is None or name == IGNORE:
            continue
        if name in columns:
            raise MappingError(
                f"columns {header[columns[name]]!r} and {title!r} both look like {name}; "
                f"choose one with --map, e.g. --map '{title}=ignore'"
            )
        columns[name] = index
    _check_required(header, columns, defaults)
    ignored = tuple(h for i, h in enumerate(header) if i not in columns.values())
    return ColumnMap(tuple(header), columns, ignored)


def _check_required(header: Sequence[str], columns: dict[str, int], defaults: Defaults) -> None:
    missing = [f for f in ("patient_id", "category") if f not in columns]
    if "date" not in columns and defaults.date is None:
        missing.append("date")
    if "facility" not in columns and defaults.facility is None:
        missing.append("facility")
    if missing:
        hints = {"date": " (or --default-date)", "facility": " (or --default-facility)"}
        raise MappingError(
            "no column for "
            + ", ".join(f"{m}{hints.get(m, '')}" for m in missing)
            + "; the header is "
            + ", ".join(repr(h) for h in header)
            + f"; name the column with --map COLUMN={missing[0]}"
        )
