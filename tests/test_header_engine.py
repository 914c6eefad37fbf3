"""Header engine behaviour on built studies: UID consistency across series and files, keyed determinism,
dates, pseudonyms, private tags, overlays/curves, de-identification marks, file meta, audit report."""
from __future__ import annotations

import copy
from io import BytesIO

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from inference.header import HeaderError, Profile, SafePrivate, deidentify_dataset, load_profile
from inference.identity import Identity
from inference.keys import Keyring

from header_fixtures import KEY, OTHER_KEY, new_file_dataset, roundtrip

CT = "1.2.840.10008.5.1.4.1.1.2"
KO = "1.2.840.10008.5.1.4.1.1.88.59"


def ref_item(sop_class: str, sop_uid: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class
    item.ReferencedSOPInstanceUID = sop_uid
    return item


def build_study() -> list[Dataset]:
    """2 CT series of 2 images + a key-object note referencing all 4 (series and SOP references),
    shared frame of reference, images referencing each other."""
    study, frame = generate_uid(), generate_uid()
    series = [generate_uid(), generate_uid()]
    files = []
    for s, series_uid in enumerate(series):
        for i in range(2):
            ds = new_file_dataset(CT)
            ds.file_meta.SourceApplicationEntityTitle = "CT_SCANNER_7"
            ds.SpecificCharacterSet = "ISO_IR 192"
            ds.PatientName = "Petraitis^Jonas"
            ds.PatientID = "LT-123456"
            ds.PatientBirthDate = "19700102"
            ds.PatientSex = "M"
            ds.PatientAge = "054Y"
            ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series_uid, frame
            ds.StudyDate, ds.SeriesDate, ds.ContentDate = "20240301", "20240301", f"2024030{1 + s}"
            ds.StudyTime, ds.ContentTime = "101500", "101733"
            ds.AcquisitionDateTime = "20240301101733.5+0200"
            ds.AccessionNumber = "ACC778899"
            ds.InstitutionName = "Vilniaus klinika"
            ds.ReferringPhysicianName = "Kazlauskas^Tomas"
            ds.StudyDescription = "CT krūtinės ląstos Petraitis 38501011234"
            ds.Modality = "CT"
            ds.SeriesNumber, ds.InstanceNumber = s + 1, i + 1
            files.append(ds)
    # each image of series 2 references the matching image of series 1 (source + referenced image)
    for i in range(2):
        src = files[i]
        files[2 + i].ReferencedImageSequence = Sequence([ref_item(CT, src.SOPInstanceUID)])
        files[2 + i].SourceImageSequence = Sequence([ref_item(CT, src.SOPInstanceUID)])
    ko = new_file_dataset(KO)
    ko.SpecificCharacterSet = "ISO_IR 192"
    for kw in ("PatientName", "PatientID", "StudyInstanceUID", "StudyDate", "AccessionNumber"):
        setattr(ko, kw, getattr(files[0], kw))
    ko.SeriesInstanceUID = generate_uid()
    evidence = Dataset()
    evidence.StudyInstanceUID = study
    evidence.ReferencedSeriesSequence = Sequence()
    for series_uid in series:
        s_item = Dataset()
        s_item.SeriesInstanceUID = series_uid
        s_item.ReferencedSOPSequence = Sequence(
            [ref_item(CT, f.SOPInstanceUID) for f in files if f.SeriesInstanceUID == series_uid])
        evidence.ReferencedSeriesSequence.append(s_item)
    ko.CurrentRequestedProcedureEvidenceSequence = Sequence([evidence])
    files.append(ko)
    return files


def deid_all(files: list[Dataset], key: bytes = KEY, profile: Profile | None = None) -> list[Dataset]:
    profile = profile or load_profile("basic")
    out = []
    for ds in files:
        ds = roundtrip(copy.deepcopy(ds))  # as read from disk: raw elements, file meta
        deidentify_dataset(ds, profile, Keyring(key))
        out.append(roundtrip(ds))
    return out


def to_bytes(ds: Dataset) -> bytes:
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def test_uid_references_stay_consistent_across_a_multi_series_study():
    files = build_study()
    orig = [(f.SOPInstanceUID, f.SeriesInstanceUID, f.StudyInstanceUID) for f in files]
    out = deid_all(files)
    kr = Keyring(KEY)
    for (sop, series, study), ds in zip(orig, out):
        assert ds.SOPInstanceUID == kr.uid(sop) != sop
        assert ds.SeriesInstanceUID == kr.uid(series)
        assert ds.StudyInstanceUID == kr.uid(study)
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.SOPClassUID == ds.file_meta.MediaStorageSOPClassUID  # class UIDs never remapped
        assert ds.SOPInstanceUID.startswith("2.25.")
    assert len({d.StudyInstanceUID for d in out}) == 1
    assert len({d.FrameOfReferenceUID for d in out[:4]}) == 1 and out[0].FrameOfReferenceUID != files[0].FrameOfReferenceUID
    for i in range(2):  # image references point at the de-identified instances
        assert out[2 + i].ReferencedImageSequence[0].ReferencedSOPInstanceUID == out[i].SOPInstanceUID
        assert out[2 + i].SourceImageSequence[0].ReferencedSOPInstanceUID == out[i].SOPInstanceUID
        assert out[2 + i].ReferencedImageSequence[0].ReferencedSOPClassUID == CT
    evidence = out[4].CurrentRequestedProcedureEvidenceSequence[0]
    assert evidence.StudyInstanceUID == out[0].StudyInstanceUID
    referenced = {(s.SeriesInstanceUID, r.ReferencedSOPInstanceUID)
                  for s in evidence.ReferencedSeriesSequence for r in s.ReferencedSOPSequence}
    assert referenced == {(d.SeriesInstanceUID, d.SOPInstanceUID) for d in out[:4]}
    assert out[0].file_meta.TransferSyntaxUID == files[0].file_meta.TransferSyntaxUID
    assert "SourceApplicationEntityTitle" not in out[0].file_meta


def test_same_key_gives_identical_bytes_and_other_key_differs():
    files = build_study()
    a = [to_bytes(d) for d in deid_all(files)]
    b = [to_bytes(d) for d in deid_all(files)]
    c = deid_all(files, key=OTHER_KEY)
    assert a == b
    first = pydicom.dcmread(BytesIO(a[0]))
    assert first.SOPInstanceUID != c[0].SOPInstanceUID
    assert first.StudyInstanceUID != c[0].StudyInstanceUID
    assert first.PatientID != c[0].PatientID and first.PatientName != c[0].PatientName


def test_patient_pseudonyms_dates_and_intervals():
    files = build_study()
    out = deid_all(files)
    kr = Keyring(KEY)
    days = kr.date_offset_days("LT-123456")
    assert days < 0
    for ds in out[:4]:
        assert ds.PatientID == kr.patient_id("LT-123456")
        assert str(ds.PatientName) == kr.patient_name("Petraitis^Jonas")
        assert ds.PatientBirthDate == ""  # Table E.1-1: Z
        assert ds.StudyDate != "20240301"
        assert ds.LongitudinalTemporalInformationModified == "MODIFIED"
    from datetime import date
    d = lambda s: date(int(s[:4]), int(s[4:6]), int(s[6:8]))  # noqa: E731
    assert (d(out[0].StudyDate) - date(2024, 3, 1)).days == days
    assert (d(out[2].ContentDate) - d(out[0].ContentDate)).days == 1  # interval kept across files
    assert out[0].AcquisitionDateTime.endswith("101733.5+0200")
    assert out[0].StudyTime == "101500"
    assert out[0].AccessionNumber == ""  # Table E.1-1: Z
    assert out[0].PatientSex == "" and "PatientAge" not in out[0]  # Z and X without the option


def test_kept_descriptors_are_scrubbed_of_names_and_personal_codes():
    out = deid_all(build_study())
    text = out[0].StudyDescription
    assert "Petraitis" not in text and "38501011234" not in text
    assert "krūtinės ląstos" in text  # the clinical words stay, correctly decoded
    assert out[0].SpecificCharacterSet == "ISO_IR 192"


def test_research_profile_keeps_characteristics_and_pseudonymises_accession():
    out = deid_all(build_study(), profile=load_profile("research"))
    assert out[0].PatientSex == "M" and out[0].PatientAge == "054Y"
    assert out[0].AccessionNumber not in ("", "ACC778899")


def test_override_by_keyword_and_tag_with_fixed_value(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text("name: site\nextends: basic\noverrides:\n  PatientSex: K\n  '(0010,1010)': {value: '000Y'}\n")
    profile = load_profile(path)
    out = deid_all(build_study()[:1], profile=profile)
    assert out[0].PatientSex == "M" and out[0].PatientAge == "000Y"


def test_profile_errors_are_clear(tmp_path):
    from inference.header import ProfileError

    bad = tmp_path / "bad.yaml"
    bad.write_text("options: [retain_longitudinal_full_dates, retain_longitudinal_modified_dates]\n")
    with pytest.raises(ProfileError, match="exclude"):
        load_profile(bad)
    bad.write_text("overrides:\n  NotAKeyword: K\n")
    with pytest.raises(ProfileError, match="NotAKeyword"):
        load_profile(bad)
    with pytest.raises(ProfileError, match="not found"):
        load_profile("no-such-profile")


def test_private_tags_removed_unless_listed_safe():
    ds = build_study()[0]
    block = ds.private_block(0x0009, "TEST", create=True)
    block.add_new(0x01, "LO", "scanner setting")
    block.add_new(0x02, "LO", "Petraitis Jonas")
    other = ds.private_block(0x0011, "OTHER", create=True)
    other.add_new(0x01, "LO", "LT-123456")
    plain = deid_all([ds])[0]
    assert not any(e.tag.is_private for e in plain)
    safe = Profile(name="safe", options=("retain_safe_private",), safe_private=(SafePrivate(0x0009, "TEST", 0x01),))
    kept = deid_all([ds], profile=safe)[0]
    privates = {int(e.tag): e.value for e in kept if e.tag.is_private}
    assert privates == {0x00090010: "TEST", 0x00091001: "scanner setting"}


def test_overlay_and_curve_groups_removed():
    ds = build_study()[0]
    ds.add_new(0x60000010, "US", 4)
    ds.add_new(0x60000011, "US", 4)
    ds.add_new(0x60003000, "OW", b"\xff\x00")
    ds.add_new(0x60004000, "LT", "Petraitis")
    ds.add_new(0x50003000, "OW", b"\x01\x00")
    out = deid_all([ds])[0]
    assert not any(e.tag.group in (0x6000, 0x5000) for e in out)


def test_deidentification_marks_and_existing_pixel_code_kept():
    ds = build_study()[0]
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = "113101", "DCM", "Clean Pixel Data Option"
    ds.DeidentificationMethodCodeSequence = Sequence([item])
    out = deid_all([ds])[0]
    assert out.PatientIdentityRemoved == "YES"
    assert out.DeidentificationMethod
    codes = [i.CodeValue for i in out.DeidentificationMethodCodeSequence]
    assert codes == ["113101", "113100", "113107", "113105"]
    plain = deid_all(build_study()[:1])[0]
    assert "113101" not in [i.CodeValue for i in plain.DeidentificationMethodCodeSequence]


def test_report_holds_actions_and_no_original_values():
    ds = roundtrip(build_study()[0])
    originals = [str(e.value) for e in ds if e.VR in ("PN", "LO", "SH", "DA", "UI") and str(e.value)]
    report = deidentify_dataset(ds, load_profile(), Keyring(KEY))
    text = repr(report)
    assert report.counts["X"] + report.counts["Z"] > 0 and report.counts["U"] >= 3 and report.counts["P"] == 2
    assert ("(0010,0010)", "P") in report.actions
    leaked = [v for v in originals if v in text and v not in ("CT", "M")]
    assert not leaked
    import json

    as_json = json.dumps(report.to_record())
    assert json.loads(as_json)["counts"]["P"] == 2
    assert not [v for v in originals if v in as_json and v not in ("CT", "M")]


def test_unparsable_date_is_replaced_never_kept():
    ds = build_study()[0]
    ds.StudyDate = "2024-13-45"
    ds.AcquisitionDateTime = "yesterday"
    out = deid_all([ds])[0]
    assert out.StudyDate == "19000101"
    assert out.AcquisitionDateTime == "19000101000000"


def test_keep_tags_from_content_handlers():
    ds = build_study()[0]
    ds.ImageComments = "cleaned by the SR handler"
    out = roundtrip(copy.deepcopy(ds))
    deidentify_dataset(out, Profile(name="basic-only"), Keyring(KEY), keep_tags=frozenset({0x00204000}))
    assert out.ImageComments == "cleaned by the SR handler"
    out2 = roundtrip(copy.deepcopy(ds))
    deidentify_dataset(out2, Profile(name="basic-only"), Keyring(KEY))
    assert "ImageComments" not in out2  # Table E.1-1: X


def test_unreadable_element_raises_header_error():
    """A raw element pydicom cannot convert must become a HeaderError (quarantine), not a crash or a keep."""
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import Tag

    ds = build_study()[0]
    ds._dict[Tag(0x00180015)] = RawDataElement(Tag(0x00180015), "NONE", 4, b"ABCD", 0, False, True)
    with pytest.raises(HeaderError, match=r"\(0018,0015\)"):
        deidentify_dataset(ds, load_profile(), Keyring(KEY))


def test_identity_tokens():
    ds = build_study()[0]
    ds.OtherPatientIDsSequence = Sequence([Dataset()])
    ds.OtherPatientIDsSequence[0].PatientID = "OLD-998877"
    ident = Identity.from_dataset(ds)
    tokens = ident.tokens()
    assert {"Petraitis", "Jonas", "Jonas Petraitis", "Kazlauskas", "LT-123456", "OLD-998877", "ACC778899",
            "19700102", "1970-01-02", "02.01.1970", "Vilniaus klinika"} <= tokens
    assert ident.patient_key == "LT-123456"


def test_unlisted_instance_uids_are_remapped_unless_uids_are_retained():
    ds = build_study()[0]
    ds.CreatorVersionUID = "1.2.826.0.1.3680043.99.55"  # not in Table E.1-1
    kr = Keyring(KEY)
    out = deid_all([ds])[0]
    assert out.CreatorVersionUID == kr.uid("1.2.826.0.1.3680043.99.55")
    kept = deid_all([ds], profile=Profile(name="uids", options=("retain_uids",)))[0]
    assert kept.CreatorVersionUID == "1.2.826.0.1.3680043.99.55"
    assert kept.SOPInstanceUID == ds.SOPInstanceUID == kept.file_meta.MediaStorageSOPInstanceUID


def test_safe_private_list_from_yaml(tmp_path):
    path = tmp_path / "safe.yaml"
    path.write_text("extends: basic\noptions: [retain_safe_private]\n"
                    "safe_private:\n  - {group: '0009', creator: 'TEST', element: '01'}\n")
    profile = load_profile(path)
    assert profile.safe_private == (SafePrivate(0x0009, "TEST", 0x01),)
    ds = build_study()[0]
    ds.private_block(0x0009, "TEST", create=True).add_new(0x01, "DS", "1.5")
    out = deid_all([ds], profile=profile)[0]
    assert out[0x00091001].value == 1.5
    assert "113111" in [i.CodeValue for i in out.DeidentificationMethodCodeSequence]
