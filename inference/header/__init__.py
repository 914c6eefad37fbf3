"""PS3.15 Annex E header de-identification, driven by Table E.1-1 data and YAML profiles.

    from inference.header import load_profile, deidentify_dataset
    report = deidentify_dataset(ds, load_profile("basic"), keyring)
"""
from .actions import Action
from .engine import HeaderError, deidentify_dataset
from .profile import Override, Profile, ProfileError, SafePrivate, load_profile
from .state import HeaderReport
from .table import Rule, Table, load_table

__all__ = ["Action", "HeaderError", "HeaderReport", "Override", "Profile", "ProfileError", "Rule", "SafePrivate",
           "Table", "deidentify_dataset", "load_profile", "load_table"]
