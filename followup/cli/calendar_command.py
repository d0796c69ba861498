"""``followup calendar ID``: her calendar event as an .ics file, updated in place."""

from __future__ import annotations

from datetime import date

import click

from followup.cli.context import AppContext, pass_app, today
from followup.cli.params import as_of_option, output_options


@click.command()
@click.argument("patient_id")
@output_options("the .ics")
@click.option(
    "--alarm-days",
    type=click.IntRange(0, 60),
    default=7,
    show_default=True,
    metavar="DAYS",
    help="Remind this many days before the day of the event.",
)
@as_of_option
@pass_app
def calendar(
    app: AppContext,
    patient_id: str,
    output: str | None,
    force: bool,
    alarm_days: int,
    as_of: date | None,
) -> None:
    """PATIENT_ID's follow-up as a calendar file (.ics): one all-day event, with a reminder.

    The event is her appointment when one is booked (`contact ID --outcome scheduled
    --appointment DATE [--at FACILITY]`), else her next due date at the facility of her
    latest exam. A due date already past (per --as-of) is still written, with a warning.

    One event per patient, updated in place: every file for her (this command and the
    reminder e-mails' attachment) carries the same UID, a hash of the database's own id for
    her, and a SEQUENCE that goes up by one each time what the event says changes (its
    date, place, booked or not), so importing the newer file moves or updates the event
    instead of leaving the old one behind. Unchanged, the file is the same bytes. With
    nothing to schedule (her tracking closed, treatment, no plan) the file cancels the event
    she was given (METHOD:CANCEL, STATUS:CANCELLED); if she was never given one, it is an
    error. The title says "Mammogram follow-up" (or "Mammogram appointment") and nothing
    more: no name, id, diagnosis or reason, since calendars sync to phones and cloud
    services.

    \b
    Examples:
      followup calendar P1 -o next-mammogram.ics
      followup calendar P1 --alarm-days 14 > P1.ics
      followup calendar P1 -o P1.ics --force     # after a new exam: the event moves
    """
    from followup.cli.output import output_stream
    from followup.ics import EventKind, calendar_uid, event_calendar
    from followup.store.calendar_events import issue, wanted_event
    from followup.store.patients import get_patient
    from followup.store.plans import stored_plan

    day = as_of or today()
    app.open(create=False)  # it records what it issued, but never creates a database
    with output_stream(output, force=force) as out, app.transaction(plans=True) as session:
        patient = get_patient(session, patient_id)
        revision = issue(session, patient.id, wanted_event(session, patient.id, day, app.policy))
        if revision is None:
            plan = stored_plan(session, patient.id)
            reason = plan.reason if plan is not None else "no exam is recorded"
            raise click.ClickException(
                f"{patient.external_id} has no follow-up date to put in a calendar ({reason}); "
                f"see `followup status {patient.external_id}`"
            )
        event = revision.event
        if event.kind is EventKind.CANCELLED:
            click.echo(
                f"Note: {patient.external_id} has nothing to schedule now; this file cancels "
                f"the event of {event.day} in her calendar.",
                err=True,
            )
        elif event.kind is EventKind.FOLLOW_UP and (late := (day - event.day).days) > 0:
            click.echo(f"Warning: this follow-up was due {late} days ago ({event.day}).", err=True)
        ics = event_calendar(calendar_uid(patient.id), revision, alarm_days_before=alarm_days)
        out.write(ics.decode("utf-8"))
