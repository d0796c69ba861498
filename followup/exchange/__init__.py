"""Records in and out: CSV import, exports, FHIR, iCalendar."""
