"""``followup exam add|list|edit|delete`` and ``followup films transfer|list``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from followup.cli.audit_log_commands import history as exam_history
from followup.cli.changes import confirm_delete, echo_edited, echo_stored_plan, nothing_to_change
from followup.cli.context import AppContext, pass_app, today
from followup.cli.params import CATEGORY, DATE, DENSITY, IMAGED, KIND, LATERALITY, F, format_option

# The columns of `exam list`, each with how its value is read from an exam and one of its
# findings: declared once, so that no field can be in the rows and missing from the table or
# the CSV (size_class once was).
EXAM_LIST: tuple[tuple[str, Callable[[Any, Any], Any]], ...] = (
    ("id", lambda exam, _: exam.id),
    ("date", lambda exam, _: exam.date),
    ("facility", lambda exam, _: exam.facility.name),
    ("kind", lambda exam, _: exam.kind),
    ("category", lambda _, finding: finding.category),
    ("birads", lambda _, finding: finding_birads(finding.category, finding.subdivision)),
    ("laterality", lambda _, finding: finding.laterality),
    ("imaged", lambda exam, _: exam.imaged),
    ("density", lambda exam, _: exam.density),
    ("radiologist", lambda exam, _: exam.radiologist),
    ("follow_up_months", lambda exam, _: exam.follow_up_months),
    ("morphology", lambda _, finding: finding.morphology),
    ("distribution", lambda _, finding: finding.distribution),
    ("size_class", lambda _, finding: finding.size_class),
    ("note", lambda exam, _: exam.note),
)
EXAM_COLUMNS = tuple(name for name, _ in EXAM_LIST)


def finding_birads(category: str, subdivision: str | None) -> str | None:
    """A stored finding's BI-RADS text: "3", "4B"; None for post-procedure."""
    from followup import rules

    if subdivision:
        return subdivision
    number = rules.Category(category).birads
    return None if number is None else str(number)


def _finding_options(required: bool) -> Callable[[F], F]:
    """Category, side and descriptors; repeat them, in order, for an exam with several findings."""

    def decorate(func: F) -> F:
        options = [
            click.option(
                "--category",
                "categories",
                type=CATEGORY,
                multiple=True,
                required=required,
                metavar="CATEGORY",
                help="Assessment: a name (probably-benign), a BI-RADS number (3; 4A, 4B, "
                "4C kept as given; 0-priors for incomplete-priors), 'BI-RADS 3', or "
                "post-procedure. Repeat for several findings.",
            ),
            click.option(
                "--laterality",
                "sides",
                type=LATERALITY,
                multiple=True,
                metavar="left|right|bilateral",
                help="Side of the finding; repeat in the same order as --category.",
            ),
            click.option(
                "--morphology",
                "morphologies",
                multiple=True,
                metavar="TERM",
                help="Calcification morphology, e.g. punctate, amorphous (other systems' "
                "spellings such as PLEOMORPHIC are read as the BI-RADS term).",
            ),
            click.option(
                "--distribution",
                "distributions",
                multiple=True,
                metavar="TERM",
                help="Calcification distribution, e.g. grouped, linear.",
            ),
            click.option(
                "--size-class",
                "size_classes",
                multiple=True,
                metavar="macro|micro",
                help="Calcification size class.",
            ),
        ]
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def _per_finding(values: Sequence[Any], count: int, option: str) -> list[Any]:
    """Pair a repeated option with the findings: none, or one per --category."""
    if not values:
        return [None] * count
    if len(values) != count:
        raise click.BadParameter(
            f"give {option} once per --category ({count}), in the same order, or not at all",
            param_hint=option,
        )
    return list(values)


def build_findings(
    categories: Sequence[Any],
    sides: Sequence[Any],
    morphologies: Sequence[str],
    distributions: Sequence[str],
    size_classes: Sequence[str],
) -> tuple[Any, ...]:
    from followup.rules import Finding

    count = len(categories)
    columns = zip(
        categories,
        _per_finding(sides, count, "--laterality"),
        _per_finding(morphologies, count, "--morphology"),
        _per_finding(distributions, count, "--distribution"),
        _per_finding(size_classes, count, "--size-class"),
        strict=True,
    )
    return tuple(
        Finding(
            category=c, laterality=s, morphology=m, distribution=d, size_class=z, subdivision=sub
        )
        for (c, sub), s, m, d, z in columns
    )


def _exam_options(editing: bool) -> Callable[[F], F]:
    """--imaged, --density and --radiologist (clinical-rules.md §1, §2)."""
    removes = ' ("" removes it)' if editing else ""

    def decorate(func: F) -> F:
        options = [
            click.option(
                "--imaged",
                type=IMAGED,
                metavar="both|left|right",
                help="Which breasts the exam imaged" + ("." if editing else " (default both)."),
            ),
            click.option(
                "--density",
                type=DENSITY,
                metavar="a|b|c|d",
                help="Breast density: a fatty, b scattered, c heterogeneously dense, "
                "d extremely dense.",
            ),
            click.option(
                "--radiologist",
                metavar="NAME",
                help=f"Who read the exam (for the outcomes audit){removes}.",
            ),
        ]
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def exam_rows(exam: Any) -> list[dict[str, Any]]:
    """One row per finding, so an exam with two findings shows both (EXAM_LIST's columns)."""
    return [{name: value(exam, f) for name, value in EXAM_LIST} for f in exam.findings]


@click.group()
def exam() -> None:
    """Record, list, correct and delete mammograms.

    \b
    Examples:
      followup exam add P1 --date 2025-01-31 --facility "Northside Imaging" \\
          --category probably-benign --laterality left --kind diagnostic
      followup exam add P1 --date 2025-08-02 --facility Northside --category 3 \\
          --laterality left --category 2 --laterality right
      followup exam add P1 --date 2026-02-02 --facility Northside --imaged left \\
          --category 4b --kind diagnostic --density c --radiologist "Dr Okafor"
      followup exam list P1
      followup exam edit 4 --follow-up-months 6
      followup exam delete 4
    """


@exam.command("add")
@click.argument("patient_id")
@click.option(
    "--date",
    "day",
    type=DATE,
    required=True,
    metavar="DATE",
    help="Date of the mammogram, YYYY-MM-DD.",
)
@click.option("--facility", required=True, metavar="NAME", help="Where it was done.")
@_finding_options(required=True)
@_exam_options(editing=False)
@click.option("--kind", type=KIND, metavar="screening|diagnostic", help="Why it was done.")
@click.option(
    "--follow-up-months",
    type=int,
    metavar="N",
    help="The radiologist's recommended interval (1-36); overrides the default.",
)
@click.option("--note", metavar="TEXT", help="Free text, e.g. what the report said.")
@pass_app
def add(
    app: AppContext,
    patient_id: str,
    day: Any,
    facility: str,
    kind: Any,
    follow_up_months: int | None,
    note: str | None,
    imaged: Any,
    density: Any,
    radiologist: str | None,
    **finding_options: Any,
) -> None:
    """Record a mammogram of PATIENT_ID and show her next step.

    A finding with a side applies to that breast; one without a side (or bilateral) to every
    breast the exam imaged, and a breast imaged without a finding was negative on it. An
    exam of one breast (--imaged left) changes nothing for the other.
    """
    from followup.rules import Exam, Imaged
    from followup.store.exams import add_exam

    findings = build_findings(**finding_options)
    exam_in = Exam(
        date=day,
        facility=facility,
        findings=findings,
        kind=kind,
        follow_up_months=follow_up_months,
        imaged=imaged or Imaged.BOTH,
        density=density,
        radiologist=radiologist,
    )
    with app.transaction() as session:
        row = add_exam(session, patient_id, exam_in, note=note, today=today(), policy=app.policy)
        click.echo(f"Recorded exam {row.id} for patient {patient_id}.")
        echo_stored_plan(session, row.patient_id)


@exam.command("list")
@click.argument("patient_id")
@format_option("table", "json", "csv")
@pass_app
def list_(app: AppContext, patient_id: str, fmt: str) -> None:
    """List a patient's exams, oldest first (one line per finding)."""
    from followup.cli.output import write_rows
    from followup.store.exams import list_exams

    with app.transaction(write=False) as session:
        rows = [r for e in list_exams(session, patient_id) for r in exam_rows(e)]
    write_rows(rows, EXAM_COLUMNS, fmt, sys.stdout)


@exam.command("edit")
@click.argument("exam_id", type=int)
@click.option("--date", "day", type=DATE, metavar="DATE", help="New date, YYYY-MM-DD.")
@click.option("--facility", metavar="NAME", help="New facility.")
@_finding_options(required=False)
@_exam_options(editing=True)
@click.option("--clear-density", is_flag=True, help="Remove the recorded density.")
@click.option("--kind", type=KIND, metavar="screening|diagnostic", help="New exam kind.")
@click.option("--follow-up-months", type=int, metavar="N", help="New recommended interval.")
@click.option("--clear-follow-up", is_flag=True, help="Remove the recorded interval.")
@click.option("--note", metavar="TEXT", help='New note ("" removes it).')
@pass_app
def edit(
    app: AppContext,
    exam_id: int,
    day: Any,
    facility: str | None,
    kind: Any,
    follow_up_months: int | None,
    clear_follow_up: bool,
    note: str | None,
    imaged: Any,
    density: Any,
    radiologist: str | None,
    clear_density: bool,
    **finding_options: Any,
) -> None:
    """Correct an exam; the change is kept in the audit log. Findings given replace all."""
    from followup.store.exams import ExamChanges, edit_exam

    if finding_options["categories"]:
        findings = build_findings(**finding_options)
    elif any(finding_options.values()):
        raise click.UsageError("give --category too: findings are replaced as a whole")
    else:
        findings = None
    given = (day, facility, kind, follow_up_months, note, findings, imaged, density, radiologist)
    if all(value is None for value in given) and not (clear_follow_up or clear_density):
        raise click.UsageError(nothing_to_change("--note TEXT"))
    if density is not None and clear_density:
        raise click.UsageError("give --density or --clear-density, not both")
    changes = ExamChanges(
        date=day,
        facility=facility,
        findings=findings,
        kind=kind,
        follow_up_months=follow_up_months,
        clear_follow_up=clear_follow_up,
        note=note,
        imaged=imaged,
        density=density,
        clear_density=clear_density,
        radiologist=radiologist,
    )
    with app.transaction() as session:
        row = edit_exam(session, exam_id, changes, today=today(), policy=app.policy)
        echo_edited(session, row, f"exam {exam_id}")


@exam.command("delete")
@click.argument("exam_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def delete(app: AppContext, exam_id: int, yes: bool) -> None:
    """Delete an exam entered by mistake; what it said is kept in the audit log."""
    from followup.store.exams import delete_exam, get_exam

    with app.transaction() as session:
        row = get_exam(session, exam_id)
        label = f"exam {exam_id} ({row.date.isoformat()}, {row.facility.name})"
        confirm_delete(label, yes)
        delete_exam(session, exam_id, policy=app.policy)
    click.echo(f"Deleted {label}.")


@click.group()
def films() -> None:
    """Record where a patient's films are, for the comparison with earlier exams."""


@films.command("transfer")
@click.argument("patient_id")
@click.option(
    "--from", "from_facility", required=True, metavar="FACILITY", help="Where the films were taken."
)
@click.option(
    "--to", "to_facility", required=True, metavar="FACILITY", help="Where they are on hand now."
)
@click.option(
    "--date",
    "day",
    type=DATE,
    metavar="DATE",
    help="The day they were sent (default today): the films --from made up to this day.",
)
@pass_app
def transfer(
    app: AppContext, patient_id: str, from_facility: str, to_facility: str, day: Any
) -> None:
    """Record that the films one facility made of her up to DATE are on hand at another.

    What --from had on hand by then from earlier transfers goes with them; films it makes
    later were never sent. Sending the same facility's films to the same place again on a
    later day moves the recorded date on.

    \b
    Examples:
      followup films transfer P1 --from "Old Town Clinic" --to "Northside Imaging"
      followup films transfer P1 --from "Old Town Clinic" --to Northside --date 2025-03-01
    """
    from followup.store.exams import transfer_films

    now = today()
    with app.transaction() as session:
        done, before = transfer_films(
            session,
            patient_id,
            from_facility,
            to_facility,
            day=day or now,
            today=now,
            policy=app.policy,
        )
        was = f" (was up to {before.isoformat()})" if before else ""
        click.echo(
            f"Recorded: the films of {done.from_facility.name} up to {done.date.isoformat()} "
            f"are on hand at {done.to_facility.name} for patient {patient_id}{was}."
        )


FILMS_COLUMNS = ("id", "date", "from", "to", "recorded_at")


@films.command("list")
@click.argument("patient_id")
@format_option("table", "json", "csv")
@pass_app
def films_list(app: AppContext, patient_id: str, fmt: str) -> None:
    """List what was sent where and when: each film transfer of PATIENT_ID, by date (the
    films the source made up to that date)."""
    from followup.cli.output import write_rows
    from followup.store.exams import list_transfers

    with app.transaction(write=False) as session:
        rows = [
            {
                "id": t.id,
                "date": t.date,
                "from": t.from_facility.name,
                "to": t.to_facility.name,
                "recorded_at": t.recorded_at.isoformat(sep=" ", timespec="seconds"),
            }
            for t in list_transfers(session, patient_id)
        ]
    write_rows(rows, FILMS_COLUMNS, fmt, sys.stdout)


exam.add_command(exam_history)  # the audit log's reader, beside `audit-log`
