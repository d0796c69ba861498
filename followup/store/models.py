"""The database schema as SQLAlchemy 2.0 typed models.

The schema changes only through Alembic revisions in migrations/; a test checks these models
and the migrations agree. Enumerated values are stored as their canonical text so that raw
SQL (reports, the benchmark's hand-written query) reads them without the ORM.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from followup import rules
from followup.rules.letters import LETTER_KINDS
from followup.rules.tracking import LOGGED

# Named constraints from the first revision, so later migrations can drop them by name on
# SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The canonical values come from the rules; the CHECK constraints hold these (revisions 0004,
# 0009), in the order the revisions wrote them: the categories of the revised
# clinical-rules.md §1 (revision 0009) last.
ADDED_IN_0009 = (rules.Category.INCOMPLETE_PRIORS.value, rules.Category.POST_PROCEDURE.value)
STORED_CATEGORIES = (
    *(c for c in rules.CATEGORIES if c not in ADDED_IN_0009),
    *ADDED_IN_0009,
)
SIDES = rules.SIDES
KINDS = rules.KINDS
SUBDIVISIONS = rules.SUBDIVISIONS
IMAGED = rules.IMAGED
DENSITIES = rules.DENSITIES
BIOPSY_SIDES = rules.BIOPSY_SIDES
BIOPSY_RESULTS = rules.BIOPSY_RESULTS
# Every entry a pathway log may hold (clinical-rules.md §7).
LOGGED_OUTCOMES = LOGGED


def _one_of(column: str, values: tuple[str, ...]) -> str:
    """``column`` is NULL or one of ``values``, compared one by one: SQLite fills an ephemeral
    table for every row it checks against an IN list of three values or more (revision 0004)."""
    return " OR ".join([f"{column} IS NULL", *(f"{column} = '{v}'" for v in values)])


Day = date  # the type, for classes whose column ``date`` hides it


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Records the audit log names get ids that are never reused (revision 0005): SQLite's
# AUTOINCREMENT, PostgreSQL's sequences. A new such record: ``NEVER_REUSED`` in __table_args__.
NEVER_REUSED = {"sqlite_autoincrement": True}


class Patient(Base):
    """A person under follow-up; ``external_id`` is the id people type (``P1``, a MRN)."""

    __tablename__ = "patients"
    __table_args__ = (
        # Few patients have an appointment: `flags --code missed-appointment` reads them alone.
        Index(
            "ix_patients_appointment",
            "appointment",
            sqlite_where=text("appointment IS NOT NULL"),
            postgresql_where=text("appointment IS NOT NULL"),
        ),
        NEVER_REUSED,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    birth_date: Mapped[date | None] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    reminders: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    address: Mapped[str | None] = mapped_column(Text)  # postal, one line a line (letters)
    # Her pathway summary (followup.rules.tracking.TrackingSummary, §7), kept in step with her
    # contacts, exams and biopsies by followup.store.contacts, so the due report reads it with
    # her row instead of her contacts. All None for a patient never contacted.
    closed_reason: Mapped[str | None] = mapped_column(String(16))
    closed_on: Mapped[date | None] = mapped_column(Date)
    appointment: Mapped[date | None] = mapped_column(Date)
    last_contact: Mapped[date | None] = mapped_column(Date)
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    last_call: Mapped[date | None] = mapped_column(Date)

    exams: Mapped[list[Exam]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", passive_deletes=True
    )


class Facility(Base):
    """A place where mammograms are done; ``key`` is the case/space-folded name."""

    __tablename__ = "facilities"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(Text)  # postal, for letters (§7)
    phone: Mapped[str | None] = mapped_column(String(64))


class Exam(Base):
    """One mammogram: when, where, why; its assessment lives in its findings."""

    __tablename__ = "exams"
    __table_args__ = (
        # One exam per patient, day, facility and kind (clinical-rules.md §5; revision 0007):
        # NULLs differ in a unique constraint, so an unknown kind has an index of its own.
        UniqueConstraint("patient_id", "date", "facility_id", "kind"),
        Index(
            "uq_exams_unknown_kind",
            "patient_id",
            "date",
            "facility_id",
            unique=True,
            sqlite_where=text("kind IS NULL"),
            postgresql_where=text("kind IS NULL"),
        ),
        CheckConstraint(_one_of("kind", KINDS), name="kind"),
        CheckConstraint(
            "follow_up_months IS NULL OR follow_up_months BETWEEN 1 AND 36",
            name="follow_up_months",
        ),
        CheckConstraint(_one_of("imaged", IMAGED), name="imaged"),
        CheckConstraint(_one_of("density", DENSITIES), name="density"),
        NEVER_REUSED,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    date: Mapped[date] = mapped_column(Date)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    kind: Mapped[str | None] = mapped_column(String(16))
    follow_up_months: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # clinical-rules.md §1, §2 (revision 0009): which breasts it imaged, the breast density
    # and who read it; exams recorded before take "both".
    imaged: Mapped[str] = mapped_column(String(8), default="both", server_default="both")
    density: Mapped[str | None] = mapped_column(String(1))
    radiologist: Mapped[str | None] = mapped_column(String(200))

    patient: Mapped[Patient] = relationship(back_populates="exams")
    facility: Mapped[Facility] = relationship(lazy="joined")
    findings: Mapped[list[Finding]] = relationship(
        back_populates="exam",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
        order_by="Finding.id",
    )


class Finding(Base):
    """One assessed finding of an exam (clinical-rules.md §1: an exam may carry several)."""

    __tablename__ = "findings"
    __table_args__ = (
        CheckConstraint(_one_of("category", STORED_CATEGORIES), name="category"),
        CheckConstraint(_one_of("laterality", SIDES), name="laterality"),
        CheckConstraint(_one_of("subdivision", SUBDIVISIONS), name="subdivision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(24))
    laterality: Mapped[str | None] = mapped_column(String(16))
    morphology: Mapped[str | None] = mapped_column(String(64))
    distribution: Mapped[str | None] = mapped_column(String(64))
    size_class: Mapped[str | None] = mapped_column(String(16))
    # The BI-RADS 4 subdivision (4A/4B/4C) of a suspicious finding, kept as given (§1).
    subdivision: Mapped[str | None] = mapped_column(String(2))

    exam: Mapped[Exam] = relationship(back_populates="findings")


class FilmTransfer(Base):
    """The films taken at ``from_facility`` up to ``date`` (and what it had on hand by then)
    are on hand at ``to_facility`` (clinical-rules.md §6). One row per patient and pair: a
    later transfer of the same pair moves its date on (it sends everything the earlier did).
    Rows recorded before transfers were dated took the day they were recorded (0009)."""

    __tablename__ = "film_transfers"
    __table_args__ = (
        UniqueConstraint("patient_id", "from_facility_id", "to_facility_id"),
        NEVER_REUSED,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    from_facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    to_facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    date: Mapped[date] = mapped_column(Date)

    from_facility: Mapped[Facility] = relationship(foreign_keys=[from_facility_id], lazy="joined")
    to_facility: Mapped[Facility] = relationship(foreign_keys=[to_facility_id], lazy="joined")


class Biopsy(Base):
    """A biopsy of one breast and its pathology result (clinical-rules.md §4); one record per
    patient, day and breast. ``concordant`` is the radiology-pathology correlation: required
    for a benign result, absent while pending."""

    __tablename__ = "biopsies"
    __table_args__ = (
        UniqueConstraint("patient_id", "date", "side"),
        CheckConstraint("side = 'left' OR side = 'right'", name="side"),
        CheckConstraint(
            " OR ".join(f"result = '{r}'" for r in BIOPSY_RESULTS),
            name="result",
        ),
        CheckConstraint(
            "(result = 'benign' AND concordant IS NOT NULL) OR (result = 'pending' AND "
            "concordant IS NULL) OR result = 'high-risk' OR result = 'malignant'",
            name="concordance",
        ),
        NEVER_REUSED,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    date: Mapped[date] = mapped_column(Date)
    side: Mapped[str] = mapped_column(String(8))
    result: Mapped[str] = mapped_column(String(16))
    concordant: Mapped[bool | None] = mapped_column(Boolean)
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    pathology: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    patient: Mapped[Patient] = relationship()
    facility: Mapped[Facility | None] = relationship(lazy="joined")


class Contact(Base):
    """One entry of a patient's pathway log (clinical-rules.md §7): an attempt to reach her
    and its outcome (``scheduled`` with the appointment), a closing, a reopen; who recorded
    it and when. Entries are never changed or deleted: they are the history."""

    __tablename__ = "contacts"
    __table_args__ = (
        CheckConstraint(_one_of("outcome", LOGGED_OUTCOMES), name="outcome"),
        NEVER_REUSED,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    date: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(16))
    appointment: Mapped[Day | None] = mapped_column(Date)
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_by: Mapped[str] = mapped_column(String(128))

    facility: Mapped[Facility | None] = relationship(lazy="joined")


# What identifies a letter of each kind of clinical-rules.md §7 (revision 0011).
LETTER_SHAPE = (
    "(kind = 'result' AND exam_id IS NOT NULL) OR "
    "((kind = 'reminder' OR kind = 'overdue') AND due IS NOT NULL AND step IS NOT NULL) OR "
    "(kind = 'films-request' AND facility_id IS NOT NULL)"
)


class Letter(Base):
    """One letter produced (clinical-rules.md §7): whose, which kind, about what, when and by
    whom. ``subject`` says what it is about in one text (``exam 12``, ``2025-07-10
    overdue-2``, ``facility 3``) so that the unique constraint on patient, kind, subject and
    ``reprint`` holds on both databases (NULLs differ in a unique key): a batch writes
    reprint 0 with ON CONFLICT DO NOTHING, so two overlapping ``letters`` runs produce each
    letter once; ``letter ID`` at the desk writes the next reprint number. The typed columns
    (exam, due date and step, the films' facility) say the same for queries. Rows are never
    changed."""

    __tablename__ = "letters"
    __table_args__ = (
        UniqueConstraint("patient_id", "kind", "subject", "reprint"),
        CheckConstraint(" OR ".join(f"kind = '{k}'" for k in LETTER_KINDS), name="kind"),
        CheckConstraint(LETTER_SHAPE, name="shape"),
        NEVER_REUSED,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(64))
    reprint: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    exam_id: Mapped[int | None] = mapped_column(Integer)  # no FK: the log outlives the exam
    due: Mapped[date | None] = mapped_column(Date)
    step: Mapped[str | None] = mapped_column(String(16))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    letter_date: Mapped[date] = mapped_column(Date)
    produced_at: Mapped[datetime] = mapped_column(DateTime)
    produced_by: Mapped[str] = mapped_column(String(128))


class Clinic(Base):
    """One row: the clinic that sends the letters (``clinic set``): its name, return address
    and telephone number, the same for every coordinator and cron job."""

    __tablename__ = "clinic"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(64))
    # The result letters' breast density statements (revision 0011): NULL is the federal
    # wording of 21 CFR 900.12(c)(2)(iii) and (iv); ``paper`` letter (NULL) or a4.
    density_not_dense: Mapped[str | None] = mapped_column(Text)
    density_dense: Mapped[str | None] = mapped_column(Text)
    paper: Mapped[str | None] = mapped_column(String(8))


class AuditEntry(Base):
    """Who changed or deleted an exam or a biopsy, when, and what it was: clinical records are
    never changed silently. No foreign key, so the entry outlives what it describes."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    patient_id: Mapped[int | None] = mapped_column(Integer, index=True)
    exam_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text)
    biopsy_id: Mapped[int | None] = mapped_column(Integer)


class PlanRecord(Base):
    """Each patient's current plan, kept in step with her exams in the same transaction,
    so reports are an index range scan instead of a recomputation."""

    __tablename__ = "plans"
    # Covering: the due report reads every other column it needs from the index (revisions
    # 0003, 0009).
    __table_args__ = (
        Index(
            "ix_plans_due",
            "due",
            "action",
            "laterality",
            "facility_id",
            "flag_codes",
            "also_side",
            "also_action",
            "also_due",
        ),
    )

    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    action: Mapped[str | None] = mapped_column(String(32))
    due: Mapped[date | None] = mapped_column(Date)
    laterality: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    exam_id: Mapped[int | None] = mapped_column(Integer)
    exam_date: Mapped[date | None] = mapped_column(Date)
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    category: Mapped[str | None] = mapped_column(String(24))
    episode_start: Mapped[date | None] = mapped_column(Date)
    episode_step: Mapped[int | None] = mapped_column(Integer)
    flag_codes: Mapped[str] = mapped_column(String(400), default="", server_default="")
    # The step's BI-RADS 4 subdivision and biopsy, and the other breast's plan when it differs
    # (``also``, clinical-rules.md §2), so that nothing hides behind the earlier date (0009).
    subdivision: Mapped[str | None] = mapped_column(String(2))
    biopsy_id: Mapped[int | None] = mapped_column(Integer)
    also_side: Mapped[str | None] = mapped_column(String(8))
    also_action: Mapped[str | None] = mapped_column(String(32))
    also_due: Mapped[date | None] = mapped_column(Date)
    also_laterality: Mapped[str | None] = mapped_column(String(16))
    also_reason: Mapped[str | None] = mapped_column(Text)

    flags: Mapped[list[PlanFlag]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
        order_by="PlanFlag.code",
    )


class PlanFlag(Base):
    """A flag of a stored plan that does not depend on the day it is read."""

    __tablename__ = "plan_flags"

    patient_id: Mapped[int] = mapped_column(
        ForeignKey("plans.patient_id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)
    message: Mapped[str] = mapped_column(Text)


# Compared value by value: SQLite fills an ephemeral table per row for an IN list of 3+ values.
REMINDER_STATUS_CHECK = (
    "status = 'pending' OR status = 'sending' OR status = 'sent' OR status = 'withdrawn'"
)
# A step of the ladder as followup.rules.ladder.Step.key writes it (revision 0011).
REMINDER_STEP_CHECK = "step = 'upcoming' OR step LIKE 'overdue-%'"


class Reminder(Base):
    """One reminder per patient, due date and step of the ladder (clinical-rules.md §7:
    ``upcoming``, ``overdue-1``, ...), claimed before it is sent.

    The unique constraint is what makes a re-run or an overlapping run unable to send twice.
    """

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("patient_id", "due", "step"),
        CheckConstraint(REMINDER_STEP_CHECK, name="step"),
        CheckConstraint(REMINDER_STATUS_CHECK, name="status"),
        Index("ix_reminders_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    due: Mapped[date] = mapped_column(Date)
    step: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    recipient: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    # The claim's lease: another run takes a 'sending' row over only once this has passed.
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)


class CalendarRevision(Base):
    """The calendar event a patient was last given (followup.store.calendar_events): what it
    said (kind, day, place), its revision (SEQUENCE) and when that revision was first issued
    (DTSTAMP). One row per patient ever given a calendar file (revision 0011)."""

    __tablename__ = "calendar_events"
    __table_args__ = (
        CheckConstraint(
            "kind = 'follow-up' OR kind = 'appointment' OR kind = 'cancelled'", name="kind"
        ),
    )

    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    sequence: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    day: Mapped[date] = mapped_column(Date)
    location: Mapped[str | None] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(DateTime)


class StoredPolicy(Base):
    """A policy set with ``policy set`` (clinical-rules.md §9): the file as given, every value
    it came to (defaults included), who set it and when. Rows are kept: they are the history;
    the one in force is named by :class:`PlansState`."""

    __tablename__ = "policies"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(primary_key=True)
    set_at: Mapped[datetime] = mapped_column(DateTime)
    set_by: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(Text)
    policy: Mapped[str] = mapped_column(Text)


class PlansState(Base):
    """One row: the policy in force (NULL: the defaults) and, while the stored plans are being
    recomputed under it, the next patient to recompute (NULL: every plan follows it).

    Commands that read plans lock it shared and finish a pending recompute first; a policy
    change and each batch of a recompute lock it exclusively (followup.store.policies)."""

    __tablename__ = "plans_state"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id"))
    recompute_next: Mapped[int | None] = mapped_column(Integer)


class Setting(Base):
    """Small key/value facts about the database (e.g. the demo mark)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
