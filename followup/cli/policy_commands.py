"""``followup policy show|set|history``: the clinic's policy, stored in its database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from followup.cli.context import AppContext, pass_app, read_policy_file
from followup.cli.params import format_option, output_options

if TYPE_CHECKING:
    from followup.rules import Policy
    from followup.store.policies import PolicyRecord

HISTORY_COLUMNS = ("policy", "set_at", "set_by", "in_force", "changes")


@click.group()
def policy() -> None:
    """The clinic's follow-up policy: every interval and threshold of the rules.

    It is stored in the database, so every command, every user and every cron job applies the
    same one, and the stored plans always follow it. A database uses the defaults of
    clinical-rules.md until a policy is set. Values have bounds: intervals 1-36 months,
    windows 1-365 days (the audit's outcome_days 1-730), comparison 1-10 years.

    \b
    Examples:
      followup policy show > clinic.toml        # the policy in force, defaults included
      followup policy set clinic.toml           # check, store, recompute every plan
      followup policy history
      followup status P1 --policy draft.toml    # preview one patient; stores nothing
    """


@policy.command("show")
@output_options("the policy")
@pass_app
def show(app: AppContext, output: str | None, force: bool) -> None:
    """Print the policy in force as TOML, every key included (defaults too).

    A value that differs from its default is followed by the default in a comment. The
    output is a policy file: edit it and give it to `followup policy set`.

    \b
    Examples:
      followup policy show
      followup policy show -o clinic.toml
    """
    from followup.cli.output import output_stream
    from followup.rules import policy_toml
    from followup.store.policies import get_policy, read_state

    with app.transaction(write=False) as session:
        state = read_state(session)
        record = get_policy(session, state.policy_id) if state.policy_id else None
    header: tuple[str, ...]
    if record is None:
        header = ("The defaults of clinical-rules.md: no policy has been set in this database.",)
    else:
        header = (f"Policy {record.id}, set {_when(record)} by {record.set_by}.",)
    if not state.plans_current:
        header += ("Plans are still being recomputed under it (any report finishes that).",)
    with output_stream(output, force=force) as out:
        out.write(policy_toml(state.policy, header))


@policy.command("set")
@click.argument("file", metavar="FILE")
@pass_app
def set_(app: AppContext, file: str) -> None:
    """Check the TOML policy FILE, store it as the policy in force, and recompute every plan.

    Every key is checked (known key, whole numbers, within bounds: intervals 1-36 months,
    windows 1-365 days, the audit's outcome_days 1-730, comparison 1-10 years); a bad file
    is refused whole, naming the key and its bound, and nothing changes. Keys left out take
    their defaults. The policy is kept with who set it (FOLLOWUP_USER, else the login name)
    and when; `policy history` lists them. Plans are then recomputed a batch of patients at
    a time (a progress bar on a terminal); if that is interrupted, the next command that
    reads plans finishes it.

    \b
    Examples:
      followup policy show > clinic.toml && $EDITOR clinic.toml && followup policy set clinic.toml
      FOLLOWUP_USER=coordinator followup policy set /srv/followup/clinic.toml
    """
    from followup.store.policies import set_policy

    content = read_policy_file(file)
    with app.transaction() as session:
        before, record = set_policy(session, content, file)
    if record is None:
        click.echo(f"The policy in {file} is the one in force ({before.label}); nothing changed.")
    else:
        click.echo(
            f"Stored policy {record.id}, set by {record.set_by}: "
            f"{_changes(before.policy, record.policy)}."
        )
    written = app.finish_recompute()
    if record is not None or written:
        click.echo(f"Recomputed the plans of {written} patients.")


@policy.command("history")
@format_option("table", "json", "csv")
@output_options("the history")
@pass_app
def history(app: AppContext, fmt: str, output: str | None, force: bool) -> None:
    """List every policy set in this database, oldest first, with what each one changed.

    \b
    Examples:
      followup policy history
      followup policy history --format json
    """
    from followup.cli.output import output_stream, write_rows
    from followup.store.policies import policy_history, read_state

    with app.transaction(write=False) as session:
        in_force = read_state(session).policy_id
        records = policy_history(session)
    with output_stream(output, force=force) as out:
        if not records and fmt == "table":
            out.write("No policy has been set: the defaults of clinical-rules.md are in force.\n")
            return
        write_rows(_history_rows(records, in_force, fmt), HISTORY_COLUMNS, fmt, out)


def _history_rows(
    records: list[PolicyRecord], in_force: int | None, fmt: str
) -> list[dict[str, Any]]:
    from followup.rules import DEFAULT_POLICY, policy_changes
    from followup.rules.policy import policy_values

    rows, before = [], DEFAULT_POLICY
    for record in records:
        row: dict[str, Any] = {
            "policy": record.id,
            "set_at": record.set_at.isoformat(timespec="seconds"),
            "set_by": record.set_by,
            "in_force": record.id == in_force,
        }
        if fmt == "json":
            row["changes"] = [
                {"key": key, "before": _plain(old), "after": _plain(new)}
                for key, old, new in policy_changes(before, record.policy)
            ]
            row["values"] = policy_values(record.policy)
        else:
            row["in_force"] = "yes" if row["in_force"] else ""
            row["changes"] = _changes(before, record.policy)
        rows.append(row)
        before = record.policy
    return rows


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _changes(before: Policy, after: Policy) -> str:
    """``key old -> new, ...`` (TOML spelling), or that nothing differs."""
    from followup.rules import policy_changes
    from followup.rules.policy import describe_value

    changes = policy_changes(before, after)
    if not changes:
        return "the same values as before"
    return ", ".join(
        f"{key} {describe_value(old)} -> {describe_value(new)}" for key, old, new in changes
    )


def _when(record: PolicyRecord) -> str:
    return record.set_at.isoformat(sep=" ", timespec="minutes") + " UTC"
