"""``followup exam history EXAM_ID`` and ``followup audit-log [PATIENT_ID]``: the audit log,
as people read it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click

from followup.cli.context import AppContext, pass_app
from followup.cli.params import format_option, output_options


def _write(
    entries: Iterable[Any], fmt: str, single_exam: bool, output: str | None, force: bool
) -> int:
    from followup.cli.output import output_stream, write_json, write_rows
    from followup.present.audit_view import ROW_COLUMNS, columns_for, entry_json, entry_rows
    from followup.present.tables import write_table

    with output_stream(output, force=force) as out:
        if fmt == "json":
            return write_json((entry_json(e) for e in entries), out)
        if fmt == "csv":
            return write_rows(entry_rows(entries), ROW_COLUMNS, "csv", out)
        columns, headers = columns_for(single_exam)
        rows = entry_rows(entries, repeat=False)
        return write_table(rows, columns, out, headers, empty="(the log is empty)")


@click.command("history")
@click.argument("exam_id", type=int)
@format_option("table", "json", "csv")
@output_options("the history")
@pass_app
def history(app: AppContext, exam_id: int, fmt: str, output: str | None, force: bool) -> None:
    """Show what happened to exam EXAM_ID: who added, changed or deleted it, when, and each
    field before -> after (times in UTC).

    An exam's id is never given to another exam, even once it is deleted, so the history is
    that of one mammogram. Exams brought in by `import exams`, or recorded before this
    version logged additions, start with the state they were recorded in. The table cuts
    long values; --format csv or json give every value whole.

    \b
    Examples:
      followup exam history 5
      followup exam history 5 --format json
    """
    from followup.store.audit import exam_history

    with app.transaction(write=False) as session:
        entries = exam_history(session, exam_id)
    if fmt == "table" and output is None:
        click.echo(f"Exam {exam_id} of patient {entries[0].patient_id or '(deleted)'}\n")
    _write(entries, fmt, True, output, force)


@click.command("audit-log")
@click.argument("patient_id", required=False)
@format_option("table", "json", "csv")
@output_options("the log")
@pass_app
def audit_log(
    app: AppContext, patient_id: str | None, fmt: str, output: str | None, force: bool
) -> None:
    """Show the audit log: every exam added, changed or deleted and every film transfer, with
    who, when (UTC) and each field before -> after; PATIENT_ID's only, if given.

    Who is FOLLOWUP_USER when it was set, else the login name. Bulk imports (`import exams`)
    are not logged exam by exam; `followup exam history EXAM_ID` shows such an exam's state
    as recorded.

    \b
    Examples:
      followup audit-log P1
      followup audit-log --format csv -o audit.csv
    """
    from followup.store.audit import audit_log as read_log

    with app.transaction(write=False) as session:
        _write(read_log(session, patient_id), fmt, False, output, force)
