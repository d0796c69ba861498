"""Coordinator reports: ``due``, ``flags``, ``stats``, and ``recompute`` of the stored plans."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from contextlib import closing
from datetime import date
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TextIO

import click

from followup.cli.context import AppContext, pass_app, today
from followup.cli.params import DATE, as_of_option, format_option, output_options
from followup.rules.engine import FLAG_CODES

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from followup.rules import Policy
    from followup.store.reports import DueQuery


@click.command()
@as_of_option
@click.option(
    "--within",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    metavar="DAYS",
    help="Include follow-ups due up to this many days after the as-of date.",
)
@click.option("--overdue", "overdue_only", is_flag=True, help="Only follow-ups already past due.")
@click.option("--upcoming", is_flag=True, help="Only follow-ups not yet due (today included).")
@click.option(
    "--to-call",
    is_flag=True,
    help="The to-call list: overdue patients, open, not scheduled, not called in the last "
    "recontact_days (policy, default 14); biopsy-type actions first, then the most recently "
    "overdue (--within does not apply).",
)
@click.option(
    "--closed",
    is_flag=True,
    help="Include patients whose tracking is closed (declined, moved away, deceased, care "
    "elsewhere), who are left out otherwise.",
)
@click.option(
    "--facility",
    metavar="NAME",
    help="Only patients last seen at this facility (a known one: a name no facility has is an "
    "error listing the nearest).",
)
@format_option("table", "json", "csv")
@output_options("the report")
@pass_app
def due(
    app: AppContext,
    as_of: date | None,
    within: int,
    overdue_only: bool,
    upcoming: bool,
    to_call: bool,
    closed: bool,
    facility: str | None,
    fmt: str,
    output: str | None,
    force: bool,
) -> None:
    """Follow-ups due within DAYS (default 30) of the as-of date, overdue ones included.

    Sorted by due date, then patient id. Overdue rows are marked `!` in the table. Each row
    says where the patient stands on the pathway: open, scheduled (with the appointment: she
    stays listed, marked) or closed, and when she was last contacted (`followup contact`).

    \b
    Examples:
      followup due                               # the next 30 days and everything overdue
      followup due --within 7 --facility "Northside Imaging"
      followup due --to-call                     # whom to call this morning, in order
      followup due --overdue --format csv -o overdue.csv
      followup due --upcoming --as-of 2025-07-01 --format json
    """
    from followup.cli.output import output_stream, write_rows
    from followup.present.report_tables import DUE_HEADERS, DUE_TABLE, DUE_WIDTHS, marked
    from followup.present.tables import write_table
    from followup.store.exams import known_facility
    from followup.store.reports import DUE_COLUMNS, DueQuery, due_rows

    _refuse_contradictions(overdue_only, upcoming, to_call, closed)
    query = DueQuery(as_of or today(), within, overdue_only, facility, upcoming, to_call, closed)
    with (
        app.transaction(write=False, plans=True) as session,
        output_stream(output, force=force) as out,
    ):
        if facility is not None:
            known_facility(session, facility)
        if fmt == "csv":
            _write_due_csv(session, query, app.policy, out)
            return
        with closing(due_rows(session, query, app.policy)) as rows:  # its cursor, early too
            if fmt == "table":
                width = _terminal_width(out)
                write_table(
                    (marked(r) for r in rows),
                    DUE_TABLE,
                    out,
                    DUE_HEADERS,
                    width=width,
                    widths=DUE_WIDTHS,
                )
            else:
                write_rows(rows, DUE_COLUMNS, fmt, out)


def _refuse_contradictions(overdue: bool, upcoming: bool, to_call: bool, closed: bool) -> None:
    """Options that would ask for an empty report, refused rather than answered with one."""
    if overdue and upcoming:
        raise click.UsageError("--overdue and --upcoming exclude each other; give one of them")
    if to_call and upcoming:
        raise click.UsageError("--to-call lists overdue patients only; leave out --upcoming")
    if to_call and closed:
        raise click.UsageError(
            "--to-call lists open patients only (closed ones are never called); leave out --closed"
        )


def _terminal_width(out: TextIO) -> int | None:
    """The terminal's width when ``out`` is one; None (no limit) for files and pipes."""
    return shutil.get_terminal_size().columns if out.isatty() else None


def _write_due_csv(session: Session, query: DueQuery, policy: Policy, out: TextIO) -> None:
    """The due report as CSV, the same cells as the generic writer, put together a batch of
    rows at a time: hundreds of thousands of rows cannot pay for a dict, fourteen conversions
    and the csv module each (together they cost more than the query).

    What people typed (patient id, name, phone, e-mail) is its own cell, checked a batch and
    a column at a time; the other cells repeat (dates, codes, facilities, pathway states) and
    are made once each by the csv module. The due date is ISO: text as SQLite returns it, or a
    date, which prints as ISO.
    """
    from followup.cli.output import CsvParts, csv_line
    from followup.store.reports import DUE_COLUMNS, DueFacts, also_text, due_batches
    from followup.store.tracking_rows import as_text

    facts = DueFacts(query.as_of, policy)
    tracked = facts.tracking
    kept = CsvParts()  # action, laterality, facility
    dated = CsvParts(lambda key: facts.dated_part(*key))  # overdue, days overdue, flags
    pathway = CsvParts(lambda key: (key[0], as_text(key[1]), as_text(key[2])))
    other = CsvParts(lambda key: (also_text(*key),))  # the other breast's side, action, due
    out.write(csv_line(DUE_COLUMNS) + "\n")
    with closing(due_batches(session, query, policy)) as batches:  # closed early too: its cursor
        for batch in batches:
            lines = []
            for pid, name, due, action, side, facility, stored, *rest in _typed_cells(batch):
                phone, email, closed, appointment, last_contact, last_call, *also = rest
                state = tracked(closed, appointment, last_call)
                lines.append(
                    f"{pid},{name or ''},{due},{kept[action, side, facility]},"
                    f"{dated[due, stored, state.missed]},{phone or ''},{email or ''},"
                    f"{pathway[state.state.value, appointment, last_contact]},"
                    f"{other[tuple(also)]}\n"
                )
            out.write("".join(lines))


# Cells of a due row that people typed: patient id, name, phone, e-mail.
_TYPED = (0, 1, 7, 8)


def _typed_cells(batch: list[tuple[Any, ...]]) -> Sequence[Sequence[Any]]:
    """The batch with each typed cell as its CSV text; a column whose cells are all plain (the
    usual case) is checked in one scan and left as it is."""
    from followup.cli.output import csv_cell, plain_cells

    unsafe = [i for i in _TYPED if not plain_cells(map(itemgetter(i), batch))]
    if not unsafe:
        return batch
    rows = [list(row) for row in batch]
    for row in rows:
        for i in unsafe:
            row[i] = csv_cell(row[i])
    return rows


@click.command()
@as_of_option
@click.option(
    "--code",
    type=click.Choice(FLAG_CODES),
    help="Only this flag (codes of clinical-rules.md §6).",
)
@click.option(
    "--facility",
    metavar="NAME",
    help="Only patients last seen at this facility (a known one, matched as everywhere).",
)
@click.option("--closed", is_flag=True, help="Include patients whose tracking is closed.")
@format_option("table", "json", "csv")
@output_options("the report")
@pass_app
def flags(
    app: AppContext,
    as_of: date | None,
    code: str | None,
    facility: str | None,
    closed: bool,
    fmt: str,
    output: str | None,
    force: bool,
) -> None:
    """Patients with flags in force on the as-of date, one row per flag, with what to do.

    In the table the message is never cut: on a terminal it is wrapped to its width.
    Patients whose tracking is closed are left out unless --closed is given.

    \b
    Examples:
      followup flags
      followup flags --code lost-to-follow-up --format csv -o lost.csv
      followup flags --code missed-appointment --facility "Northside Imaging"
      followup flags --code facility-switch --as-of 2025-07-01
    """
    from followup.cli.output import output_stream, write_rows
    from followup.present.report_tables import FLAG_WIDTHS
    from followup.present.tables import write_table
    from followup.store.exams import known_facility
    from followup.store.reports import FLAG_COLUMNS, FlagQuery, flag_rows

    query = FlagQuery(as_of or today(), code, facility, closed)
    with (
        app.transaction(write=False, plans=True) as session,
        output_stream(output, force=force) as out,
    ):
        if facility is not None:
            known_facility(session, facility)
        rows = flag_rows(session, query, app.policy)
        if fmt == "table":
            width = _terminal_width(out)
            write_table(rows, FLAG_COLUMNS, out, width=width, widths=FLAG_WIDTHS, wrap=True)
        else:
            write_rows(rows, FLAG_COLUMNS, fmt, out)


@click.command()
@as_of_option
@click.option("--from", "start", type=DATE, metavar="DATE", help="First due date counted.")
@click.option("--to", "end", type=DATE, metavar="DATE", help="Last due date counted.")
@click.option(
    "--facility",
    metavar="NAME",
    help="Only this facility: patients last seen there, steps counted from its exams.",
)
@click.option(
    "--by",
    type=click.Choice(["facility"]),
    help="One group of figures per facility.",
)
@format_option("table", "json", "csv")
@output_options("the figures")
@pass_app
def stats(
    app: AppContext,
    as_of: date | None,
    start: date | None,
    end: date | None,
    facility: str | None,
    by: str | None,
    fmt: str,
    output: str | None,
    force: bool,
) -> None:
    """Adherence figures of the programme, as an audit asks for them, with percentages.

    Probably-benign steps are the 6-, 12- and 24-month follow-ups of a probably-benign
    episode, each due the policy's probably_benign_months (6, 6, 12) after the exam before
    it. A step is counted when its
    due date is between --from and --to and not after the as-of date; only exams recorded up
    to the as-of date count, so a past as-of date gives the figures of that day.

    \b
      due      steps that fell due: due = on time + late + lost + open
      on time  her next exam came by the due date + on_time_days (policy, default 30)
      late     her next exam came after that
      lost     no exam since, more than lost_after_days (default 90) after the due date
      open     no exam since, not yet lost
    Each outcome's percentage is of the step's due count.

    Then, from the stored plans: patients by next action (biopsy = open biopsy
    recommendations) and patients with each flag in force on the as-of date, of the patients
    still tracked (closed ones left out), with their share of those; and the pathway: patients
    open, scheduled and closed (by reason) as shares of all patients with a plan, and the
    to-call list as a share of those tracked. A facility's figures are those of the patients
    last seen there, and the steps counted from its exams.

    \b
    Examples:
      followup stats
      followup stats --from 2024-01-01 --to 2024-12-31 --format csv
      followup stats --facility "Northside Imaging"
      followup stats --by facility --format json
      followup stats --as-of 2025-12-31 --format csv -o stats.csv
    """
    from followup.cli.output import output_stream

    as_of = as_of or today()
    if start and end and start > end:
        raise click.UsageError(f"--from {start} is after --to {end}; swap them")
    if facility is not None and by is not None:
        raise click.UsageError("--facility and --by facility exclude each other; give one")
    with output_stream(output, force=force) as out:
        _write_stats(app, as_of, start, end, facility, by, fmt, out)


def _write_stats(
    app: AppContext,
    as_of: date,
    start: date | None,
    end: date | None,
    facility: str | None,
    by: str | None,
    fmt: str,
    out: TextIO,
) -> None:
    from followup.cli.output import dump_json, write_rows
    from followup.present.report_tables import STATS_COLUMNS, STATS_HEADERS, stats_rows
    from followup.store.adherence import StatsQuery, programme_stats
    from followup.store.exams import known_facility

    with app.transaction(write=False, plans=True) as session:
        facility_id = known_facility(session, facility).id if facility is not None else None
        query = StatsQuery(as_of, start, end, facility_id, by_facility=by == "facility")
        figures = programme_stats(session, app.policy, query)
    if fmt == "json":
        dump_json(figures, out)
        return
    grouped = by is not None
    columns = ["group", *STATS_COLUMNS] if grouped else list(STATS_COLUMNS)
    if fmt == "csv":
        write_rows(stats_rows(figures, table=False), columns, fmt, out)
        return
    headers = ["group", *STATS_HEADERS] if grouped else list(STATS_HEADERS)
    write_rows(stats_rows(figures, table=True), columns[: len(headers)], fmt, out, headers)


@click.command()
@pass_app
def recompute(app: AppContext) -> None:
    """Rebuild every stored plan from the exams under the policy in force.

    For after an upgrade of followup whose rules changed; a policy change (`followup policy
    set`) recomputes by itself. Plans are rebuilt a range of patients per transaction, with
    a progress bar on a terminal: interrupting it leaves every plan consistent, and the next
    command that reads plans (or this one run again) finishes the job.

    \b
    Examples:
      followup recompute
      followup --db postgresql+psycopg://followup@dbhost/followup recompute
    """
    from followup.store.recompute import recompute_plans

    app.open(create=False)  # rebuilds what is there: a new, empty database would be a typo

    stream = sys.stderr
    with click.progressbar(
        length=0, label="Recomputing plans", file=stream, hidden=not stream.isatty()
    ) as bar:

        def advance(done: int, count: int) -> None:
            bar.length = count
            bar.update(done - bar.pos)

        total = recompute_plans(app.database, advance)
    click.echo(f"Recomputed the plans of {total} patients.")
