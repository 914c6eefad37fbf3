"""Shared free-text de-identifier (SR, PDF, header descriptors, QA auditor).

``TextDeidentifier(identity, keyring, options=None)`` with ``.find(text) -> list[Span]`` and ``.scrub(text)``.
"""
from .deidentifier import TextDeidentifier, TextDeidOptions
from .identity_terms import PersonalValues
from .patterns import Span, personal_code_valid

__all__ = ["PersonalValues", "TextDeidentifier", "TextDeidOptions", "Span", "personal_code_valid"]
