"""``followup audit``: the outcomes audit of a period (clinical-rules.md §8, cli.md "Audit")."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from followup.cli.context import AppContext, pass_app, today
from followup.cli.params import DATE, format_option, output_options
from followup.rules.audit import GROUPINGS

if TYPE_CHECKING:
    from followup.rules.audit import AuditReport


@click.command()
@click.option("--from", "start", type=DATE, required=True, metavar="DATE",
              help="First exam date audited (YYYY-MM-DD).")  # fmt: skip
@click.option("--to", "end", type=DATE, required=True, metavar="DATE",
              help="Last exam date audited, included.")  # fmt: skip
@click.option(
    "--by",
    type=click.Choice(GROUPINGS),
    help="One block per facility or per radiologist (who read the exam), then all of them.",
)
@click.option(
    "--facility",
    metavar="NAME",
    help="Only the exams done at this facility (a known one: a name no facility has is an "
    "error listing the nearest).",
)
@click.option(
    "--as-of",
    type=DATE,
    metavar="DATE",
    help="The outcomes known on this day (default: today); exams and biopsies after it are "
    "not counted, so a past day gives the audit as it stood then.",
)
@format_option("table", "json", "csv")
@output_options("the audit")
@click.option(
    "--plot",
    metavar="FILE",
    help="Also draw recall rate against cancer detection rate, one point per radiologist (per "
    "facility with --by facility) and the total, the acceptable region shaded, to FILE.png or "
    "FILE.svg, replaced only with --force (needs the plot extra: pip install "
    "'followup[plot]').",
)
@pass_app
def audit(
    app: AppContext,
    start: date,
    end: date,
    by: str | None,
    facility: str | None,
    as_of: date | None,
    fmt: str,
    output: str | None,
    force: bool,
    plot: str | None,
) -> None:
    """Outcomes audit: recall, cancer detection, PPV, by facility or radiologist.

    The medical outcomes audit (MQSA; ACR BI-RADS) of the exams dated --from to --to:
    recall rate, cancer detection rate per 1,000 screens, PPV1, PPV2, PPV3, sensitivity and
    specificity, each beside the BCSC average and the minimally acceptable range, `!` on a
    figure outside it, with the counts each rests on, and a note under a figure outside its
    range or resting on fewer than 30 exams (too few to judge).

    \b
    A screening exam is positive when incomplete (either kind), probably benign,
    suspicious or highly suspicious; a diagnostic exam when suspicious or highly
    suspicious. A cancer is a malignant biopsy, or a known-malignancy exam, of the
    same patient within outcome_days (policy, default 365) after the exam. Outcomes
    are never guessed: an exam whose window has not ended by the as-of date, a
    biopsy recommendation with no result, and an exam whose window holds a biopsy
    still pending are counted as open outcomes, and the outcome figures rest on the
    exams whose window has ended with every biopsy's result known.

    \b
    Examples:
      followup audit --from 2024-01-01 --to 2024-12-31
      followup audit --from 2024-01-01 --to 2024-12-31 --plot audit.png    # per radiologist
      followup audit --from 2024-01-01 --to 2024-12-31 --by facility --format csv -o audit.csv
      followup audit --from 2024-07-01 --to 2025-06-30 --facility "Northside Imaging" \\
          --by radiologist --format json
    """
    as_of = as_of or today()
    _check_period(start, end, as_of)
    drawing = _check_plot(plot, output)
    # The plot is per radiologist unless told otherwise; the report stays as asked.
    grouping = by or ("radiologist" if plot else None)
    with ExitStack() as stack:  # files staged first: a refused name stops before the query
        picture = _plot_file(stack, plot, force) if plot else None
        out = _report_stream(stack, output, force)
        report, name = _audit(app, start, end, as_of, grouping, facility)
        if picture is not None:
            picture.write(_drawn(report, drawing, name))
        _write(report if by == grouping else report.ungrouped(), fmt, name, out)


def _check_period(start: date, end: date, as_of: date) -> None:
    if start > end:
        raise click.UsageError(f"--from {start} is after --to {end}; swap them")
    if start > as_of:
        raise click.UsageError(
            f"--from {start} is after the as-of date {as_of}: no exam of the period is known"
            " yet; give an earlier period or a later --as-of"
        )


def _check_plot(plot: str | None, output: str | None) -> str | None:
    """The plot's format from its name, checked with matplotlib before anything is read."""
    if plot is None:
        return None
    from followup.present.audit_plot import PlotUnavailable, check_available, plot_format

    try:
        fmt = plot_format(plot)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--plot") from None
    if output not in (None, "-") and Path(output).resolve() == Path(plot).resolve():
        raise click.UsageError("-o and --plot name the same file; give each its own")
    try:
        check_available()
    except PlotUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    return fmt


def _plot_file(stack: ExitStack, plot: str, force: bool) -> Any:
    from followup.cli.output import output_file

    return stack.enter_context(output_file(plot, force=force, binary=True)).stream


def _report_stream(stack: ExitStack, output: str | None, force: bool) -> TextIO:
    from followup.cli.output import output_stream

    return stack.enter_context(output_stream(output, force=force))


def _audit(
    app: AppContext, start: date, end: date, as_of: date, by: str | None, facility: str | None
) -> tuple[AuditReport, str | None]:
    """The report, and the facility's stored name when the exams were restricted to one."""
    from followup.store.audit_inputs import AuditQuery, outcomes_audit

    with app.transaction(write=False) as session:
        query = AuditQuery(start, end, as_of, app.policy.outcome_days, facility, by)
        return outcomes_audit(session, query)


def _drawn(report: AuditReport, fmt: str | None, facility: str | None) -> bytes:
    from followup.present.audit_plot import audit_plot

    return audit_plot(report, fmt or "png", facility)


def _write(report: AuditReport, fmt: str, facility: str | None, out: TextIO) -> None:
    from followup.cli.output import dump_json, write_csv, write_text
    from followup.present.audit_report import CSV_COLUMNS, audit_json, audit_table, csv_rows

    if fmt == "json":
        dump_json(audit_json(report, facility), out)
    elif fmt == "csv":
        write_csv(csv_rows(report), CSV_COLUMNS, out)
    else:
        write_text(audit_table(report, facility), out)
