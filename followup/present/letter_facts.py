"""What a letter is made from: the plain values the letters integration fills in.

This is the API between the pathway (which decides which letters are due, clinical-rules.md §7)
and the presentation (:mod:`followup.present.letter_text` words them,
:mod:`followup.present.letter_pdf` lays them out). Everything here is a frozen dataclass of
plain values: no database rows, no clock, no policy object. The integration fills them from
the store and the rules engine:

``Address(lines)``
    A postal address as it is printed, one line a string, without the recipient's name
    (``Address.from_text("12 Main St\\nSpringfield, IL 62701")``). At most
    :data:`MAX_ADDRESS_LINES` lines, so that name and address fit an envelope window.
``Sender(name, address, phone)``
    The clinic that sends the letters (``clinic set``): its return address heads every page.
``FacilityContact(name, address, phone)``
    An imaging facility (``facility edit``). The result letter must name the facility's
    name, address and telephone number (MQSA); a films request is posted to ``address``.
``Recipient(name, address, birth_date)``
    The patient: name and postal address (``patient add/edit --address``); her birth date,
    when known, is printed on the films request only, so the holder can find her records.
``ExamResult(category, birads, side, exam_date, exam_kind, density)``
    The result in facts: ``category`` is the canonical name of clinical-rules.md §1
    (``probably-benign``, ``suspicious``...); ``birads`` the BI-RADS text as recorded
    (``"3"``, ``"4B"``; ``None`` for post-procedure); ``side`` ``left``/``right``/
    ``bilateral`` or ``None`` (the finding's side; ``None`` when it has none);
    ``exam_kind`` ``screening``/``diagnostic`` or ``None`` (carried for other readers; the
    letter says "mammogram" for both, as "diagnostic" in its opening would hint at a
    problem); ``density`` ``a``-``d`` or ``None`` when not recorded.
``NextStep(action, due, side)``
    The patient's next step: an action code of clinical-rules.md §2 (``routine-screening``,
    ``short-interval-follow-up``, ``additional-imaging``, ``prior-films``, ``biopsy``,
    ``pathology-result``, ``surgical-consultation``, ``treatment``) or ``None`` when nothing
    is planned; its due date (``None`` for ``treatment``); its side as for ``ExamResult``.
``FilmsRequest(holder, exam_dates, current)``
    Earlier films to fetch: the facility that holds them (as the comparison flags name it),
    the dates of those exams, and her current facility, where they are to be sent.
``LetterFacts(kind, letter_date, patient, facility, ...)``
    One letter. ``kind`` is a :class:`LetterKind`; ``facility`` is the facility the patient
    deals with (the exam's for a result letter, where to book for the ladder's letters);
    ``result`` and ``next_step`` are needed by a result letter, ``next_step`` by reminder and
    overdue letters, ``films`` by a films request; ``step`` and ``steps`` number an overdue
    letter on the ladder ("2 of 3"); ``also`` is a result letter's second next step, the
    other breast's own (clinical-rules.md §2 "also": nothing hidden behind the earlier
    date); ``wrote_before`` says an earlier letter of the ladder about the same due date
    went out (the letter says so only then: a first run, a late address or a missed run may
    make step 2 the first she gets); ``certified`` marks the
    letter for certified or registered mail (the ladder's last step), a flag the integration
    can sort the printed batch by; ``reference`` is an opaque letter reference printed under
    the date (e.g. the letter log's id), never a patient id in the envelope window.

:func:`problems` lists, in words a coordinator can act on, why some facts cannot make a
letter (no address, a name the bundled font cannot print, ...): the integration lists those
letters with the reason instead of producing them. Rendering facts that have problems raises
:class:`LetterError` with the same words.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

MAX_ADDRESS_LINES = 5
"""Name plus five lines (plus the certified-mail line) fill a window envelope's window."""

CATEGORIES = (
    "negative",
    "benign",
    "probably-benign",
    "incomplete",
    "incomplete-priors",
    "suspicious",
    "highly-suspicious",
    "known-malignancy",
    "post-procedure",
)
ACTIONS = (
    "routine-screening",
    "short-interval-follow-up",
    "additional-imaging",
    "prior-films",
    "biopsy",
    "pathology-result",
    "surgical-consultation",
    "treatment",
)
SIDES = ("left", "right", "bilateral")
EXAM_KINDS = ("screening", "diagnostic")
DENSITIES = ("a", "b", "c", "d")


class LetterError(ValueError):
    """Facts that cannot make a letter; the message says what is missing and how to fix it."""


class LetterKind(StrEnum):
    """The letters of clinical-rules.md §7."""

    RESULT = "result"
    REMINDER = "reminder"
    OVERDUE = "overdue"
    FILMS_REQUEST = "films-request"


def clean(text: str) -> str:
    """One line of printable text: NFC (so é is one glyph, not e and a combining accent),
    runs of white space folded to one space, ends stripped."""
    return " ".join(unicodedata.normalize("NFC", text).split())


@dataclass(frozen=True)
class Address:
    """A postal address, one printed line a string, without the recipient's name."""

    lines: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(c for c in map(clean, self.lines) if c))

    @classmethod
    def from_text(cls, text: str) -> Address:
        """An address as typed: one line a line (``--address "12 Main St\\nSpringfield"``)."""
        return cls(tuple(text.splitlines()))


@dataclass(frozen=True)
class Sender:
    """The clinic sending the letters: its return address heads every letter."""

    name: str
    address: Address
    phone: str | None = None


@dataclass(frozen=True)
class FacilityContact:
    """An imaging facility: where she was seen, where she books, where films are."""

    name: str
    address: Address | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Recipient:
    """The patient the letter is about (and, but for the films form, addressed to)."""

    name: str
    address: Address | None
    birth_date: date | None = None


@dataclass(frozen=True)
class ExamResult:
    """The exam a result letter reports, in facts (see the module docstring)."""

    category: str
    exam_date: date
    birads: str | None = None
    side: str | None = None
    exam_kind: str | None = None
    density: str | None = None


@dataclass(frozen=True)
class NextStep:
    """What happens next and when: an action code of clinical-rules.md §2."""

    action: str | None
    due: date | None = None
    side: str | None = None


@dataclass(frozen=True)
class FilmsRequest:
    """Earlier films at ``holder``, of ``exam_dates``, to be sent to ``current``."""

    holder: FacilityContact
    exam_dates: tuple[date, ...]
    current: FacilityContact


@dataclass(frozen=True)
class LetterFacts:
    """One letter, in plain values (see the module docstring for each field)."""

    kind: LetterKind
    letter_date: date
    patient: Recipient
    facility: FacilityContact
    result: ExamResult | None = None
    next_step: NextStep | None = None
    films: FilmsRequest | None = None
    step: int | None = None
    steps: int | None = None
    certified: bool = False
    reference: str | None = None
    wrote_before: bool = False
    also: NextStep | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", LetterKind(self.kind))


def problems(facts: LetterFacts, sender: Sender) -> tuple[str, ...]:
    """Why these facts cannot make a letter, in words a coordinator can act on; () if none.

    Checks what each kind needs (clinical-rules.md §7: the facility's name, address and
    telephone number on a result letter; an address for whoever the envelope goes to) and
    that the coded values are ones the wording knows. Printability of the characters is
    checked by the PDF layer, which knows the font.
    """
    found = list(sender_problems(sender))
    if not clean(facts.patient.name):
        found.append("the patient has no name (patient edit ID --name)")
    found += _address_problems("the patient", facts.patient.address)
    needs = _NEEDS[facts.kind]
    for name in needs:
        if getattr(facts, name) is None:
            found.append(f"a {facts.kind} letter needs its {name.replace('_', ' ')}")
    if facts.kind is LetterKind.RESULT:
        found += _facility_problems("the exam's facility", facts.facility)
    elif not facts.facility.phone:
        found.append(f"the facility {facts.facility.name!r} has no telephone number")
    if facts.result is not None:
        found += _result_problems(facts.result)
    for step in (facts.next_step, facts.also):
        if step is not None:
            found += _step_problems(step)
    if facts.films is not None:
        found += _films_problems(facts.films)
    ladder = facts.kind in (LetterKind.REMINDER, LetterKind.OVERDUE)
    if ladder and facts.next_step is not None and facts.next_step.due is None:
        found.append(f"a {facts.kind} letter needs the due date of the next step")
    if facts.kind is LetterKind.OVERDUE:
        found += _ladder_problems(facts.step, facts.steps)
    return tuple(dict.fromkeys(found))


_NEEDS = {
    LetterKind.RESULT: ("result", "next_step"),
    LetterKind.REMINDER: ("next_step",),
    LetterKind.OVERDUE: ("next_step",),
    LetterKind.FILMS_REQUEST: ("films",),
}


def sender_problems(sender: Sender) -> list[str]:
    """What the clinic lacks to sign a letter (its name, its return address); [] if none."""
    found = [] if clean(sender.name) else ["the clinic has no name (clinic set --name)"]
    return found + _address_problems("the clinic", sender.address)


def _address_problems(whose: str, address: Address | None) -> list[str]:
    if address is None or not address.lines:
        return [f"{whose} has no postal address"]
    if len(address.lines) > MAX_ADDRESS_LINES:
        return [
            f"{whose}'s postal address has {len(address.lines)} lines; an envelope window "
            f"shows at most {MAX_ADDRESS_LINES} below the name"
        ]
    return []


def _facility_problems(whose: str, facility: FacilityContact) -> list[str]:
    found = _address_problems(f"{whose} ({facility.name})", facility.address)
    if not facility.phone:
        found.append(f"{whose} ({facility.name}) has no telephone number")
    return found


def _result_problems(result: ExamResult) -> list[str]:
    found = []
    if result.category not in CATEGORIES:
        found.append(f"unknown category {result.category!r}; use one of {', '.join(CATEGORIES)}")
    if result.side is not None and result.side not in SIDES:
        found.append(f"unknown side {result.side!r}; use one of {', '.join(SIDES)}")
    if result.exam_kind is not None and result.exam_kind not in EXAM_KINDS:
        found.append(f"unknown exam kind {result.exam_kind!r}; use one of {', '.join(EXAM_KINDS)}")
    if result.density is not None and result.density not in DENSITIES:
        found.append(f"unknown density {result.density!r}; use one of a, b, c, d")
    return found


def _step_problems(step: NextStep) -> list[str]:
    found = []
    if step.action is not None and step.action not in ACTIONS:
        found.append(f"unknown action {step.action!r}; use one of {', '.join(ACTIONS)}")
    if step.action not in (None, "treatment") and step.due is None:
        found.append(f"the next step {step.action!r} has no due date")
    if step.side is not None and step.side not in SIDES:
        found.append(f"unknown side {step.side!r}; use one of {', '.join(SIDES)}")
    return found


def _films_problems(films: FilmsRequest) -> list[str]:
    found = _address_problems(f"the films' facility ({films.holder.name})", films.holder.address)
    found += _address_problems(
        f"the current facility ({films.current.name})", films.current.address
    )
    if not films.exam_dates:
        found.append("a films request needs the dates of the exams to send")
    return found


def _ladder_problems(step: int | None, steps: int | None) -> list[str]:
    if step is None or steps is None or not 1 <= step <= steps:
        return [f"an overdue letter needs its step on the ladder (got {step} of {steps})"]
    return []
