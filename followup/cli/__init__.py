"""The ``followup`` command line: a thin skin over followup.store and followup.rules.

Subcommands are imported only when used, so ``followup --help`` answers without importing
SQLAlchemy or the rules.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from followup import __version__

# name -> "module:attribute"; each module imports the store only inside its commands.
COMMANDS = {
    "init": "followup.cli.db_commands:init",
    "db": "followup.cli.db_commands:db",
    "patient": "followup.cli.patient_commands:patient",
    "exam": "followup.cli.exam_commands:exam",
    "films": "followup.cli.exam_commands:films",
    "biopsy": "followup.cli.biopsy_commands:biopsy",
    "status": "followup.cli.status_command:status",
    "import": "followup.cli.import_group:import_group",
    "due": "followup.cli.report_commands:due",
    "flags": "followup.cli.report_commands:flags",
    "stats": "followup.cli.report_commands:stats",
    "recompute": "followup.cli.report_commands:recompute",
    "policy": "followup.cli.policy_commands:policy",
    "audit": "followup.cli.audit_command:audit",
    "audit-log": "followup.cli.audit_log_commands:audit_log",
    "demo": "followup.cli.demo_command:demo",
    "export": "followup.cli.export_commands:export",
    "calendar": "followup.cli.calendar_command:calendar",
    "remind": "followup.cli.remind_command:remind",
    "contact": "followup.cli.contact_commands:contact",
    "facility": "followup.cli.facility_commands:facility",
    "clinic": "followup.cli.facility_commands:clinic",
    "letters": "followup.cli.letter_commands:letters",
    "letter": "followup.cli.letter_commands:letter",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use, and whose errors are clean.

    Errors the user can fix (store errors, an unreachable or locked database) become a
    one-line ``Error: ...`` with exit status 1 instead of a traceback.
    """

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, attribute = self.lazy[cmd_name].split(":")
            return getattr(importlib.import_module(module_name), attribute)
        return super().get_command(ctx, cmd_name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        from followup.cli.errors import refuse_undecodable

        refuse_undecodable(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        from followup.cli.errors import quiet_broken_pipe, translate_errors

        with quiet_broken_pipe(), translate_errors():
            return super().invoke(ctx)


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Examples:
  followup demo                          # a demo programme and today's due report
  followup patient add P1 --name "Ana"
  followup exam add P1 --date 2025-01-31 --facility "Northside Imaging" \\
      --category "BI-RADS 3" --laterality left --kind diagnostic
  followup status P1
  followup due --within 30 --format csv > due.csv
""",
)
@click.option(
    "--db",
    metavar="PATH_OR_URL",
    envvar="FOLLOWUP_DB",
    help="SQLite file or SQLAlchemy URL (postgresql+psycopg://...). "
    "Default: $FOLLOWUP_DB, else ~/.local/share/followup/followup.db.",
)
@click.option(
    "--policy",
    "policy_file",
    metavar="FILE",
    envvar="FOLLOWUP_POLICY",
    hidden=True,  # refused: the policy lives in the database (`followup policy set FILE`)
)
@click.version_option(__version__, "--version", prog_name="followup")
@click.pass_context
def main(ctx: click.Context, db: str | None, policy_file: str | None) -> None:
    """Track the follow-up of breast calcifications seen on mammograms.

    Records each mammogram (date, facility, category, side), computes the next follow-up and
    why, and flags what endangers the comparison with earlier films. The clinic's policy
    (intervals and thresholds) is stored in the database: see `followup policy --help`.
    """
    from followup.cli.context import AppContext

    if db is not None and not db.strip():
        raise click.UsageError(
            "--db is empty; give a database file or URL, or leave --db out to use $FOLLOWUP_DB"
        )
    if policy_file is not None:
        _refuse_policy_option(ctx, policy_file)
    from followup.cli.output import guard_terminal

    guard_terminal()
    ctx.obj = AppContext(db=db)
    ctx.call_on_close(ctx.obj.close)


def _refuse_policy_option(ctx: click.Context, policy_file: str) -> None:
    """A policy given per command made commands disagree (issue 11, point 10): refused, with
    the command that stores it for every command, user and cron job."""
    from click.core import ParameterSource

    hint = (
        "the policy lives in the database, so that every command, user and cron job applies "
        f"the same one: store it once with `followup policy set {policy_file}` (preview one "
        "patient with `followup status ID --policy FILE`)"
    )
    if ctx.get_parameter_source("policy_file") is ParameterSource.ENVIRONMENT:
        if ctx.invoked_subcommand == "policy":
            return  # `policy set` is how to move the file's values into the database
        raise click.ClickException(f"FOLLOWUP_POLICY is set; {hint}, then unset FOLLOWUP_POLICY")
    raise click.UsageError(f"--policy is not a global option: {hint}")
