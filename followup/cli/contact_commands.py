"""``followup contact ID --outcome ...``, ``contact list ID``, ``patient close`` and
``patient reopen``: the pathway log of clinical-rules.md §7."""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from followup.cli.context import AppContext, pass_app, today
from followup.cli.params import DATE, format_option, output_options

CONTACT_COLUMNS = (
    "id",
    "date",
    "outcome",
    "appointment",
    "facility",
    "note",
    "recorded_at",
    "recorded_by",
)


class OutcomeType(click.ParamType):
    """An outcome of §7 (or, with ``closing``, a reason that closes tracking)."""

    def __init__(self, closing: bool = False) -> None:
        self.closing = closing
        self.name = "reason" if closing else "outcome"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from followup.rules import tracking

        try:
            parse = tracking.parse_close_reason if self.closing else tracking.parse_outcome
            return parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class ContactGroup(click.Group):
    """``contact ID ...`` records (the ``add`` command); ``contact list ID`` lists. A patient
    whose id is a command's name is recorded with ``contact add ID``."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return "add", self.commands["add"], args
        return super().resolve_command(ctx, args)


@click.group(cls=ContactGroup)
def contact() -> None:
    """Record an attempt to reach a patient and its outcome, or list her contacts.

    \b
    followup contact ID --outcome OUTCOME [--date DATE] [--appointment DATE [--at FACILITY]]
                        [--note TEXT]
    followup contact list ID

    OUTCOME is one of reached, no-answer, left-message, letter-sent, wrong-number,
    scheduled (needs --appointment), declined, moved-away, deceased, care-elsewhere. The last
    four close her tracking, as `followup patient close` does: she leaves the due and flags
    reports, reminders and letters until a new exam or `followup patient reopen`. Each
    contact is kept with who recorded it and when, and in the audit log.

    \b
    Examples:
      followup contact P1 --outcome no-answer
      followup contact P1 --outcome scheduled --appointment 2025-07-02 --at "Northside Imaging"
      followup contact P1 --outcome moved-away --date 2025-06-01 --note "to Porto"
      followup contact list P1 --format json
    """


@contact.command("add")
@click.argument("patient_id")
@click.option(
    "--outcome",
    type=OutcomeType(),
    required=True,
    help="What came of it: reached, no-answer, left-message, letter-sent, wrong-number, "
    "scheduled, declined, moved-away, deceased, care-elsewhere.",
)
@click.option("--date", "day", type=DATE, metavar="DATE", help="When (default: today).")
@click.option(
    "--appointment",
    type=DATE,
    metavar="DATE",
    help="The appointment made (with --outcome scheduled, which needs it).",
)
@click.option("--at", "facility", metavar="FACILITY", help="Where the appointment is.")
@click.option("--note", metavar="TEXT", help="Anything the next caller should know.")
@pass_app
def add(
    app: AppContext,
    patient_id: str,
    outcome: Any,
    day: date | None,
    appointment: date | None,
    facility: str | None,
    note: str | None,
) -> None:
    """Record a contact with PATIENT_ID (`followup contact PATIENT_ID ...` says the same)."""
    from followup.rules.tracking import CLOSING, Outcome
    from followup.store.contacts import ContactInput, record_contact

    if outcome is Outcome.SCHEDULED and appointment is None:
        raise click.UsageError("--outcome scheduled needs --appointment DATE (YYYY-MM-DD)")
    if appointment is not None and outcome is not Outcome.SCHEDULED:
        raise click.UsageError(
            f"--appointment goes with --outcome scheduled, not {outcome.value}; record the "
            "call that booked it as scheduled"
        )
    if facility is not None and appointment is None:
        raise click.UsageError("--at goes with --appointment; give the appointment's date")
    given = ContactInput(outcome, day or today(), appointment, facility, note)
    with app.transaction() as session:
        recorded = record_contact(session, patient_id, given, today=today())
    said = f"Recorded contact {recorded['id']} with patient {patient_id.strip()}: {outcome.value}"
    if appointment is not None:
        at = f" at {recorded['facility']}" if recorded["facility"] else ""
        said += f", appointment {appointment.isoformat()}{at}"
    closed = outcome in CLOSING
    click.echo(said + (" (tracking closed)." if closed else "."))


@contact.command("list")
@click.argument("patient_id")
@format_option("table", "json", "csv")
@output_options("the list")
@pass_app
def list_(app: AppContext, patient_id: str, fmt: str, output: str | None, force: bool) -> None:
    """List PATIENT_ID's contacts, closings and reopens, oldest first, with who recorded
    each and when.

    \b
    Examples:
      followup contact list P1
      followup contact list P1 --format csv -o P1-contacts.csv
    """
    from followup.cli.output import output_stream, write_rows
    from followup.present.tables import write_table
    from followup.store.contacts import contact_rows

    with app.transaction(write=False) as session:
        rows = contact_rows(session, patient_id)
    with output_stream(output, force=force) as out:
        if fmt == "table":
            write_table(rows, CONTACT_COLUMNS, out, empty="(no contact recorded)")
        else:
            write_rows(rows, CONTACT_COLUMNS, fmt, out)


@click.command("close")
@click.argument("patient_id")
@click.option(
    "--reason",
    type=OutcomeType(closing=True),
    required=True,
    help="declined, moved-away, deceased or care-elsewhere.",
)
@click.option("--date", "day", type=DATE, metavar="DATE", help="When (default: today).")
@click.option("--note", metavar="TEXT", help="What was said or learnt.")
@pass_app
def close(
    app: AppContext, patient_id: str, reason: Any, day: date | None, note: str | None
) -> None:
    """Close PATIENT_ID's tracking: she leaves the due and flags reports, reminders and
    letters (`--closed` shows her); nothing is deleted. A new exam dated after the closing,
    or `followup patient reopen`, reopens it; deceased also turns her reminders off for good.

    \b
    Examples:
      followup patient close P1 --reason care-elsewhere --note "followed at City Hospital"
      followup patient close P2 --reason deceased --date 2025-05-30
    """
    from followup.store.contacts import ContactInput, close_patient

    with app.transaction() as session:
        given = ContactInput(reason, day or today(), note=note)
        close_patient(session, patient_id, given, today=today())
    click.echo(f"Closed the tracking of patient {patient_id.strip()}: {reason.value}.")


@click.command("reopen")
@click.argument("patient_id")
@click.option("--date", "day", type=DATE, metavar="DATE", help="When (default: today).")
@click.option("--note", metavar="TEXT", help="Why.")
@pass_app
def reopen(app: AppContext, patient_id: str, day: date | None, note: str | None) -> None:
    """Reopen PATIENT_ID's closed tracking: she is back on the reports and reminders (not if
    she was recorded deceased).

    \b
    Examples:
      followup patient reopen P1
      followup patient reopen P1 --note "back from abroad"
    """
    from followup.store.contacts import reopen_patient

    with app.transaction() as session:
        reopen_patient(session, patient_id, day=day or today(), today=today(), note=note)
    click.echo(f"Reopened the tracking of patient {patient_id.strip()}.")
