"""``followup status ID``: a patient's timeline, next step and flags."""

from __future__ import annotations

from datetime import date

import click

from followup.cli.context import AppContext, pass_app, today
from followup.cli.params import as_of_option, format_option, output_options


@click.command()
@click.argument("patient_id")
@as_of_option
@format_option("table", "json")
@output_options("her page")
@pass_app
def status(
    app: AppContext,
    patient_id: str,
    as_of: date | None,
    fmt: str,
    output: str | None,
    force: bool,
) -> None:
    """Show PATIENT_ID's exams, her next follow-up and why, and what to do about each flag.

    \b
    Examples:
      followup status P1
      followup status P1 --as-of 2025-08-15 --format json
      followup status P1 -o P1-status.txt
    """
    from followup.cli.output import dump_json, output_stream
    from followup.cli.status_view import status_json, status_table
    from followup.store.patients import get_patient
    from followup.store.plans import assess_patient

    as_of = as_of or today()
    with app.transaction(write=False) as session:
        patient = get_patient(session, patient_id)
        exams, assessment = assess_patient(session, patient.id, app.policy, as_of)
        name = patient.name
    with output_stream(output, force=force) as out:
        if fmt == "json":
            dump_json(status_json(patient_id, assessment, exams), out)
        else:
            out.write(status_table(patient_id, name, assessment, exams) + "\n")
