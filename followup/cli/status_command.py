"""``followup status ID``: a patient's timeline, next step and flags."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import click

from followup.cli.context import AppContext, pass_app, today
from followup.cli.params import as_of_option, format_option, output_options


@click.command()
@click.argument("patient_id")
@as_of_option
@format_option("table", "json")
@output_options("her page")
@click.option(
    "--policy",
    "policy_file",
    metavar="FILE",
    help="Preview her plan under the policy in this TOML file instead of the one in force; "
    "nothing is stored (`followup policy set FILE` applies it to everyone).",
)
@pass_app
def status(
    app: AppContext,
    patient_id: str,
    as_of: date | None,
    fmt: str,
    output: str | None,
    force: bool,
    policy_file: str | None,
) -> None:
    """Show PATIENT_ID's exams and biopsies, each breast's course, her next follow-up and why
    (and the other breast's), and what to do about each flag.

    Computed from her records under the policy stored in the database (`followup policy
    show`), the same one the due report and reminders use.

    \b
    Examples:
      followup status P1
      followup status P1 --as-of 2025-08-15 --format json
      followup status P1 -o P1-status.txt
      followup status P1 --policy draft.toml     # what draft.toml would change for her
    """
    from followup.cli.context import read_policy_file
    from followup.cli.output import dump_json, output_stream
    from followup.present.status_view import status_json, status_table
    from followup.present.tracking_view import tracking_json, tracking_section
    from followup.rules.tracking import missed_appointment_flag
    from followup.store.contacts import patient_tracking
    from followup.store.patients import get_patient
    from followup.store.plans import assess_patient
    from followup.store.policies import parse_policy_file, read_state

    as_of = as_of or today()
    preview = None
    if policy_file is not None:
        preview = parse_policy_file(read_policy_file(policy_file), policy_file)
    with app.transaction(write=False) as session:
        patient = get_patient(session, patient_id)
        in_force = read_state(session)
        policy = preview or in_force.policy
        inputs, assessment = assess_patient(session, patient.id, policy, as_of)
        pathway, _ = patient_tracking(session, patient.id, as_of, policy)
        name = patient.name
    missed = missed_appointment_flag(pathway)
    if missed is not None:  # §6: the last flag of the order
        assessment = replace(assessment, flags=(*assessment.flags, missed))
    reads = [policy_file] if policy_file else []
    with output_stream(output, force=force, reads=reads) as out:
        if fmt == "json":
            shown = status_json(patient_id, assessment, inputs.exams, inputs.biopsies)
            shown["tracking"] = tracking_json(pathway)
            shown["policy"] = {"in_force": in_force.policy_id, "preview": policy_file}
            dump_json(shown, out)
            return
        if preview is not None:
            out.write(
                f"Preview under the policy in {policy_file} (not stored; {in_force.label} is "
                "in force for every other command).\n\n"
            )
        out.write(status_table(patient_id, name, assessment, inputs.exams, inputs.biopsies) + "\n")
        out.write("\n" + tracking_section(pathway, as_of, patient_id.strip()) + "\n")
