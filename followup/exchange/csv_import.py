"""Reading a clinic's CSV export into exams: row validation and grouping (the header mapping
is :mod:`followup.exchange.csv_columns`).

Each row is one finding; the adjacent rows of one exam (same patient, date and facility, and
the same kind where the rows give one: a screening and a diagnostic exam of one day are two
exams, clinical-rules.md §5) are folded into one exam with several findings, and rows
describing the same finding (identical findings, or the same ``finding_id`` and side, e.g.
the CC and MLO views of one calcification in CBIS-DDSM) into one finding. Rows are checked
with the very parsers and checks ``exam add`` uses.

The file is streamed: only the rows of the exam being read are held, so memory does not grow
with the file. That is why the rows of one exam must be adjacent (as every RIS export writes
them). A row that comes back to an earlier exam of the same patient is refused with the line
that exam started on; one that comes back after other patients cannot be told from a re-import,
and the writer skips it as a duplicate exam (see :mod:`followup.store.bulk`).

Nothing here touches the database or the terminal: the CLI decides what to do with each exam
and each rejected row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date
from operator import itemgetter
from typing import Any, NamedTuple, TextIO

from followup import rules
from followup.exchange.csv_columns import ColumnMap, Defaults
from followup.exchange.spreadsheet import restore
from followup.rules.text import check_text
from followup.store.bulk_rows import ExamRow, FindingRow, PatientRow
from followup.store.errors import StoreError
from followup.store.patients import check_email, check_external_id

CACHE_LIMIT = 100_000


class RowError(ValueError):
    """One row cannot be imported; the message says why (the CLI adds the line)."""


class _Memo:
    """Parse each distinct cell text once: exports repeat a few values millions of times.

    A cell our exports neutralised for spreadsheets (``'=1+1``) reads as the text it was
    (``=1+1``). Blank cells are None; other cells are parsed stripped of surrounding spaces,
    except free text (``keep_spaces``: names, notes), which is kept as written so that an
    export imports back to the same records. Bounded, so a column of all-distinct values
    (ids, notes) cannot grow memory with the file. A refusal is not cached: bad rows are
    rare, and cheap to recheck.
    """

    __slots__ = ("keep_spaces", "name", "parse", "values")

    def __init__(self, name: str, parse: Callable[[str], Any], keep_spaces: bool = False) -> None:
        self.name = name
        self.parse = parse
        self.keep_spaces = keep_spaces
        self.values: dict[str, Any] = {}

    def __call__(self, text: str) -> Any:
        try:
            return self.values[text]
        except KeyError:
            pass
        cell = restore(text)
        stripped = cell.strip()
        try:
            value = self.parse(cell if self.keep_spaces else stripped) if stripped else None
        except (ValueError, StoreError) as exc:
            raise RowError(f"{self.name}: {exc}") from None
        if len(self.values) >= CACHE_LIMIT:
            self.values.clear()
        self.values[text] = value
        return value


def _months(text: str) -> int:
    try:
        months = int(text)
    except ValueError:
        raise ValueError(f"follow-up months {text!r} is not a whole number, e.g. 6") from None
    rules.check_follow_up_months(months)
    return months


def _text(what: str, note: bool = False) -> Callable[[str], str | None]:
    """A free-text cell, checked as the store checks it (rules.text: no control characters;
    a note may hold tabs and line breaks), here too so that the row is rejected by line."""

    def parse(text: str) -> str | None:
        return check_text(text, what, note=note)

    return parse


def _density(text: str) -> rules.Density | None:
    """A density letter (or 1-4); 0, DDSM's "not assessed", is no density."""
    return None if text == "0" else rules.parse_density(text)


def _facility(text: str) -> tuple[str, str]:
    display = rules.check_facility(text)
    return display, rules.facility_key(display)


def _exam_date(today: date) -> Callable[[str], date]:
    def parse(text: str) -> date:
        return rules.check_exam_date(rules.parse_date(text), today)

    return parse


class ExamRecord(NamedTuple):
    """One exam to write (its patient, created if unknown) and the line it starts on."""

    line: int
    patient: PatientRow
    exam: ExamRow


class Rejected(NamedTuple):
    """A row that cannot be imported, where it starts in the file, and why."""

    line: int
    cells: list[str]
    reason: str


_EXAM_FIELDS = ("kind", "follow_up_months", "note", "imaged", "density", "radiologist")
_IMAGED = _EXAM_FIELDS.index("imaged")


def _required(value: Any, name: str) -> Any:
    if value is None:
        raise RowError(f"{name} is empty; every row needs one")
    return value


class ExamReader:
    """Turns CSV rows into :class:`ExamRecord` and :class:`Rejected`, in file order.

    Every field goes through the parser and check ``exam add`` uses (rules.parse_category,
    parse_laterality, parse_kind, parse_date with check_exam_date, check_facility,
    check_follow_up_months; store.patients.check_external_id and check_email), each distinct
    cell text once. Whole findings and exam-level values are cached by their raw cells too, so
    the usual row costs a few dictionary look-ups.
    """

    def __init__(self, columns: ColumnMap, defaults: Defaults, today: date) -> None:
        self.width = len(columns.header)
        self.rows = 0  # records read, blank lines not counted
        self.next_line = 2  # the line the next record starts on (read() keeps it)
        index = columns.columns
        blank = self.width  # every row gets one empty cell appended: unmapped fields read it

        def cells(*names: str) -> Callable[[list[str]], tuple[str, ...]]:
            return itemgetter(*(index.get(n, blank) for n in names), blank)

        self._exam_cells = cells("patient_id", "date", "facility")
        self._finding_cells = cells(
            "category", "laterality", "morphology", "distribution", "size_class", "subdivision"
        )
        self._extra_cells = cells(*_EXAM_FIELDS)
        self._patient_cells = cells("patient_id", "name", "email", "phone", "birth_date")
        self._finding_id = index.get("finding_id")
        if defaults.date is not None:
            rules.check_exam_date(defaults.date, today)
        self._default_date = defaults.date
        self._default_place = _facility(defaults.facility) if defaults.facility else None
        memo = _Memo
        self._patient_id = memo("patient_id", check_external_id)
        self._date = memo("date", _exam_date(today))
        self._place = memo("facility", _facility)
        self._category = memo("category", rules.parse_assessment)
        self._subdivision = memo("subdivision", rules.parse_subdivision)
        self._imaged = memo("imaged", rules.parse_imaged)
        self._density = memo("density", _density)
        self._radiologist = memo("radiologist", rules.check_radiologist)
        self._side = memo("laterality", rules.parse_laterality)
        self._morphology = memo("morphology", rules.parse_morphology)
        self._distribution = memo("distribution", rules.parse_distribution)
        self._size = memo("size_class", rules.parse_size_class)
        self._kind = memo("kind", rules.parse_kind)
        self._months = memo("follow_up_months", _months)
        self._note = memo("note", _text("note", note=True), keep_spaces=True)
        self._name = memo("name", _text("name"), keep_spaces=True)
        self._phone = memo("phone", _text("phone"), keep_spaces=True)
        self._email = memo("email", check_email)
        self._birth_date = memo("birth_date", rules.parse_date)
        self._findings: dict[tuple[str, ...], FindingRow] = {}
        self._extras: dict[tuple[str, ...], tuple[Any, ...]] = {}
        self._last_patient: tuple[tuple[str, ...], PatientRow] | None = None

    # -- one value or group of values, checked -------------------------------------------

    def _exam_key(self, raw: tuple[str, ...]) -> tuple[tuple[str, date, str], str]:
        """((patient, date, facility key), facility as written) for the exam's cells."""
        patient = _required(self._patient_id(raw[0]), "patient_id")
        day = self._date(raw[1]) or _required(self._default_date, "date")
        display, key = self._place(raw[2]) or _required(self._default_place, "facility")
        return (patient, day, key), display

    def _finding(self, raw: tuple[str, ...]) -> FindingRow:
        category, subdivision = _required(self._category(raw[0]), "category")
        given = self._subdivision(raw[5])
        if given is not None and subdivision not in (None, given):
            raise RowError(
                f"category {raw[0].strip()!r} and subdivision {given.value} disagree; "
                "give the BI-RADS 4 subdivision once"
            )
        finding = FindingRow(
            category=category,
            laterality=self._side(raw[1]),
            morphology=self._morphology(raw[2]),
            distribution=self._distribution(raw[3]),
            size_class=self._size(raw[4]),
            subdivision=_value(given or subdivision),
        )
        if finding.subdivision is not None and category is not rules.Category.SUSPICIOUS:
            raise RowError(
                f"subdivision {finding.subdivision} belongs to a suspicious finding, not "
                f"{category.value}; leave it out or give the category as suspicious"
            )
        if len(self._findings) >= CACHE_LIMIT:
            self._findings.clear()
        self._findings[raw] = finding
        return finding

    def _extra(self, raw: tuple[str, ...]) -> tuple[Any, ...]:
        extra = (
            self._kind(raw[0]),
            self._months(raw[1]),
            self._note(raw[2]),
            _value(self._imaged(raw[3])),
            _value(self._density(raw[4])),
            self._radiologist(raw[5]),
        )
        if len(self._extras) >= CACHE_LIMIT:
            self._extras.clear()
        self._extras[raw] = extra
        return extra

    def _patient(self, cells: list[str]) -> PatientRow:
        """Her details from the first row of her first exam (rows of one patient repeat them)."""
        raw = self._patient_cells(cells)
        if self._last_patient is not None and self._last_patient[0] == raw:
            return self._last_patient[1]
        patient = PatientRow(
            external_id=self._patient_id(raw[0]),
            name=self._name(raw[1]),
            email=self._email(raw[2]),
            phone=self._phone(raw[3]),
            birth_date=self._birth_date(raw[4]),
        )
        self._last_patient = (raw, patient)
        return patient

    def _fit(self, cells: list[str]) -> list[str]:
        if len(cells) > self.width:
            raise RowError(
                f"the row has {len(cells)} cells but the header has {self.width}; "
                "check for an unquoted comma"
            )
        # Exports may drop trailing blanks; the extra blank is the cell unmapped fields read.
        return cells + [""] * (self.width + 1 - len(cells))

    # -- the file --------------------------------------------------------------------------

    def read(self, reader: Iterator[list[str]], line_of: Callable[[], int]) -> Iterator[Any]:
        """Yield ExamRecord and Rejected in file order; ``line_of()`` is the reader's line_num,
        so a record's line is the physical line it starts on (quoted newlines counted)."""
        width, findings, extras = self.width, self._findings, self._extras
        exam_cells, finding_cells, extra_cells = (
            self._exam_cells,
            self._finding_cells,
            self._extra_cells,
        )
        finding_id = self._finding_id
        group: _Group | None = None
        last_raw: tuple[str, ...] | None = None
        key: Any = None
        place = ""
        patient_id = None
        started: dict[Any, int] = {}  # the current patient's exams: where each started
        self.next_line = line_of() + 1  # where the record being read starts, for errors
        for cells in reader:
            line = self.next_line
            self.next_line = line_of() + 1
            if len(cells) != width and (not cells or (len(cells) == 1 and not cells[0].strip())):
                continue  # a blank line
            self.rows += 1
            try:
                row = [*cells, ""] if len(cells) == width else self._fit(cells)
                raw = exam_cells(row)
                if raw != last_raw:
                    key, place = self._exam_key(raw)
                    last_raw = raw
                fraw = finding_cells(row)
                finding = findings.get(fraw) or self._finding(fraw)
                xraw = extra_cells(row)
                extra = extras.get(xraw) or self._extra(xraw)
                if group is None or key != group.key or group.other_kind(extra[0]):
                    patient = self._patient(row)
                    exam = (key, extra[0])
                    if key[0] != patient_id:
                        patient_id, started = key[0], {}
                    elif exam in started:
                        raise RowError(_scattered(key, extra[0], started[exam]))
                    started[exam] = line
                    if group is not None and group.findings:  # none: every row rejected
                        yield group.record()
                    group = _Group(line, key, place, patient, extra)
            except RowError as exc:
                yield Rejected(line, cells, str(exc))
                continue
            view = row[finding_id].strip() or None if finding_id is not None else None
            reason = group.add(line, finding, extra, view)
            if reason is not None:
                yield Rejected(line, cells, reason)
        if group is not None and group.findings:
            yield group.record()


def _scattered(key: tuple[str, date, str], kind: str | None, first: int) -> str:
    patient, day, _ = key
    exam = f"{kind} exam" if kind else "exam"
    return (
        f"patient {patient}'s {exam} of {day.isoformat()} at this facility started on line "
        f"{first} and other rows came in between; put the rows of one exam together"
    )


class _Group:
    """The adjacent rows of one exam, folded into one exam with distinct findings."""

    __slots__ = ("by_id", "extra", "findings", "key", "line", "lines", "patient", "place")

    def __init__(
        self, line: int, key: Any, place: str, patient: PatientRow, extra: tuple[Any, ...]
    ) -> None:
        self.line = line
        self.key = key
        self.place = place
        self.patient = patient
        self.extra = extra
        self.findings: list[FindingRow] = []
        self.by_id: dict[tuple[str, Any], int] = {}
        self.lines: dict[str, int] = {}

    def add(
        self, line: int, finding: FindingRow, extra: tuple[Any, ...], view: str | None
    ) -> str | None:
        """Add a row's finding; the reason the row is refused, if it contradicts the exam."""
        if extra is not self.extra and extra != self.extra:
            reason = self._merge(line, extra)
            if reason is not None:
                return reason
        reason = _not_imaged((finding,), self.extra[_IMAGED])
        if reason is not None:
            return reason
        if view is None:
            if finding not in self.findings:
                self.findings.append(finding)
            return None
        # Views of one finding (e.g. CC and MLO): keep one, the most worrisome reading.
        index = self.by_id.get((view, finding.laterality))
        if index is None:
            self.by_id[(view, finding.laterality)] = len(self.findings)
            self.findings.append(finding)
        elif _worry(finding) > _worry(self.findings[index]):
            self.findings[index] = finding
        return None

    def other_kind(self, kind: str | None) -> bool:
        """Whether a row of this patient, day and facility is of another exam: one of another
        kind (a screening and a diagnostic exam of one day are two exams). A row without a
        kind belongs to the exam being read."""
        return kind is not None and self.extra[0] is not None and kind != self.extra[0]

    def _merge(self, line: int, extra: tuple[Any, ...]) -> str | None:
        """Exam-level values (kind, interval, note) may be given on any one row of the exam
        (a row of another kind is another exam: :meth:`other_kind`)."""
        merged = list(self.extra)
        given = []
        for position, name in enumerate(_EXAM_FIELDS):
            mine, theirs = extra[position], merged[position]
            if mine is not None and theirs is not None and mine != theirs:
                return (
                    f"{name} {mine} differs from {theirs} on line "
                    f"{self.lines.get(name, self.line)} of the same exam (same patient, date, "
                    "facility and kind); make them agree"
                )
            if mine is not None and theirs is None:
                merged[position] = mine
                given.append(name)
        reason = _not_imaged(self.findings, merged[_IMAGED])  # rows read before said a side
        if reason is not None:
            return reason
        self.extra = tuple(merged)
        self.lines.update(dict.fromkeys(given, line))
        return None

    def record(self) -> ExamRecord:
        kind, months, note, imaged, density, radiologist = self.extra
        patient, day, _ = self.key
        exam = ExamRow(
            patient,
            day,
            self.place,
            tuple(self.findings),
            kind,
            months,
            note,
            imaged or "both",
            density,
            radiologist,
        )
        return ExamRecord(self.line, self.patient, exam)


def _not_imaged(findings: Iterable[FindingRow], imaged: str | None) -> str | None:
    """Why a row is refused when one of ``findings`` is on a breast the exam did not image
    (clinical-rules.md §2, in the rules' words), or None. Checked here, row by row, so that
    the row is named by its line and --skip-invalid rejects it alone; the loader checks it
    again for every other door."""
    if imaged is None or imaged == "both":  # nearly every row
        return None
    for finding in findings:
        if finding.laterality is not None and finding.laterality != imaged:
            side = rules.Laterality(finding.laterality)
            try:
                rules.check_finding(
                    rules.Finding(rules.Category(finding.category), side), rules.Imaged(imaged)
                )
            except ValueError as exc:
                return str(exc)
    return None


def _worry(finding: FindingRow) -> int:
    return rules.Category(finding.category).worry


def _value(member: Any) -> Any:
    """An enumerated value as the bulk loader's rows hold it (its canonical text), or None."""
    return None if member is None else member.value


def open_csv(path: str) -> TextIO:
    """UTF-8 with or without BOM; ``newline=""`` so quoted newlines and any line ends work."""
    return open(path, encoding="utf-8-sig", newline="")
