"""The pathway of clinical-rules.md §7 (followup.rules.tracking): tables of logs and what
they mean on a day, boundaries of the grace and recontact windows, and properties over
random logs checked against an independent reading of the spec."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followup import rules
from followup.rules import tracking as t
from followup.rules.tracking import Contact, Outcome, TrackingState

OC = Outcome
POLICY = rules.Policy()  # recontact 14 days, grace 7 days
D = date.fromisoformat
PROPERTY = settings(max_examples=300, deadline=None)


def c(day: str, outcome: Outcome, appointment: str | None = None, *, id: int = 0) -> Contact:
    return Contact(D(day), outcome, D(appointment) if appointment else None, id=id or None)


# Called on 2025-05-01: an appointment on 2025-06-10.
SCH = c("2025-05-01", OC.SCHEDULED, "2025-06-10")


def on(contacts: list[Contact], as_of: str, last_record: str | None = None) -> t.Tracking:
    summary = t.summarize(contacts, D(last_record) if last_record else None)
    return t.tracking_on(summary, D(as_of), POLICY)


# (log, latest exam or biopsy, as of) -> (state, reason, appointment, missed)
CASES = [
    ([], None, "2025-06-01", ("open", None, None, False)),
    ([c("2025-05-01", OC.NO_ANSWER)], None, "2025-06-01", ("open", None, None, False)),
    # scheduled until the appointment + 7 grace days; then missed and open again
    ([SCH], None, "2025-06-01", ("scheduled", None, "2025-06-10", False)),
    ([SCH], None, "2025-06-17", ("scheduled", None, "2025-06-10", False)),
    ([SCH], None, "2025-06-18", ("open", None, "2025-06-10", True)),
    # an exam after the call that scheduled it answers the appointment (she came early, too)
    ([SCH], "2025-06-08", "2025-07-01", ("open", None, None, False)),
    # ... one dated on the call's day is what prompted the call: the appointment stands
    ([SCH], "2025-05-01", "2025-07-01", ("open", None, "2025-06-10", True)),
    # a later appointment replaces the first; other contacts leave it
    (
        [SCH, c("2025-06-20", OC.SCHEDULED, "2025-07-15")],
        None,
        "2025-07-01",
        ("scheduled", None, "2025-07-15", False),
    ),
    (
        [SCH, c("2025-05-03", OC.REACHED)],
        None,
        "2025-06-01",
        ("scheduled", None, "2025-06-10", False),
    ),
    # each closing outcome closes; a reopen, or an exam dated after it, reopens
    ([c("2025-05-01", OC.DECLINED)], None, "2025-06-01", ("closed", "declined", None, False)),
    ([c("2025-05-01", OC.MOVED_AWAY)], None, "2025-06-01", ("closed", "moved-away", None, False)),
    ([c("2025-05-01", OC.DECEASED)], None, "2025-06-01", ("closed", "deceased", None, False)),
    (
        [c("2025-05-01", OC.CARE_ELSEWHERE)],
        None,
        "2025-06-01",
        ("closed", "care-elsewhere", None, False),
    ),
    (
        [c("2025-05-01", OC.DECLINED), c("2025-05-09", OC.REOPENED)],
        None,
        "2025-06-01",
        ("open", None, None, False),
    ),
    ([c("2025-05-01", OC.DECLINED)], "2025-05-02", "2025-06-01", ("open", None, None, False)),
    (
        [c("2025-05-01", OC.DECLINED)],
        "2025-05-01",
        "2025-06-01",
        ("closed", "declined", None, False),
    ),
    # a closing ends the appointment; a reopen does not bring it back
    (
        [SCH, c("2025-05-02", OC.DECLINED), c("2025-05-03", OC.REOPENED)],
        None,
        "2025-06-01",
        ("open", None, None, False),
    ),
    # the same day: the order recorded (id) decides
    (
        [c("2025-05-01", OC.DECLINED, id=2), c("2025-05-01", OC.REOPENED, id=1)],
        None,
        "2025-06-01",
        ("closed", "declined", None, False),
    ),
    (
        [c("2025-05-01", OC.DECLINED, id=1), c("2025-05-01", OC.REOPENED, id=2)],
        None,
        "2025-06-01",
        ("open", None, None, False),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("log", "record", "as_of", "expected"), CASES)
def test_state_of_a_log(log, record, as_of, expected):
    found = on(log, as_of, record)
    appointment = found.appointment.isoformat() if found.appointment else None
    reason = found.reason.value if found.reason else None
    assert (found.state.value, reason, appointment, found.missed) == expected


@pytest.mark.parametrize(
    ("outcome", "days_ago", "recent"),
    [
        (OC.NO_ANSWER, 13, True),
        (OC.NO_ANSWER, 14, False),  # 14 days ago: not "in the last 14 days"
        (OC.REACHED, 0, True),
        (OC.WRONG_NUMBER, 3, True),
        (OC.LEFT_MESSAGE, 3, True),
        (OC.LETTER_SENT, 3, False),  # a letter is not a call: she stays on the list
        (OC.EMAIL_SENT, 3, False),
    ],
)
def test_recently_called(outcome, days_ago, recent):
    as_of = D("2025-06-15")
    log = [Contact(as_of - timedelta(days=days_ago), outcome)]
    found = t.tracking_on(t.summarize(log), as_of, POLICY)
    assert found.recently_called is recent
    assert found.to_call(overdue=True) is not recent
    assert found.last_contact == as_of - timedelta(days=days_ago)  # every kind is a contact


def test_to_call_needs_overdue_open_unscheduled():
    assert on([], "2025-06-01").to_call(True)
    assert not on([], "2025-06-01").to_call(False)
    assert not on([SCH], "2025-06-01").to_call(True)
    assert on([SCH], "2025-06-20").to_call(True)  # missed
    assert not on([c("2025-05-01", OC.MOVED_AWAY)], "2025-06-01").to_call(True)


def test_policy_windows_move_the_boundaries():
    policy = rules.Policy(recontact_days=3, appointment_grace_days=1)
    log = [c("2025-06-01", OC.SCHEDULED, "2025-06-05")]
    assert t.tracking_on(t.summarize(log), D("2025-06-06"), policy).state is TrackingState.SCHEDULED
    assert t.tracking_on(t.summarize(log), D("2025-06-07"), policy).missed
    assert not t.tracking_on(t.summarize(log), D("2025-06-07"), policy).recently_called
    assert t.tracking_on(t.summarize(log), D("2025-06-03"), policy).recently_called


def test_missed_appointment_flag_in_both_voices():
    flag = t.missed_appointment_flag(on([SCH], "2025-06-20"))
    assert flag is not None and flag.code == "missed-appointment" == rules.FLAG_CODES[-1]
    assert "2025-06-10" in flag.message and "call her" in flag.message
    assert flag.patient_message and flag.patient_message.startswith("your appointment")
    assert t.missed_appointment_flag(on([], "2025-06-20")) is None


def test_deceased_ends_reminders_whatever_follows():
    log = [c("2025-05-01", OC.DECEASED), c("2025-05-09", OC.REOPENED)]
    assert t.reminders_ended(log) == log[0]
    assert t.reminders_ended([c("2025-05-01", OC.DECLINED)]) is None


@pytest.mark.parametrize(
    ("typed", "outcome"),
    [("No answer", OC.NO_ANSWER), ("left_message", OC.LEFT_MESSAGE), ("SCHEDULED", OC.SCHEDULED)],
)
def test_outcomes_read_as_typed(typed, outcome):
    assert t.parse_outcome(typed) is outcome


@pytest.mark.parametrize("typed", ["maybe", "reopened", "email-sent", ""])
def test_an_unknown_outcome_lists_the_valid_ones(typed):
    with pytest.raises(ValueError, match="use one of reached, no-answer, left-message") as err:
        t.parse_outcome(typed)
    assert "care-elsewhere" in str(err.value) and "reopened" not in str(err.value).split(";")[1]


def test_close_reasons():
    assert t.CLOSE_REASONS == ("declined", "moved-away", "deceased", "care-elsewhere")
    assert t.parse_close_reason("moved away") is OC.MOVED_AWAY
    with pytest.raises(ValueError, match="use one of declined, moved-away"):
        t.parse_close_reason("reached")


TODAY = D("2025-06-01")


@pytest.mark.parametrize(
    ("contact", "message"),
    [
        (Contact(D("2025-06-02"), OC.REACHED), "in the future"),
        (Contact(D("1899-12-31"), OC.REACHED), "before 1900"),
        (Contact(TODAY, OC.SCHEDULED), "needs the appointment's date"),
        (Contact(TODAY, OC.REACHED, D("2025-06-10")), "goes with the outcome scheduled"),
        (Contact(TODAY, OC.SCHEDULED, D("2025-05-31")), "before the contact that made it"),
        (Contact(TODAY, OC.REACHED, facility="Northside"), "goes with an appointment"),
    ],
)
def test_invalid_contacts(contact, message):
    with pytest.raises(ValueError, match=message):
        t.validate_contact(contact, TODAY)


def test_valid_contact_passes():
    contact = Contact(TODAY, OC.SCHEDULED, D("2027-01-01"), "Northside")
    assert t.validate_contact(contact, TODAY) is contact


def test_latest_record_counts_exams_and_biopsies():
    exam = rules.Exam(D("2025-01-10"), "N", (rules.Finding(rules.Category.BENIGN),))
    biopsy = rules.Biopsy(D("2025-02-01"), rules.Laterality.LEFT, rules.BiopsyResult.PENDING)
    assert t.latest_record([exam]) == D("2025-01-10")
    assert t.latest_record([exam], [biopsy]) == D("2025-02-01")
    assert t.latest_record([]) is None


def test_to_call_order_biopsy_type_first_then_most_recently_overdue():
    rows = [
        ("routine-screening", D("2025-05-30"), "P1"),
        ("biopsy", D("2024-01-01"), "P2"),
        ("routine-screening", D("2025-05-01"), "P3"),
        ("surgical-consultation", D("2025-01-01"), "P4"),
        ("biopsy", D("2025-05-01"), "P6"),
        ("biopsy", D("2025-05-01"), "P5"),
    ]
    ordered = [p for *_, p in sorted(rows, key=lambda r: t.to_call_key(*r))]
    assert ordered == ["P4", "P5", "P6", "P2", "P1", "P3"]


# -- properties --------------------------------------------------------------------------

START = D("2024-01-01")
DAYS = st.integers(min_value=0, max_value=400)


@st.composite
def logs(draw: st.DrawFn) -> list[Contact]:
    entries = []
    for index in range(draw(st.integers(0, 8))):
        day = START + timedelta(days=draw(DAYS))
        outcome = draw(st.sampled_from(list(Outcome)))
        appointment = None
        if outcome is OC.SCHEDULED:
            appointment = day + timedelta(days=draw(st.integers(0, 90)))
        entries.append(Contact(day, outcome, appointment, id=index + 1))
    return entries


def spec_summary(log: list[Contact], last_record: date | None) -> tuple:
    """§7 read directly: closed by the latest closing unless a reopen, or an exam or biopsy,
    came after it; the appointment of the latest ``scheduled`` unless a closing, or an exam
    or biopsy, came after that call."""
    order = sorted(log, key=lambda e: (e.date, e.id))
    closings = [i for i, e in enumerate(order) if e.outcome in t.CLOSING]
    reopens = [i for i, e in enumerate(order) if e.outcome is OC.REOPENED]
    closed = None
    if closings and not (reopens and reopens[-1] > closings[-1]):
        closing = order[closings[-1]]
        if last_record is None or last_record <= closing.date:
            closed = closing.outcome
    scheduled = [i for i, e in enumerate(order) if e.outcome is OC.SCHEDULED]
    appointment = None
    if scheduled and not (closings and closings[-1] > scheduled[-1]):
        call = order[scheduled[-1]]
        if last_record is None or last_record <= call.date:
            appointment = call.appointment
    contacts = [e for e in order if e.outcome is not OC.REOPENED]
    calls = [e for e in contacts if e.outcome not in (OC.LETTER_SENT, OC.EMAIL_SENT)]
    return (
        closed,
        appointment,
        contacts[-1].date if contacts else None,
        calls[-1].date if calls else None,
    )


@PROPERTY
@given(logs(), st.one_of(st.none(), DAYS.map(lambda d: START + timedelta(days=d))))
def test_summary_agrees_with_the_spec(log, last_record):
    summary = t.summarize(log, last_record)
    assert (
        summary.closed,
        summary.appointment,
        summary.last_contact,
        summary.last_call,
    ) == spec_summary(log, last_record)


@PROPERTY
@given(logs(), st.randoms(use_true_random=False))
def test_summary_depends_on_the_records_not_their_order(log, rng: random.Random):
    shuffled = list(log)
    rng.shuffle(shuffled)
    assert t.summarize(shuffled) == t.summarize(log)


@PROPERTY
@given(logs(), DAYS.map(lambda d: START + timedelta(days=d)))
def test_state_on_a_day(log, as_of):
    summary = t.summarize(log)
    found = t.tracking_on(summary, as_of, POLICY)
    if summary.closed is not None:
        assert found.state is TrackingState.CLOSED and not found.missed
    elif summary.appointment is not None:
        grace_ends = summary.appointment + timedelta(days=POLICY.appointment_grace_days)
        assert (found.state is TrackingState.SCHEDULED) == (as_of <= grace_ends)
        assert found.missed == (as_of > grace_ends)
    else:
        assert found.state is TrackingState.OPEN and not found.missed
    if found.to_call(True):
        assert found.state is TrackingState.OPEN
        assert summary.last_call is None or (as_of - summary.last_call).days >= 14


@PROPERTY
@given(
    logs(),
    st.one_of(st.none(), DAYS.map(lambda d: START + timedelta(days=d))),
    DAYS,
    st.sampled_from([OC.EMAIL_SENT, OC.LETTER_SENT]),
)
def test_a_notice_updates_the_summary_as_the_whole_log_would(log, last_record, day, outcome):
    """What the reminder job stores after an e-mail (without reading her log) is what
    summarize() of the log with it says; and an e-mail is no call (the to-call list)."""
    notice = Contact(START + timedelta(days=day), outcome, id=len(log) + 1)
    expected = t.summarize([*log, notice], last_record)
    assert t.with_notice(t.summarize(log, last_record), notice) == expected
    assert expected.last_call == t.summarize(log, last_record).last_call


def test_only_a_letter_or_an_email_is_a_notice():
    with pytest.raises(ValueError, match="reached is not a letter or an e-mail"):
        t.with_notice(t.NOTHING, Contact(D("2025-01-01"), OC.REACHED))
