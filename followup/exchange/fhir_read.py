"""Reading a FHIR R4 Bundle into patients and exams: no database, one pass over the resources.

What is read (codes: :mod:`followup.exchange.fhir_codes`):

- every **Patient**: her id from the identifier of our system (``urn:followup:patient-id``),
  of the system ``--patient-identifier-system`` names, or the one system her identifiers
  have; ``--patient-id`` names the one patient of a bundle whose Patient has no usable
  identifier. Name, birth date, telecom, our extensions (reminders, film transfers).
- every **Procedure** (how followup writes an exam) with the **Observations** that are
  ``partOf`` it (one finding each: the BI-RADS category with 4A/4B/4C, side and descriptors;
  and one of RadLex RDE1587, the exam's breast density), the breast it imaged
  (``bodySite``), the radiologist who read it (``performer``);
- every biopsy **Procedure** of ours with its pathology **DiagnosticReport**
  (:mod:`followup.exchange.fhir_biopsies`);
- every **DiagnosticReport** with a BI-RADS assessment in ``conclusionCode`` (how other
  producers, the HL7 Breast Radiology IG among them, write a report's conclusion): one exam
  with that assessment, dated by ``effective[x]``, at the facility of its ``performer`` or
  its encounter's location, its ``conclusion`` as the note. ``--default-date`` and
  ``--default-facility`` give what a report lacks (the IG's own example has neither).

An exam belongs to the Patient its ``subject`` names (in a bundle of one patient, to her).
Nothing is skipped silently: a report without an assessment, an Observation of no exam and
resources of other types are listed in :attr:`ParsedBundle.skipped`, one line each, with the
reason. The ServiceRequest of our bundles is not read back: the plan is recomputed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from followup import rules
from followup.exchange import fhir_values
from followup.exchange.fhir_biopsies import IncomingBiopsy, is_biopsy, read_biopsy
from followup.exchange.fhir_codes import (
    BIRADS_SYSTEMS,
    EXT_FILM_TRANSFER,
    EXT_FOLLOW_UP_MONTHS,
    EXT_REMINDERS,
    PATIENT_ID_SYSTEM,
)
from followup.store.errors import InvalidInput
from followup.store.exam_batch import Incoming
from followup.store.patients import PatientDetails

Json = dict[str, Any]
# Types that are read, or consulted for what they name (a Location's name), or ours and not
# read back on purpose (the ServiceRequest: the plan is recomputed): never listed as skipped.
NOT_SKIPPED = frozenset({"Location", "Organization", "Encounter", "ServiceRequest"})
LISTED = 5  # skipped resources named one by one up to this many; counted by type beyond


class BundleError(InvalidInput):
    """The file is not a bundle followup can read; the message says what is missing."""


@dataclass(frozen=True)
class ReadOptions:
    """How to read what other producers' bundles leave open (see the module docstring)."""

    patient_identifier_system: str | None = None
    patient_id: str | None = None
    default_date: date | None = None
    default_facility: str | None = None


Transfer = tuple[str, str, date | None]  # from, to, the day (None: not given)


@dataclass
class ParsedPatient:
    external_id: str
    details: PatientDetails
    transfers: list[Transfer]
    exams: list[Incoming] = field(default_factory=list)
    biopsies: list[IncomingBiopsy] = field(default_factory=list)


@dataclass(frozen=True)
class ParsedBundle:
    patients: list[ParsedPatient]
    skipped: list[str]  # what was not read, and why: one line each


def parse_bundle(bundle: Any, options: ReadOptions | None = None) -> ParsedBundle:
    """The patients, their exams and film transfers as the bundle states them.

    A malformed value anywhere (a bad date, text where an object belongs) is a BundleError
    naming the problem, never a traceback.
    """
    try:
        return _Reader(bundle, options or ReadOptions()).read()
    except BundleError:
        raise
    except (ValueError, TypeError, AttributeError) as exc:
        raise BundleError(f"the bundle cannot be read: {exc}") from None


def label(resource: Json) -> str:
    """``Procedure/abc`` (or ``a Procedure`` without an id), for messages."""
    kind = resource["resourceType"]
    return f"{kind}/{resource['id']}" if resource.get("id") else f"a {kind}"


class _Resources:
    """The bundle's resources in order, by type, and by every name a reference may use
    (fullUrl and Type/id); remembers which ones were read or consulted."""

    def __init__(self, bundle: Any) -> None:
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise BundleError("the file is not a FHIR Bundle (resourceType must be 'Bundle')")
        self.all: list[Json] = []
        self.by_type: dict[str, list[Json]] = {}
        self.by_reference: dict[str, Json] = {}
        self.used: set[int] = set()
        for entry in bundle.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict) or "resourceType" not in resource:
                raise BundleError("a bundle entry has no resource; every entry needs one")
            self.all.append(resource)
            self.by_type.setdefault(resource["resourceType"], []).append(resource)
            if entry.get("fullUrl"):
                self.by_reference[entry["fullUrl"]] = resource
            if resource.get("id"):
                self.by_reference[f"{resource['resourceType']}/{resource['id']}"] = resource

    def of_type(self, kind: str) -> list[Json]:
        return self.by_type.get(kind, [])

    def resolve(self, reference: Json | None) -> Json | None:
        found = self.by_reference.get((reference or {}).get("reference") or "")
        if found is not None:
            self.used.add(id(found))
        return found

    def unused(self) -> list[Json]:
        return [
            r for r in self.all if id(r) not in self.used and r["resourceType"] not in NOT_SKIPPED
        ]


def _extension(resource: Json, url: str) -> Any:
    for extension in resource.get("extension") or []:
        if extension.get("url") == url:
            return next((v for k, v in extension.items() if k.startswith("value")), None)
    return None


def _transfers(resource: Json) -> list[Transfer]:
    pairs: list[Transfer] = []
    for extension in resource.get("extension") or []:
        if extension.get("url") == EXT_FILM_TRANSFER:
            parts = {
                e.get("url"): e.get("valueString") or e.get("valueDate")
                for e in extension.get("extension") or []
            }
            if not parts.get("from") or not parts.get("to"):
                raise BundleError("a film-transfer extension lacks its 'from' or 'to' facility")
            day = rules.parse_date(parts["date"]) if parts.get("date") else None
            pairs.append((parts["from"], parts["to"], day))
    return pairs


def _identifier(resource: Json, system: str | None) -> str:
    """The patient id: see the module docstring for which identifier holds it."""
    identifiers = [i for i in resource.get("identifier") or [] if i.get("value") is not None]
    systems = sorted({str(i.get("system")) for i in identifiers})
    if system is not None:
        chosen = [i for i in identifiers if i.get("system") == system]
        if not chosen:
            raise BundleError(
                f"{label(resource)} has no identifier of system {system}; its identifiers "
                f"are of {', '.join(systems) or 'no system'}"
            )
    else:
        chosen = [i for i in identifiers if i.get("system") == PATIENT_ID_SYSTEM]
        if not chosen and len(systems) > 1:
            raise BundleError(
                f"{label(resource)} has identifiers of several systems ({', '.join(systems)}); "
                "name the one that holds the patient id with --patient-identifier-system URI"
            )
        chosen = chosen or identifiers
    if not chosen:
        raise BundleError(
            f"{label(resource)} has no identifier; followup needs one (system "
            f"{PATIENT_ID_SYSTEM}, or another with --patient-identifier-system URI), or name "
            "the bundle's one patient with --patient-id ID"
        )
    value = chosen[0]["value"]
    if not isinstance(value, str):  # FHIR's identifier.value is a string
        raise BundleError(
            f"the Patient's identifier value {value!r} is not text; FHIR writes it as a "
            f'string, e.g. "{value}"'
        )
    return value


def _details(resource: Json) -> PatientDetails:
    names = resource.get("name") or [{}]
    name = (
        names[0].get("text")
        or " ".join([*(names[0].get("given") or []), names[0].get("family") or ""]).strip()
    )
    telecom = {t.get("system"): t.get("value") for t in resource.get("telecom") or []}
    reminders = _extension(resource, EXT_REMINDERS)
    birth = resource.get("birthDate")
    return PatientDetails(
        name=name or None,
        birth_date=rules.parse_date(birth) if birth else None,
        email=telecom.get("email"),
        phone=telecom.get("phone"),
        reminders=True if reminders is None else bool(reminders),
    )


def _where(day: date, facility: str, kind: rules.ExamKind | None) -> str:
    exam = f"{kind.value} exam" if kind else "exam"
    return f"the {exam} of {day.isoformat()} at {facility}"


class _Reader:
    def __init__(self, bundle: Any, options: ReadOptions) -> None:
        self.resources = _Resources(bundle)
        self.options = options
        self.skipped: list[str] = []

    def read(self) -> ParsedBundle:
        patients = self._patients()
        owners = {id(resource): parsed for resource, parsed in patients}
        pathology = self._biopsies(owners)
        for procedure, observations in self._procedures():
            self._owner(procedure, owners).exams.append(self._exam(procedure, observations))
        for report in self.resources.of_type("DiagnosticReport"):
            if id(report) in pathology:
                continue
            self.resources.used.add(id(report))
            exam = self._report(report)
            if exam is not None:
                self._owner(report, owners).exams.append(exam)
        self._list_unused()
        return ParsedBundle([parsed for _, parsed in patients], self.skipped)

    def _patients(self) -> list[tuple[Json, ParsedPatient]]:
        found = self.resources.of_type("Patient")
        if not found:
            raise BundleError("the bundle holds 0 Patient resources; it needs one per patient")
        named = self.options.patient_id
        if named is not None and len(found) != 1:
            raise BundleError(
                f"--patient-id names the one patient of a bundle; this one holds {len(found)} "
                "Patient resources (use --patient-identifier-system instead)"
            )
        patients = []
        for resource in found:
            self.resources.used.add(id(resource))
            external_id = named or _identifier(resource, self.options.patient_identifier_system)
            patients.append(
                (resource, ParsedPatient(external_id, _details(resource), _transfers(resource)))
            )
        return patients

    def _owner(self, resource: Json, owners: dict[int, ParsedPatient]) -> ParsedPatient:
        subject = self.resources.resolve(resource.get("subject"))
        if subject is not None and id(subject) in owners:
            return owners[id(subject)]
        if len(owners) == 1:
            return next(iter(owners.values()))
        raise BundleError(
            f"{label(resource)} has no subject naming a Patient of the bundle; in a bundle of "
            "several patients each exam names its patient"
        )

    def _procedures(self) -> Iterator[tuple[Json, list[Json]]]:
        by_procedure: dict[int, list[Json]] = {}
        orphans = 0
        for observation in self.resources.of_type("Observation"):
            targets = [self.resources.resolve(part) for part in observation.get("partOf") or []]
            procedures = [t for t in targets if t is not None and t["resourceType"] == "Procedure"]
            for target in procedures:
                by_procedure.setdefault(id(target), []).append(observation)
            if procedures:
                self.resources.used.add(id(observation))
            else:
                orphans += 1
        if orphans:
            self.skipped.append(
                f"{orphans} Observation(s) not part of any Procedure of the bundle: not read "
                "(an assessment is read from the Observations of a Procedure, or from a "
                "DiagnosticReport's conclusionCode)"
            )
        for procedure in self.resources.of_type("Procedure"):
            if is_biopsy(procedure):
                continue
            self.resources.used.add(id(procedure))
            yield procedure, by_procedure.get(id(procedure), [])

    def _biopsies(self, owners: dict[int, ParsedPatient]) -> set[int]:
        """Read every biopsy Procedure and its report; returns the reports' identities (not
        read again as exam reports)."""
        reports: set[int] = set()
        for procedure in self.resources.of_type("Procedure"):
            if not is_biopsy(procedure):
                continue
            self.resources.used.add(id(procedure))
            found = [self.resources.resolve(r) for r in procedure.get("report") or []]
            report = next((r for r in found if r and r["resourceType"] == "DiagnosticReport"), None)
            if report is not None:
                reports.add(id(report))
            location = procedure.get("location")
            facility = None
            if location:
                facility = (self.resources.resolve(location) or {}).get("name") or location.get(
                    "display"
                )
            try:
                incoming = read_biopsy(procedure, report, facility)
            except ValueError as exc:
                raise BundleError(f"{label(procedure)}: {exc}") from None
            self._owner(procedure, owners).biopsies.append(incoming)
        return reports

    def _facility(self, procedure: Json) -> str:
        location = procedure.get("location") or {}
        name = (self.resources.resolve(location) or {}).get("name") or location.get("display")
        if not name:
            raise BundleError(
                f"{label(procedure)} has no location; followup needs the facility of each exam"
            )
        return str(name)

    def _exam(self, procedure: Json, observations: list[Json]) -> Incoming:
        performed = procedure.get("performedDateTime")
        if not performed:
            raise BundleError("a Procedure has no performedDateTime; each exam needs its date")
        day = rules.parse_date(performed[:10])
        facility = self._facility(procedure)
        kind = fhir_values.kind(procedure.get("code"))
        where = _where(day, facility, kind)
        densities = [o for o in observations if fhir_values.is_density(o)]
        assessed = [o for o in observations if not fhir_values.is_density(o)]
        if not assessed:
            raise BundleError(f"{where} has no Observation with its assessment category")
        try:
            findings = tuple(fhir_values.finding(o) for o in assessed)
            density = fhir_values.density(densities)
            imaged = fhir_values.imaged(procedure)
        except ValueError as exc:
            raise BundleError(f"{where}: {exc}") from None
        notes = [n["text"] for n in procedure.get("note") or [] if n.get("text")]
        exam = rules.Exam(
            date=day,
            facility=facility,
            findings=findings,
            kind=kind,
            follow_up_months=_extension(procedure, EXT_FOLLOW_UP_MONTHS),
            imaged=imaged,
            density=density,
            radiologist=fhir_values.radiologist(procedure),
        )
        return Incoming(exam, "\n".join(notes) or None, where)

    # -- DiagnosticReport --------------------------------------------------------------------

    def _report(self, report: Json) -> Incoming | None:
        """The exam a report's BI-RADS conclusion states, or None (listed as skipped)."""
        categories = [
            c for c in map(fhir_values.coded_category, report.get("conclusionCode") or []) if c
        ]
        if not categories:
            self.skipped.append(
                f"{label(report)}: no BI-RADS assessment in its conclusionCode (a code of "
                f"{BIRADS_SYSTEMS[0]}, the IG's RadLexCDE or SNOMED CT): not read"
            )
            return None
        day, facility = self._report_date(report), self._report_facility(report)
        if day is None or facility is None:
            gaps = [
                (what, hint)
                for what, value, hint in (
                    ("date (effectiveDateTime)", day, "--default-date DATE" + self._dated()),
                    ("facility (performer)", facility, "--default-facility NAME"),
                )
                if value is None
            ]
            raise BundleError(
                f"{label(report)} has its assessment but no exam "
                + " and no ".join(what for what, _ in gaps)
                + "; give "
                + " and ".join(hint for _, hint in gaps)
                + "; nothing was imported"
            )
        kind = fhir_values.kind(report.get("code"))
        findings = tuple(rules.Finding(category=c) for c in dict.fromkeys(categories))
        exam = rules.Exam(date=day, facility=facility, findings=findings, kind=kind)
        where = f"{label(report)} ({_where(day, facility, kind)})"
        return Incoming(exam, report.get("conclusion") or None, where)

    def _report_date(self, report: Json) -> date | None:
        effective = report.get("effectiveDateTime") or (report.get("effectivePeriod") or {}).get(
            "start"
        )
        return rules.parse_date(effective[:10]) if effective else self.options.default_date

    def _report_facility(self, report: Json) -> str | None:
        for reference in report.get("performer") or []:
            performer = self.resources.resolve(reference) or {}
            if performer.get("resourceType") in ("Organization", "Location") and performer.get(
                "name"
            ):
                return str(performer["name"])
        encounter = self.resources.resolve(report.get("encounter")) or {}
        for place in encounter.get("location") or []:
            name = (self.resources.resolve(place.get("location")) or {}).get("name")
            if name:
                return str(name)
        return self.options.default_facility

    def _dated(self) -> str:
        """A hint for --default-date: the date the bundle's Composition gives, if any."""
        for composition in self.resources.of_type("Composition"):
            if composition.get("date"):
                return f" (the bundle's Composition is dated {composition['date'][:10]})"
        return ""

    def _list_unused(self) -> None:
        unused = self.resources.unused()
        if not unused:
            return
        if len(unused) <= LISTED:
            what = ", ".join(label(r) for r in unused)
        else:
            counts = Counter(r["resourceType"] for r in unused)
            what = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
        self.skipped.append(
            f"not read: {what} (followup reads Patient, Procedure with its Observations, a "
            "biopsy Procedure with its pathology report, and DiagnosticReport with a BI-RADS "
            "conclusionCode)"
        )
