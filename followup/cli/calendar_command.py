"""``followup calendar ID``: the next follow-up as an .ics file for the patient's calendar."""

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
    help="Remind this many days before the due date.",
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
    """An all-day calendar event (.ics) on PATIENT_ID's next follow-up date, with a reminder.

    The title says "Mammogram follow-up" and nothing more: no name, id or diagnosis, since
    calendars sync to phones and cloud services. The event's UID is the same for the same
    patient and due date, so importing the file again updates the event instead of
    duplicating it. A due date already past (per --as-of) is still written, with a warning.

    \b
    Examples:
      followup calendar P1 -o next-mammogram.ics
      followup calendar P1 --alarm-days 14 > P1.ics
    """
    from followup.cli.output import output_stream
    from followup.ics import follow_up_calendar, follow_up_uid
    from followup.store.patients import get_patient
    from followup.store.plans import stored_plan

    with (
        output_stream(output, force=force) as out,
        app.transaction(write=False, plans=True) as session,
    ):
        patient = get_patient(session, patient_id)
        plan = stored_plan(session, patient.id)
        if plan is None or plan.due is None:
            reason = plan.reason if plan is not None else "no exam is recorded"
            raise click.ClickException(
                f"{patient.external_id} has no follow-up date to put in a calendar ({reason}); "
                f"see `followup status {patient.external_id}`"
            )
        ics = follow_up_calendar(
            follow_up_uid(patient.id, plan.due),
            plan.due,
            location=plan.facility,
            alarm_days_before=alarm_days,
            stamp=plan.exam_date,
        )
        due = plan.due
        late = ((as_of or today()) - due).days
        if late > 0:
            click.echo(f"Warning: this follow-up was due {late} days ago ({due}).", err=True)
        out.write(ics.decode("utf-8"))
