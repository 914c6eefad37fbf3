"""One error hierarchy for medanon: what quarantines a file, what the user must fix, what a PACS refused.

- NotReleasable: the file cannot be released as anonymised. The pipeline quarantines it with the message as the
  reason, and counts it as a refusal by policy. Any other exception inside the pipeline is an internal error (a
  bug, or a library failure nobody turned into a reason yet): the file is quarantined too, but the run summary
  counts it apart, so it is looked at instead of read as policy.
- ConfigError: a setting, profile, key, template or review database the user must fix (exit status 2).
- PacsError: pushing to a PACS failed; the anonymised files stay in OUTPUT.
"""
from __future__ import annotations


class MedanonError(Exception):
    """Base of every error medanon raises on purpose."""


class NotReleasable(MedanonError):
    """This file must not be released: quarantine it with this reason (fail closed)."""


class ConfigError(MedanonError, ValueError):
    """A configuration the user must fix (profile, key, templates, reviews, PACS address)."""


class PacsError(MedanonError, RuntimeError):
    """A PACS push failed; nothing is lost (the files stay in OUTPUT, the ledger says what is left)."""


class DocumentError(NotReleasable, ValueError):
    """An encapsulated document, SR tree or waveform cannot be cleaned, or read (auditor): not shown clean."""
