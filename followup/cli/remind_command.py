"""``followup remind``: the daily reminder job (cron or a systemd timer), unattended.

Order of work, each step its own short transaction so an overlapping run or a crash loses
nothing and sends nothing twice (see followup.store.reminders):

1. check the transport (settings, connection, login) before anything is recorded;
2. queue: one pending row per due reminder, duplicates ignored by the unique constraint;
3. release rows whose claim's lease expired (the run that claimed them crashed);
4. claim a few rows under a lease renewed while this run lives (followup.store.
   reminder_claims), send each, mark each sent (or back to pending with the reason).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import click

from followup.cli.context import AppContext, pass_app, today
from followup.cli.params import as_of_option, format_option

if TYPE_CHECKING:
    from followup.config import MailSettings
    from followup.ics import Revision
    from followup.mail import Transport
    from followup.present.reminder_email import ReminderEmail
    from followup.rules import Policy
    from followup.store.reminder_claims import Claimed, LeaseKeeper

EXIT_SEND_FAILED = 3
LIST_COLUMNS = ("patient_id", "due", "step", "kind", "email", "state")
SUMMARY_COLUMNS = (
    "due",
    "new",
    "sent",
    "failed",
    "pending",
    "skipped",
    "skipped_no_address",
    "skipped_reminders_off",
    "already_sent",
    "withdrawn",
)


@dataclass
class Tally:
    """What this run did with the reminders it claimed."""

    sent: int = 0
    failed: int = 0
    withdrawn: int = 0
    stopped: str | None = None  # why the run stopped early (the transport broke)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Run:
    """What every send of this run shares: its day, its policy (``--days-ahead`` applied),
    the day the ladder started."""

    as_of: date
    policy: Policy
    started: date | None


@click.command()
@as_of_option
@click.option(
    "--days-ahead",
    type=click.IntRange(0, 366),
    default=None,
    metavar="DAYS",
    help="Send the upcoming reminder DAYS before the due date, for this run. Default: the "
    "policy's reminder_days_before (30 unless `policy set` changed it). The overdue steps "
    "follow overdue_steps_days whatever it is.",
)
@click.option(
    "--transport",
    metavar="URL",
    help="smtp://HOST:PORT, smtps://HOST:PORT or maildir:PATH. Default: $FOLLOWUP_SMTP_URL, "
    "else url in the config file. Never put credentials here: use FOLLOWUP_SMTP_USER and "
    "FOLLOWUP_SMTP_PASSWORD or the config file.",
)
@click.option("--dry-run", is_flag=True, help="List what would be sent; send and record nothing.")
@format_option("table", "json", "csv")
@pass_app
def remind(
    app: AppContext,
    as_of: date | None,
    days_ahead: int | None,
    transport: str | None,
    dry_run: bool,
    fmt: str,
) -> None:
    """Send today's reminder e-mails: each step of the ladder once per patient and due date.

    The ladder (clinical-rules.md §7, policy keys in brackets): the upcoming reminder 30 days
    before the due date [reminder_days_before], then overdue reminders 1, 30 and 60 days
    after it [overdue_steps_days], then nothing more for that due date (she stays on `due
    --to-call`). A run that was missed sends the latest step that fell, not every one.

    First run: the ladder starts on the day of the first real run that has anything to
    send. An overdue step that fell before that day is never sent, so a programme that has
    never sent anything mails only the steps that fall that day (and the upcoming
    reminders), not women overdue for years: they are on `due --to-call`.

    Closed and scheduled patients get none; `deceased` never again, even after a reopen.
    Patients without an e-mail address or with reminders off are skipped and counted. Each
    e-mail sent is recorded as an `email-sent` contact (`contact list ID`), which is not a
    call: she stays on the to-call list. Its .ics attachment updates her one calendar event
    (see `followup calendar --help`). Subjects and previews name no diagnosis.

    Meant to run daily from cron or a systemd timer. Each reminder is recorded before it is
    sent, so a re-run or two overlapping runs never send it twice; a send that fails stays
    pending and is retried by the next run. A database that does not exist (a mistyped
    FOLLOWUP_DB) is an error, not a run that sends nothing.

    Prints a summary (sent, failed, pending, skipped). Exit status: 0 all sent; 1 nothing
    was done (bad setting, transport or database unreachable); 2 usage error; 3 some sends
    failed or the transport broke mid-run (those stay pending).

    Settings: FOLLOWUP_SMTP_URL, FOLLOWUP_SMTP_FROM, FOLLOWUP_SMTP_USER, FOLLOWUP_SMTP_PASSWORD,
    FOLLOWUP_SMTP_STARTTLS, or the [smtp] table of $FOLLOWUP_CONFIG (default
    ~/.config/followup/config.toml, mode 0600 when it holds a password).

    \b
    Examples:
      followup remind --dry-run                       # what today's run would send
      followup remind --dry-run --as-of 2025-07-01 --format json
      followup remind --transport maildir:/var/spool/followup
      FOLLOWUP_SMTP_URL=smtp://mail.example.org:587 FOLLOWUP_SMTP_STARTTLS=1 followup remind
      followup remind --days-ahead 14 --format json   # upcoming reminders 14 days ahead
      followup contact list P7                        # her e-mails, as contacts
    """
    from followup.config import ConfigError, load_mail_settings

    day = as_of or today()
    if dry_run:
        _dry_run(app, day, days_ahead, fmt)
        return
    try:
        channel = _open_transport(transport, load_mail_settings())
    except ConfigError as exc:
        raise click.ClickException(f"{exc}; nothing was sent") from None
    try:
        app.open(create=False)  # a mistyped FOLLOWUP_DB must fail loudly, not send nothing
        summary, tally = _run(app, channel, day, days_ahead)
    finally:
        channel.close()
    for error in tally.errors:
        click.echo(f"Not sent, left pending: {error}", err=True)
    if tally.stopped:
        click.echo(f"Error: stopped early: {tally.stopped}; the rest stays pending", err=True)
    _print_summary(summary, fmt)
    if tally.failed or tally.stopped:
        click.get_current_context().exit(EXIT_SEND_FAILED)


def _open_transport(target: str | None, settings: MailSettings) -> Transport:
    from followup.mail import TransportError, make_transport

    channel = make_transport(target, settings)
    try:
        channel.open()
    except TransportError as exc:
        raise click.ClickException(f"{exc}; nothing was sent") from None
    return channel


def _run(
    app: AppContext, channel: Transport, as_of: date, days_ahead: int | None
) -> tuple[dict[str, int], Tally]:
    from followup import mail
    from followup.store import reminders
    from followup.store.reminder_claims import release_expired

    with app.transaction(plans=True) as session:
        queued = reminders.queue(
            session, as_of, days_ahead, app.policy, mail.sender_domain(channel.sender)
        )
        run = Run(as_of, reminders.run_policy(app.policy, days_ahead), queued.started)
    with app.transaction() as session:
        release_expired(session)
        waiting = reminders.status_counts(session)["pending"]
    tally = Tally()
    with _progress(waiting) as advance:
        _deliver_all(app, channel, run, tally, advance)
    with app.transaction(write=False) as session:
        pending = reminders.status_counts(session)["pending"]
    skipped = queued.skipped
    summary = {
        "due": queued.due,
        "new": queued.new,
        "sent": tally.sent,
        "failed": tally.failed,
        "pending": pending,
        "skipped": sum(skipped.values()),
        "skipped_no_address": skipped["no_address"],
        "skipped_reminders_off": skipped["reminders_off"],
        "already_sent": queued.already_sent,
        "withdrawn": tally.withdrawn,
    }
    return summary, tally


def _deliver_all(app: AppContext, channel: Transport, run: Run, tally: Tally, advance: Any) -> None:
    """Claim a batch, deliver it, repeat; unsent claimed rows go back to pending on a stop."""
    from followup.store.reminder_claims import LeaseKeeper, worker_id

    with LeaseKeeper(app.database, worker_id()) as keeper:
        while batch := keeper.claim():
            if not _deliver_batch(app, channel, keeper, batch, run, tally, advance):
                return


def _calendars(app: AppContext, batch: list[Claimed], run: Run) -> dict[int, Revision]:
    """Each sendable patient's calendar event for her attachment, issued in one transaction
    for the batch (followup.store.calendar_events): the plan's due date and facility (a
    scheduled or closed patient gets no reminder)."""
    from followup.ics import CalendarEvent, EventKind
    from followup.store.calendar_events import issue_many

    events: dict[int, CalendarEvent | None] = {
        item.patient_pk: CalendarEvent(EventKind.FOLLOW_UP, item.due, item.facility)
        for item in batch
        if item.withdrawal_reason(run.as_of, run.policy, run.started) is None
    }
    if not events:
        return {}
    with app.transaction() as session:
        return issue_many(session, events)


def _deliver_batch(
    app: AppContext,
    channel: Transport,
    keeper: LeaseKeeper,
    batch: list[Claimed],
    run: Run,
    tally: Tally,
    advance: Any,
) -> bool:
    """Deliver one claimed batch; False when the run must stop (the rest is released)."""
    from followup.mail import TransportError

    try:
        calendars = _calendars(app, batch, run)
    except BaseException:
        _release(app, keeper.worker, batch)
        raise
    for index, item in enumerate(batch):
        try:
            if not keeper.held():  # never send under a lease that may have run out
                raise TransportError(
                    "this run could not renew its claims in the database; another run will "
                    "send the rest"
                )
            _deliver(app, channel, item, run, calendars.get(item.patient_pk), tally)
        except TransportError as exc:
            tally.stopped = str(exc)
            _release(app, keeper.worker, batch[index:])
            return False
        except BaseException:
            _release(app, keeper.worker, batch[index:])
            raise
        advance(1)
    return True


def _deliver(
    app: AppContext,
    channel: Transport,
    item: Claimed,
    run: Run,
    calendar: Revision | None,
    tally: Tally,
) -> None:
    from followup.mail import SendError
    from followup.present.reminder_email import build_message
    from followup.store.patients import AddressError
    from followup.store.reminder_claims import mark_failed, mark_sent, withdraw

    reason = item.withdrawal_reason(run.as_of, run.policy, run.started)
    if reason is not None:
        with app.transaction() as session:
            withdraw(session, item.id, reason)
        tally.withdrawn += 1
        return
    assert item.email is not None and calendar is not None  # both follow from no reason
    try:
        recipient = item.recipient()
        email = _email(item, recipient, run.as_of, calendar)
        channel.send(build_message(email, channel.sender, run.as_of), recipient)
    except (SendError, AddressError) as exc:
        with app.transaction() as session:
            mark_failed(session, item.id, str(exc))
        tally.failed += 1
        tally.errors.append(f"reminder {item.id}: {exc}")
        return
    with app.transaction() as session:  # the sent mark and her contact: both or neither
        mark_sent(session, item, item.email, run.as_of)
    tally.sent += 1


def _email(item: Claimed, recipient: str, as_of: date, calendar: Revision) -> ReminderEmail:
    from followup.present.reminder_email import ReminderEmail
    from followup.store.reminders import UPCOMING

    return ReminderEmail(
        message_id=item.message_id,
        recipient=recipient,
        patient_pk=item.patient_pk,
        calendar=calendar,
        due=item.due,
        overdue=item.step != UPCOMING,
        action=item.action,
        last_exam=item.exam_date,
        facility=item.facility,
        bring_films=item.wants_films,
    )


def _release(app: AppContext, worker: str, items: list[Claimed]) -> None:
    """Best effort: if the database is gone too, the claims expire by themselves (their lease
    is no longer renewed) and a later run sends them."""
    from sqlalchemy.exc import SQLAlchemyError

    from followup.store.reminder_claims import release

    try:
        with app.transaction() as session:
            release(session, worker, [item.id for item in items])
    except SQLAlchemyError:
        click.echo("Warning: claimed reminders stay 'sending' until their lease expires", err=True)


@contextmanager
def _progress(length: int) -> Iterator[Any]:
    """A progress bar on stderr when it is a terminal; nothing under cron."""
    with click.progressbar(
        length=length, label="Sending reminders", file=sys.stderr, hidden=not sys.stderr.isatty()
    ) as bar:
        yield bar.update


def _print_summary(summary: dict[str, int], fmt: str) -> None:
    from followup.cli.output import dump_json, write_rows

    if fmt == "json":
        dump_json(summary, sys.stdout)
    elif fmt == "csv":
        write_rows([summary], SUMMARY_COLUMNS, "csv", sys.stdout)
    else:
        click.echo(
            f"due {summary['due']} (new reminders {summary['new']}): "
            f"sent {summary['sent']}, failed {summary['failed']}, pending {summary['pending']}, "
            f"skipped {summary['skipped']} (no e-mail address {summary['skipped_no_address']}, "
            f"reminders off {summary['skipped_reminders_off']}), already sent "
            f"{summary['already_sent']}, withdrawn {summary['withdrawn']}"
        )


def _dry_run(app: AppContext, as_of: date, days_ahead: int | None, fmt: str) -> None:
    """What a run would send today, from a read-only transaction: nothing is recorded, and
    the ladder does not start (a first dry run lists what a first real run would send)."""
    from followup.cli.output import write_rows
    from followup.store.ladder_start import ladder_started
    from followup.store.reminders import WITHDRAWN, candidates, run_policy

    skipped = {"no_address": 0, "reminders_off": 0}
    with app.transaction(write=False, plans=True) as session:
        rows = []
        policy = run_policy(app.policy, days_ahead)
        for candidate in candidates(session, as_of, policy, ladder_started(session)):
            reason = candidate.skip_reason
            if reason is not None:
                skipped[reason] += 1
            elif candidate.status in (None, "pending", WITHDRAWN):
                state = "new" if candidate.status is None else "retry"
                rows.append({**_listed(candidate), "state": state})
    write_rows(rows, LIST_COLUMNS, fmt, sys.stdout)
    click.echo(
        f"Dry run: would send {len(rows)}; skipped {sum(skipped.values())} (no e-mail address "
        f"{skipped['no_address']}, reminders off {skipped['reminders_off']}); nothing recorded",
        err=True,
    )


def _listed(candidate: Any) -> dict[str, Any]:
    return {
        "patient_id": candidate.patient_id,
        "due": candidate.due,
        "step": candidate.step,
        "kind": candidate.kind,
        "email": candidate.email,
    }
