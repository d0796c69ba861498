"""The reminder e-mail as the patient reads it: subject, plain-text body, the .ics attachment.

Plain values in (:class:`ReminderEmail`), a MIME message out; the transports that deliver it
are in :mod:`followup.mail`. The wording is the letters' (:mod:`followup.present.letter_text`):
the same neutral words for what is due (:func:`~followup.present.letter_text.due_phrase`), the
same sentences for "it is due by" and "our records show ... was due by", the same dates, so
the patient reads one wording in her letters and her e-mail.

What the e-mail may say, and why (cli.md Reminders, clinical-rules.md §7):

- The subject and the opening lines (what mail clients show as a preview, also on lock
  screens, to whoever glances at the screen) are the same for every patient, every action
  and every date: they say only that this is a reminder about a breast imaging appointment.
  Never a name, a patient id, a category, a diagnosis, or a date that would tell a short
  interval from a routine one. The body has no name either, so a mistyped address leaks as
  little as possible.
- Below the opening, the body says what is due in the letters' neutral words: for a biopsy
  "the appointment your care team recommended", since a suspicious result is told to a
  patient by her care team, not by an e-mail that a partner or an employer's mail system may
  read; the wording still makes her act (contact the care team, book it).
- When the radiologist lacks earlier films (a comparison flag), it asks her to bring them or
  to have them sent, since comparison with earlier films is what the follow-up relies on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from email.charset import QP, Charset
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr

from followup.ics import Revision, calendar_uid, event_calendar, method
from followup.present.letter_blocks import NBSP, date_text
from followup.present.letter_text import due_phrase

# Quoted-printable keeps the plain-text body readable as it travels (base64 is the default).
_QUOTED_PRINTABLE = Charset("utf-8")
_QUOTED_PRINTABLE.body_encoding = QP
SUBJECT = "Your mammogram follow-up reminder"
ATTACHMENT = "mammogram-follow-up.ics"
# The opening: the same words for everyone, whatever is due and when (what a preview shows).
OPENING = (
    "Hello,",
    "",
    "This is a reminder about your next breast imaging appointment.",
    "Please read on for the date, and for what to do if it is not booked yet.",
)
FILMS_NOTE = (
    "Please bring your earlier mammograms to the appointment, or ask the places where they "
    "were taken to send them ahead. The radiologist compares the new images with earlier "
    "ones, and that comparison matters."
)


@dataclass(frozen=True)
class ReminderEmail:
    """One reminder as the patient will read it."""

    message_id: str
    recipient: str
    patient_pk: int  # only hashed into the calendar UID, never shown
    calendar: Revision  # her calendar event as this e-mail updates it (followup.ics)
    due: date
    overdue: bool
    action: str | None
    last_exam: date | None
    facility: str | None
    bring_films: bool


def long_date(day: date) -> str:
    """``Thursday, June 19, 2025``: the letters' date, with the day of the week."""
    return f"{day:%A}, {date_text(day).replace(NBSP, ' ')}"


def _when(due: date, as_of: date) -> str:
    days = (due - as_of).days
    return "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"


def body_text(email: ReminderEmail, as_of: date) -> str:
    """The plain-text body: the opening, what is due and when, where she was last seen, the
    films note."""
    what, due = due_phrase(email.action), long_date(email.due)
    lines = [*OPENING, ""]
    if email.overdue:  # the overdue letter's sentences
        lines += [
            f"Our records show that {what} was due by {due}. We have no record that it was done.",
            "If it is not booked yet, please book it as soon as you can.",
        ]
    else:  # the reminder letter's
        lines += [
            f"It is time for {what}. It is due by {due} ({_when(email.due, as_of)}).",
            "If it is not booked yet, please book it now.",
        ]
    if email.last_exam and email.facility:
        lines += [
            "",
            f"Your last mammogram was at {email.facility} on {long_date(email.last_exam)}.",
        ]
    if email.bring_films:
        lines += ["", FILMS_NOTE]
    lines += [
        "",
        "If you have already had this appointment, thank you, and please ignore this message.",
        "For any question, please contact your care team or the imaging facility.",
        "",
        _calendar_line(email.overdue),
    ]
    return "\n".join(lines) + "\n"


def _calendar_line(overdue: bool) -> str:
    """What the attachment does: an overdue e-mail's event is the due date that passed (kept
    so her calendar shows what is outstanding, and moved if the plan moved), not a new date."""
    if overdue:
        return f"The attached calendar file ({ATTACHMENT}) keeps this follow-up in your calendar."
    return f"The attached calendar file ({ATTACHMENT}) puts the date in your calendar."


def build_message(email: ReminderEmail, sender: str, as_of: date) -> Message:
    """The e-mail: neutral subject, plain-text body, the follow-up as an .ics attachment.

    Built with the classic MIME classes: several times faster than ``EmailMessage``'s header
    registry, which matters when a run sends thousands.
    """
    message = MIMEMultipart("mixed")
    message["Subject"] = SUBJECT
    message["From"] = _encoded_address(sender)
    message["To"] = email.recipient
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = email.message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
    # typeshed says a charset name; the stdlib takes a Charset too (how QP is chosen)
    body = MIMEText(body_text(email, as_of), "plain", _QUOTED_PRINTABLE)  # type: ignore[arg-type]
    message.attach(body)
    calendar = MIMEApplication(
        event_calendar(calendar_uid(email.patient_pk), email.calendar), "calendar"
    )
    content_type = f'text/calendar; charset="utf-8"; method="{method(email.calendar)}"'
    calendar.replace_header("Content-Type", content_type)
    calendar.add_header("Content-Disposition", "attachment", filename=ATTACHMENT)
    message.attach(calendar)
    return message


def _encoded_address(address: str) -> str:
    """``Name <addr>`` with a non-ASCII name encoded (RFC 2047), as headers must be."""
    return formataddr(parseaddr(address), charset="utf-8")
