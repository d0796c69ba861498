"""``followup letters`` (the batch due on the as-of date, one PDF) and ``followup letter ID``
(one letter now, at the desk).

A run is one transaction: the letters it produces are recorded in the letter log (each once:
:mod:`followup.store.letter_log`), each with a ``letter-sent`` contact, while the PDF is
written beside its target; the transaction commits once the file is on disk, then the file is
renamed into place. A failure anywhere leaves neither the file nor a record.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import click

from followup.cli.context import AppContext, pass_app, today
from followup.cli.params import as_of_option, force_option

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from followup.present.letter_facts import Sender
    from followup.present.letter_pdf import Checked
    from followup.present.letter_text import DensityStatements
    from followup.store.facilities import LetterSettings
    from followup.store.letters_due import DueLetter

KINDS = ("result", "reminder", "overdue", "films-request")
LIST_COLUMNS = ("patient_id", "kind", "due", "about", "facility", "certified", "problem")
LIST_HEADERS = ("PATIENT", "KIND", "DUE", "ABOUT", "FACILITY", "CERTIFIED", "NOT PRODUCED")


def _pdf_output(what: str) -> Any:
    """``-o/--output FILE`` and ``--force`` as every command has them, said for a PDF (which
    never goes to standard output)."""

    def decorate(func: Any) -> Any:
        help_text = f"Write {what} (created readable by you only, whole or not at all)."
        return click.option("-o", "--output", metavar="FILE", help=help_text)(force_option(func))

    return decorate


@dataclass
class Run:
    """What a run found: letters produced (or, in a dry run, to produce), and those not
    produced with the reason."""

    produced: int = 0
    lacking: list[tuple[DueLetter, str]] = field(default_factory=list)
    pages: int = 0


def _day(as_of: date | None) -> date:
    """The letters' date: --as-of, never after today (a letter and its contact are dated the
    day they are produced)."""
    now = today()
    if as_of is not None and as_of > now:
        raise click.BadParameter(
            f"{as_of.isoformat()} is after today ({now.isoformat()}): letters are dated the day "
            "they are produced; give today or an earlier day (--dry-run previews any day)",
            param_hint="--as-of",
        )
    return as_of or now


def _sender(settings: LetterSettings) -> Sender:
    """The clinic as sender; an error naming `clinic set` when it cannot sign a letter."""
    from followup.present.letter_facts import sender_problems
    from followup.present.letter_source import sender_of

    sender = sender_of(settings)
    missing = sender_problems(sender)
    if missing:
        raise click.ClickException(
            f"{'; '.join(missing)}: letters carry the clinic's name and return address; set "
            'them with `followup clinic set --name TEXT --address "LINE\\nLINE"`'
        )
    return sender


@click.command()
@as_of_option
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(KINDS),
    help="Only letters of this kind (repeat for more). Default: every kind.",
)
@click.option(
    "--facility",
    metavar="NAME",
    help="Only letters naming this facility (the exam's, where she books, or where films go).",
)
@click.option("--closed", is_flag=True, help="Write to closed patients too (never the deceased).")
@click.option(
    "--dry-run", is_flag=True, help="List what would be produced; produce and record nothing."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pdf", "table", "json", "csv"]),
    help="pdf: the letters, into -o FILE (the default); table, json or csv: the list of a dry "
    "run (table by default).",
)
@_pdf_output("the letters (PDF) to FILE; a dry run's list goes to standard output without it")
@pass_app
def letters(
    app: AppContext,
    as_of: date | None,
    kinds: tuple[str, ...],
    facility: str | None,
    closed: bool,
    dry_run: bool,
    fmt: str | None,
    output: str | None,
    force: bool,
) -> None:
    """Produce the letters due, as one PDF: result letters, reminders, overdue letters and
    films requests (clinical-rules.md §7).

    Each letter is produced once: it is recorded in the letter log (a re-run, or two runs at
    once, produce it no more) and as a `letter-sent` contact of the patient. Result letters
    go out for exams dated from 30 days before the first run on (due within 30 days of the
    exam, 7 when suspicious); reminder and overdue letters follow the ladder of the policy
    (`reminder_days_before`, `overdue_steps_days`; the last step marked CERTIFIED MAIL); a
    films request goes to each facility holding earlier films that her comparison flags
    name. Closed patients get none (unless --closed), scheduled ones no ladder letter,
    patients with reminders off no reminder or overdue letter.

    A letter that lacks something it needs (her postal address, the facility's address or
    telephone number) is not produced: it is listed with the reason, and produced by a later
    run once the address is recorded. The clinic's name and return address come from
    `followup clinic set`, facilities' from `followup facility edit`, hers from `followup
    patient edit ID --address`.

    Prints what it produced (produced N, not produced M). Exit status: 0 done (also when
    some letters lack an address: they are listed); 1 nothing was produced (an error).

    \b
    Examples:
      followup letters --dry-run
      followup letters --dry-run --format json --kind overdue
      followup letters --dry-run --format csv -o to-print.csv
      followup letters -o letters-2025-07-15.pdf
      followup letters --kind result --facility "Northside Imaging" -o results.pdf
    """
    day = (as_of or today()) if dry_run else _day(as_of)
    fmt = fmt or ("table" if dry_run else "pdf")
    if dry_run and fmt == "pdf":
        raise click.UsageError("--dry-run lists the letters; give --format table, json or csv")
    if not dry_run and fmt != "pdf":
        raise click.UsageError(f"--format {fmt} lists the letters of a --dry-run; add --dry-run")
    if dry_run:
        _dry_run(app, day, kinds, facility, closed, fmt, output, force)
        return
    if output is None or output == "-":
        raise click.UsageError("letters are a PDF: give the file to write with -o FILE.pdf")
    _produce(app, day, kinds, facility, closed, output, force)


def _query(
    session: Session, day: date, started: date, kinds: Any, facility: Any, closed: bool
) -> Any:
    from followup.store.exams import known_facility
    from followup.store.letters_due import LetterQuery

    facility_id = None if facility is None else known_facility(session, facility).id
    return LetterQuery(
        day, started, frozenset(kinds or KINDS), facility_id=facility_id, include_closed=closed
    )


def _produce(
    app: AppContext,
    day: date,
    kinds: tuple[str, ...],
    facility: str | None,
    closed: bool,
    output: str,
    force: bool,
) -> None:
    run = produce(app, day, output, force=force, kinds=kinds, facility=facility, closed=closed)
    for letter, reason in run.lacking:
        click.echo(f"Not produced: {letter.patient.external_id} {letter.kind}: {reason}", err=True)
    where = f"into {output} ({run.pages} pages)" if run.produced else "(no file written)"
    click.echo(
        f"produced {run.produced} letters {where}; not produced {len(run.lacking)} (lacking "
        "an address or other facts, listed above)"
    )


def produce(
    app: AppContext,
    day: date,
    output: str,
    *,
    force: bool = False,
    kinds: tuple[str, ...] = (),
    facility: str | None = None,
    closed: bool = False,
) -> Run:
    """The letters due on ``day``, recorded and written to ``output`` (the demo calls it too);
    no file when none is due."""
    from followup.cli.output import output_file
    from followup.present.letter_pdf import render_checked
    from followup.store.facilities import letter_settings
    from followup.store.ladder_start import LETTERS_STARTED, ladder_started, start_ladder
    from followup.store.letters_due import due_letters

    run = Run()
    with output_file(output, force=force, binary=True) as handle:
        with app.transaction(plans=True) as session:
            head = _letterhead(letter_settings(session))
            started = ladder_started(session, LETTERS_STARTED) or day
            query = _query(session, day, started, kinds, facility, closed)
            batches = due_letters(session, query, app.policy)
            letters = _recorded(session, batches, day, head, run)  # recorded as rendered
            pdf = render_checked(letters, head.sender, paper_name=head.paper)
            if run.produced:  # an empty first run starts no ladder and writes no file
                start_ladder(session, started, LETTERS_STARTED)
                handle.stream.write(pdf)
                handle.prepare()
        if not run.produced:
            handle.discard()
    run.pages = pdf.count(b"/Type /Page\n") if run.produced else 0
    return run


@dataclass(frozen=True)
class Letterhead:
    """What every letter of a run shares: the sender, the paper, the density statements."""

    sender: Sender
    paper: str
    density: DensityStatements


def _letterhead(settings: LetterSettings) -> Letterhead:
    from followup.present.letter_source import density_of

    return Letterhead(_sender(settings), settings.paper, density_of(settings))


def _checked(
    letters: list[DueLetter], day: date, head: Letterhead, run: Run
) -> list[tuple[DueLetter, Checked]]:
    """The letters that can be produced, worded; the others go to ``run.lacking``."""
    from followup.present.letter_pdf import check_letter
    from followup.present.letter_source import facts_of

    fit = []
    for letter in letters:
        checked = check_letter(facts_of(letter, day), head.sender, head.paper, head.density)
        if checked.problems:
            run.lacking.append((letter, "; ".join(checked.problems)))
        else:
            fit.append((letter, checked))
    return fit


def _recorded(
    session: Session,
    batches: Iterator[list[DueLetter]],
    day: date,
    head: Letterhead,
    run: Run,
) -> Iterator[Checked]:
    """Each batch's letters that can be produced, recorded (those another run recorded first
    left out), with their contacts; their facts carry the log's id as the reference."""
    from followup.store.letter_log import claim_batch, record_contacts

    for batch in batches:
        fit = _checked(batch, day, head, run)
        ours = claim_batch(session, [letter.key for letter, _ in fit], day)
        mine = [(letter, checked) for letter, checked in fit if letter.key.ident in ours]
        latest = {letter.patient.pk: letter.patient.latest_record for letter, _ in mine}
        record_contacts(session, [letter.key.patient_pk for letter, _ in mine], day, latest)
        for letter, checked in mine:
            run.produced += 1
            yield checked.with_reference(f"L-{ours[letter.key.ident]}")


def _dry_run(
    app: AppContext,
    day: date,
    kinds: tuple[str, ...],
    facility: str | None,
    closed: bool,
    fmt: str,
    output: str | None,
    force: bool,
) -> None:
    """What a run would produce on ``day``, from a read-only transaction: nothing recorded,
    and the ladder's start day as if the first run were today."""
    from followup.cli.output import output_stream, write_rows
    from followup.store.facilities import letter_settings
    from followup.store.ladder_start import LETTERS_STARTED, ladder_started
    from followup.store.letters_due import due_letters

    run = Run()
    with app.transaction(write=False, plans=True) as session:
        head = _letterhead(letter_settings(session))
        started = ladder_started(session, LETTERS_STARTED) or day
        query = _query(session, day, started, kinds, facility, closed)
        rows = []
        for batch in due_letters(session, query, app.policy):
            lacking = len(run.lacking)
            fit = _checked(batch, day, head, run)
            run.produced += len(fit)
            rows += [_listed(letter, None) for letter, _ in fit]
            rows += [_listed(letter, reason) for letter, reason in run.lacking[lacking:]]
    with output_stream(output, force=force) as out:
        write_rows(rows, LIST_COLUMNS, fmt, out, LIST_HEADERS if fmt == "table" else None)
    click.echo(
        f"Dry run: would produce {run.produced}; not produced {len(run.lacking)} (lacking an "
        "address or other facts); nothing recorded",
        err=True,
    )


def _listed(letter: DueLetter, problem: str | None) -> dict[str, Any]:
    return {
        "patient_id": letter.patient.external_id,
        "kind": letter.kind,
        "due": letter.due,
        "about": letter.about,
        "facility": letter.facility.name,
        "certified": letter.certified,
        "problem": problem,
    }


@click.command()
@click.argument("patient_id", metavar="ID")
@click.option("--kind", required=True, type=click.Choice(KINDS), help="Which letter.")
@click.option(
    "--exam",
    "exam_id",
    type=click.IntRange(min=1),
    metavar="EXAM_ID",
    help="The exam a result letter reports (default: her latest; `followup exam list ID`).",
)
@click.option(
    "--facility",
    metavar="NAME",
    help="A films request to this facility only (default: each holding films she needs).",
)
@as_of_option
@_pdf_output("the letter (PDF) to FILE")
@pass_app
def letter(
    app: AppContext,
    patient_id: str,
    kind: str,
    exam_id: int | None,
    facility: str | None,
    as_of: date | None,
    output: str | None,
    force: bool,
) -> None:
    """Write one letter for patient ID now, whatever the ladder says (a patient at the desk).

    The letter is recorded in the letter log (a later `followup letters` run does not produce
    it again) and as a `letter-sent` contact. A reminder is for a follow-up not yet due, an
    overdue letter for one past due (the ladder's latest step, the last one certified). A
    letter that lacks an address or a telephone number is refused with the reason.

    \b
    Examples:
      followup letter P1 --kind result -o p1-result.pdf
      followup letter P1 --kind result --exam 12 -o p1-result.pdf
      followup letter P1 --kind overdue -o p1-overdue.pdf
      followup letter P1 --kind films-request --facility "Northside Imaging" -o p1-films.pdf
    """
    from followup.cli.output import output_file
    from followup.present.letter_pdf import render_checked
    from followup.store.facilities import letter_settings
    from followup.store.letter_log import record_contacts, record_reprint
    from followup.store.letters_due import desk_letters

    if output is None or output == "-":
        raise click.UsageError("a letter is a PDF: give the file to write with -o FILE.pdf")
    day = _day(as_of)
    with (
        output_file(output, force=force, binary=True) as handle,
        app.transaction(plans=True) as session,
    ):
        head = _letterhead(letter_settings(session))
        found = desk_letters(
            session, patient_id, kind, day, app.policy, exam_id=exam_id, facility=facility
        )
        run = Run()
        fit = _checked(found, day, head, run)
        if run.lacking:
            (_, reason), *_ = run.lacking
            raise click.ClickException(
                f"the {kind} letter for {patient_id} is not written: {reason}"
            )
        written = [
            checked.with_reference(f"L-{record_reprint(session, due.key, day)}")
            for due, checked in fit
        ]
        latest = {due.patient.pk: due.patient.latest_record for due in found}
        record_contacts(session, [due.key.patient_pk for due in found], day, latest)
        pdf = render_checked(written, head.sender, paper_name=head.paper)
        handle.stream.write(pdf)
        handle.prepare()
    references = ", ".join(checked.facts.reference or "" for checked in written)
    click.echo(f"Wrote {output}: {len(written)} {kind} letter(s), recorded as {references}.")
