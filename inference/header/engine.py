"""Walk a dataset and apply the profile: decide one action per element, run its handler.

`deidentify_dataset` is the public entry point. Decisions come from data (Table E.1-1 JSON,
policy.json, the YAML profile); this module only orders them:
  private tag -> group length -> profile override -> table row -> default for unlisted attributes.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from ..errors import NotReleasable
from ..identity import Identity, IdentityReadError
from ..keys import Keyring
from .actions import Action
from .charset import normalise_charset
from .handlers import HANDLERS, Handler, fixed_value, remap_uid
from .profile import Profile
from .state import HeaderReport, Run, TextCleaner, load_policy
from .table import REPEATING_GROUPS, Rule, Table, load_table
from ..vrs import DATE_VRS, FREE_TEXT_VRS

CODING_SCHEME = "DCM"
BASIC_CODE = ("113100", "Basic Application Confidentiality Profile")


class HeaderError(NotReleasable, ValueError):
    """The header could not be fully de-identified; the pipeline quarantines the file with this reason."""


def tag_text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _overlay_group_removed(group: int, run: Run) -> bool:
    """Overlay/curve bitmaps cannot be cleaned here: when their data row is not K, the whole group goes."""
    rule = run.table.rule_for((group << 16) | 0x3000)  # (60xx,3000) Overlay Data, (50xx,xxxx) Curve Data
    return rule is None or rule.resolve(run.profile.columns, run.table.compound) != "K"


def _private_action(ds: Dataset, elem: DataElement, run: Run) -> Action:
    """Private elements go, unless the safe-private option lists (group, creator, element byte)."""
    tag = int(elem.tag)
    group, element = tag >> 16, tag & 0xFFFF
    if element < 0x1000:  # private creator (0x0010-0x00FF) or group length: decided after the walk
        return Action.DEFER
    if run.profile.has("retain_safe_private"):
        creator_tag = (group << 16) | (element >> 8)
        creator = str(ds[creator_tag].value).strip() if creator_tag in ds else ""
        if any(s.group == group and s.creator == creator and s.element == element & 0xFF
               for s in run.profile.safe_private):
            return Action.CLEAN
    return Action.REMOVE


def decide(ds: Dataset, elem: DataElement, run: Run, mode: Action | None) -> Action:
    """The single action for one element, in order: private, group length, override, table, default."""
    tag = int(elem.tag)
    group = tag >> 16
    if tag in run.keep_tags:
        return Action.KEEP
    if group % 2 == 1:
        return _private_action(ds, elem, run)
    if tag & 0xFFFF == 0:
        return Action.REMOVE  # group lengths are retired outside file meta; writers recompute what they need
    if (group & 0xFF00) in REPEATING_GROUPS and _overlay_group_removed(group, run):
        return Action.REMOVE
    override = run.profile.overrides.get(tag)
    if override is not None:
        return override.action
    rule = run.table.rule_for(tag)
    if rule is not None:
        return _table_action(rule, elem, run)
    if _unlisted_removed(tag, run):
        return Action.REMOVE
    return _default_action(elem, run, mode)


def _unlisted_removed(tag: int, run: Run) -> bool:
    """A public element the table does not list is removed when nothing says what it holds: not in the data
    dictionary (crafted, bit-flipped, newer than pydicom), or unlisted in a patient/institution/visit group."""
    if _dictionary_vr(tag) is None:
        return True
    return run.policy.in_identity_group(tag) and tag not in run.policy.identity_group_keep


def _table_action(rule: Rule, elem: DataElement, run: Run) -> Action:
    """The row's code for the enabled options, compound codes resolved (policy.json explains the choices)."""
    code = rule.select(run.profile.columns)
    policy = run.policy
    if elem.VR == "SQ" and code in policy.sequence_compound and rule.keyword not in policy.type2_sequences:
        return policy.sequence_compound[code]
    action = Action.of(run.table.compound.get(code, code))
    if action is Action.REMOVE and rule.keyword in policy.empty_instead_of_remove:
        return Action.ZERO
    return action


@lru_cache(maxsize=None)
def keyword_of(tag: int) -> str:
    """Cached keyword lookup (DataElement.keyword re-queries the dictionary on every access)."""
    return keyword_for_tag(tag) or ""


def _default_action(elem: DataElement, run: Run, mode: Action | None) -> Action:
    """Attributes Table E.1-1 does not list are kept (the table is what the standard says to handle),
    except: instance UIDs are remapped, dates are shifted when shifting, and inside a sequence that is
    dummied or cleaned as a whole, free text follows that sequence's action."""
    vr = elem.VR
    keyword = keyword_of(int(elem.tag))
    if vr == "UI":  # unlisted UIDs: instance-like ones are remapped too, unless UIDs are retained
        retain = run.profile.has("retain_uids") or keyword in run.policy.uid_keep_keywords
        return Action.KEEP if retain else Action.UID
    if vr == "SQ":
        return Action.KEEP if mode is None else mode
    if keyword in run.policy.structural_keywords:
        return Action.KEEP
    if vr in DATE_VRS and run.days is not None:
        return Action.CLEAN
    if mode is not None and vr in FREE_TEXT_VRS | DATE_VRS | {"TM", "AE", "AS"}:
        return mode
    return Action.KEEP_SCRUBBED  # keep, free text scrubbed of known identifying values


# Values that do not depend on the character set and that an unlisted attribute keeps as they are.
RAW_KEEP_VRS = frozenset({"US", "SS", "UL", "SL", "UV", "SV", "FL", "FD", "DS", "IS", "AT",
                          "OB", "OW", "OF", "OD", "OL", "OV", "US or SS", "US or OW", "US or SS or OW", "OB or OW"})


@lru_cache(maxsize=None)
def _dictionary_vr(tag: int) -> str | None:
    try:
        return dictionary_VR(tag)
    except KeyError:
        return None


def _kept_raw(ds: Dataset, tag: int, run: Run) -> bool:
    """Fast path: an unlisted public attribute with a numeric or binary VR is kept without being decoded
    (decoding every number costs more than all the de-identification). Exactly what `decide` would do."""
    raw = ds.get_item(tag)
    if not isinstance(raw, RawDataElement):
        return False
    group = tag >> 16
    if group % 2 or tag & 0xFFFF == 0 or (group & 0xFF00) in REPEATING_GROUPS:
        return False
    if tag in run.profile.overrides or run.table.rule_for(tag) is not None:
        return False
    vr = _dictionary_vr(tag)
    if vr is None or run.policy.in_identity_group(tag):
        return False  # decided by `decide` (removed unless kept)
    return (raw.VR or vr) in RAW_KEEP_VRS


def _handler(action: Action, tag: int, run: Run) -> Handler:
    if action is Action.FIXED:
        return fixed_value(run.profile.overrides[tag].value)
    return HANDLERS[action]


def _walk(ds: Dataset, run: Run, path: str, mode: Action | None) -> None:
    deferred: list[int] = []
    drop_private = not run.profile.has("retain_safe_private")
    for tag in list(ds.keys()):
        where = path + tag_text(int(tag))
        if drop_private and tag.group % 2 == 1 and tag.element >= 0x1000 and int(tag) not in run.keep_tags:
            del ds[tag]  # private data element: removed without decoding it (speed, and nothing to parse)
            run.report.record(where, Action.REMOVE)
            continue
        if _kept_raw(ds, int(tag), run):
            run.report.record(where, Action.KEEP)
            continue
        try:
            elem = ds[tag]  # converts raw elements, decoding text with the dataset's character set
        except Exception as exc:
            raise HeaderError(f"cannot read {where}: {type(exc).__name__}") from exc
        action = decide(ds, elem, run, mode)
        if action is Action.DEFER:
            deferred.append(int(tag))
            continue
        try:
            applied = _handler(action, int(tag), run)(ds, elem, run, where, mode)
        except HeaderError:
            raise
        except Exception as exc:  # fail closed: the pipeline quarantines, with where and what, never the value
            raise HeaderError(f"cannot apply {action} to {where} ({elem.keyword or 'private'}, "
                              f"VR {elem.VR}): {type(exc).__name__}") from exc
        run.report.record(where, applied)
    _drop_unused_private_creators(ds, deferred, run, path)


def _drop_unused_private_creators(ds: Dataset, creators: list[int], run: Run, path: str) -> None:
    for tag in creators:
        group, element = tag >> 16, tag & 0xFFFF
        if element == 0:
            del ds[tag]
            run.report.record(path + tag_text(tag), Action.REMOVE)
            continue
        block = (group << 16) | (element << 8)
        used = any(block <= int(t) <= block + 0xFF for t in ds.keys())
        if not used:
            del ds[tag]
        run.report.record(path + tag_text(tag), Action.KEEP if used else Action.REMOVE)


INSTITUTION_KEYWORDS = ("InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName")
DEVICE_ID_COLUMN = "rtnDevIdOpt"
INSTITUTION_ID_COLUMN = "rtnInstIdOpt"


def _institution_values(ds: Dataset) -> list[str]:
    """The original institution name/address/department (folded, >= 4 characters), read before the walk."""
    values = []
    for kw in INSTITUTION_KEYWORDS:
        value = " ".join(str(ds.get(kw, "") or "").split()).casefold()
        if len(value) >= 4:
            values.append(value)
    return values


def _device_values_naming_the_institution(ds: Dataset, run: Run, institution: list[str]) -> None:
    """Retain Device Identity keeps StationName & co. verbatim; a device value that holds the institution's
    name (StationName = InstitutionName is common) is replaced by a dummy when the institution is not retained.

    WHY: the option retains the device, not the hospital: keeping the name there undoes the institution's removal.
    """
    if not institution or DEVICE_ID_COLUMN not in run.profile.columns or INSTITUTION_ID_COLUMN in run.profile.columns:
        return
    for tag, rule in run.table.rules.items():
        if rule.options.get(DEVICE_ID_COLUMN) != "K" or rule.vr not in FREE_TEXT_VRS or tag not in ds:
            continue
        elem = ds[tag]
        if tag in run.profile.overrides or not isinstance(elem.value, str):
            continue
        value = " ".join(elem.value.split()).casefold()
        if any(name in value or (len(value) >= 4 and value in name) for name in institution):
            run.report.record(rule.keyword, HANDLERS[Action.DUMMY](ds, elem, run, rule.keyword, None))


def _remove_orphaned_conditionals(ds: Dataset, run: Run) -> None:
    """Keep conditional attributes consistent after emptying what they depend on (e.g. Responsible Person Role)."""
    for keyword, depends_on in run.policy.remove_when_emptied.items():
        if keyword in ds and not ds.get(depends_on):
            tag = tag_for_keyword(keyword)
            if tag is None:
                raise HeaderError(f"policy.json remove_when_emptied: unknown keyword {keyword!r}")
            del ds[keyword]
            run.report.record(tag_text(tag), Action.REMOVE)


def _deidentify_file_meta(ds: Dataset, run: Run) -> None:
    """File meta: MediaStorageSOPInstanceUID follows the (remapped) SOPInstanceUID; the transfer syntax and
    class UIDs stay; elements naming the sending system go."""
    meta = getattr(ds, "file_meta", None)
    if meta is None:
        return
    for tag in list(meta.keys()):
        elem = meta[tag]
        where = "meta." + tag_text(int(tag))
        if int(tag) in run.policy.file_meta_remove or _dictionary_vr(int(tag)) is None:
            del meta[tag]
            run.report.record(where, Action.REMOVE)
        elif elem.keyword == "MediaStorageSOPInstanceUID":
            if "SOPInstanceUID" in ds:
                elem.value = ds.SOPInstanceUID
                run.report.record(where, Action.UID)
            else:
                run.report.record(where, remap_uid(meta, elem, run, where, None))


def _method_codes(profile: Profile, table: Table) -> list[tuple[str, str]]:
    """CID 7050 codes for the Basic Profile and the options this profile applies (113101 Clean Pixel Data
    is added by the pixel module, never here)."""
    return [BASIC_CODE] + [(table.options[o]["code"], table.options[o]["meaning"]) for o in profile.options]


def _code_item(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = CODING_SCHEME
    item.CodeMeaning = meaning
    return item


# Codes a content stage of this run writes into the sequence itself before the header engine runs.
CONTENT_STAGE_CODES = frozenset({"113101"})  # Clean Pixel Data (inference.pixels)


def add_deidentification_marks(ds: Dataset, run: Run) -> None:
    """PatientIdentityRemoved, DeidentificationMethod(+CodeSequence), LongitudinalTemporalInformationModified.

    The code sequence says what THIS run did: the profile's options, the content handlers' codes
    (run.content_codes) and 113101 from the pixel stage. Anything else already there came with the input and
    may be false now (an input's "Retain Patient Characteristics" after PatientSex was emptied): dropped. The
    pipeline removes the input's sequence before the content stages, so an input's 113101 is not kept either."""
    codes = _method_codes(run.profile, run.table) + list(run.content_codes)
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = ["medanon", f"PS3.15 E.1-1 profile {run.profile.name}"[:64]]
    existing = [i for i in ds.get("DeidentificationMethodCodeSequence", None) or []
                if str(i.get("CodeValue", "")) in CONTENT_STAGE_CODES and str(i.get("CodingSchemeDesignator")) == "DCM"]
    have = {str(i.get("CodeValue", "")) for i in existing}
    new = [_code_item(v, m) for v, m in dict(codes).items() if v not in have]
    ds.DeidentificationMethodCodeSequence = Sequence(existing + new)
    if run.days is not None:
        ds.LongitudinalTemporalInformationModified = "MODIFIED"
    elif run.profile.has("retain_longitudinal_full_dates"):
        ds.LongitudinalTemporalInformationModified = "UNMODIFIED"
    else:
        ds.LongitudinalTemporalInformationModified = "REMOVED"
    run.report.method_codes = [v for v, _ in dict(codes).items()]


def _default_cleaner(identity: Identity, keyring: Keyring) -> TextCleaner:
    """The one free-text cleaner: the shared text de-identifier, exactly as the pipeline passes it."""
    from ..textdeid import TextDeidentifier
    return TextDeidentifier(identity, keyring).scrub


DICOMDIR_CLASS = "1.2.840.10008.1.3.10"


def is_directory(ds: Dataset) -> bool:
    meta = getattr(ds, "file_meta", None)
    sop = str(meta.get("MediaStorageSOPClassUID", "")) if meta is not None else ""
    return sop == DICOMDIR_CLASS or 0x00041220 in ds  # Directory Record Sequence


def deidentify_dataset(ds: Dataset, profile: Profile, keyring: Keyring, *, identity: Identity | None = None,
                       clean_text: Callable[..., str] | None = None,
                       keep_tags: frozenset[int] = frozenset(),
                       content_codes: tuple[tuple[str, str], ...] = ()) -> HeaderReport:
    """De-identify `ds` in place per PS3.15 Table E.1-1 and `profile`; return what was done.

    identity: the original values (read here if not given) - used to scrub kept free text.
    clean_text: a text de-identifier for C actions, called as clean_text(text, max_len=, vr=) (state.TextCleaner).
    Default: the pipeline's own, TextDeidentifier(identity, keyring).scrub, so the library call scrubs as much.
    keep_tags: attributes a content handler has already cleaned (e.g. EncapsulatedDocument after the PDF
    handler, ContentSequence after the SR handler): kept (sequences still walked for UIDs, dates, names).
    content_codes: (code value, meaning) of what the content handlers did (documents.method_codes).
    Raises HeaderError when an element cannot be handled: the file must then be quarantined.
    """
    if is_directory(ds):
        raise HeaderError("DICOMDIR (media directory): its records hold names, IDs and paths; not an object to "
                          "release - skip it")
    if identity is None:
        try:
            identity = Identity.from_dataset(ds)
        except IdentityReadError as exc:
            raise HeaderError(f"cannot read the personal values of the header: {exc}") from exc
        except Exception as exc:
            raise HeaderError(f"cannot read the personal values of the header: {type(exc).__name__}") from exc
    table = load_table()
    report = HeaderReport(profile=profile.name)
    days = keyring.date_offset_days(identity.patient_key) if profile.shifts_dates else None
    run = Run(table=table, profile=profile, keyring=keyring, policy=load_policy(),
              clean_text=clean_text or _default_cleaner(identity, keyring), days=days, report=report,
              walker=_walk, keep_tags=frozenset(keep_tags), content_codes=tuple(content_codes))
    institution = _institution_values(ds)
    _walk(ds, run, "", None)
    _device_values_naming_the_institution(ds, run, institution)
    _remove_orphaned_conditionals(ds, run)
    _deidentify_file_meta(ds, run)
    add_deidentification_marks(ds, run)
    report.charset = normalise_charset(ds)
    report.dates_shifted = run.dates_shifted
    return report
