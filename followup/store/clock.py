"""Timestamps and the acting user for records the store writes."""

from __future__ import annotations

import getpass
import os
from datetime import UTC, datetime


def now() -> datetime:
    """Naive UTC, which SQLite and PostgreSQL ``timestamp`` both store unchanged."""
    return datetime.now(UTC).replace(tzinfo=None)


def actor() -> str:
    """Who is acting, for the audit log: ``FOLLOWUP_USER``, else the login name."""
    try:
        return os.environ.get("FOLLOWUP_USER") or getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in a container
        return "unknown"
