"""Groups of DICOM value representations (VRs), defined once: which values are text, free text, dates."""
from __future__ import annotations

# Every VR whose value is characters (string VRs of PS3.5 6.2): a control byte in one means a mis-parsed file.
CHARACTER_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UI",
                           "UC", "UR", "UT"})
# Free text and names: what the text de-identifier cleans, what charset conversion touches, where an auditor's
# generic detectors (phones, codes, names) apply.
FREE_TEXT_VRS = frozenset({"LO", "SH", "LT", "ST", "UT", "UC", "PN"})
DATE_VRS = frozenset({"DA", "DT"})
