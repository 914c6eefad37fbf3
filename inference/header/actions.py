"""The header actions as one Enum: the codes of PS3.15 Table E.1-1 plus this tool's own ("k" is not "K")."""
from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    """One action of PS3.15 Table E.1-1, plus this tool's own. The value is the code the audit trail records."""

    REMOVE = "X"
    ZERO = "Z"
    DUMMY = "D"
    KEEP = "K"
    KEEP_SCRUBBED = "k"  # an attribute the table does not list: kept, its free text scrubbed of known values
    CLEAN = "C"
    UID = "U"
    UID_ALL = "U*"  # U, also for a sequence (the table's X/Z/U*)
    PSEUDONYM = "P"  # keyed pseudonym (an extension: never an original value)
    FIXED = "V"  # the profile's fixed replacement value
    DEFER = "defer"  # private creators: decided after the walk, once it is known whether their block is used

    @classmethod
    def of(cls, code: str) -> Action:
        """The action for a code read from the table, the policy or a profile; an unknown code is an error."""
        try:
            return cls(code)
        except ValueError:
            raise ValueError(f"unknown header action code {code!r}; known: "
                             f"{', '.join(a.value for a in cls)}") from None
