"""Write redacted frames back into the dataset per the encoding policy (encoding_policy.yaml).

- lossless input  -> the same syntax when pydicom has an encoder (RLE, JPEG-LS lossless,
  JPEG 2000 lossless, deflate), else Explicit VR Little Endian: never a lossy step.
- lossy input     -> Explicit VR Little Endian (default; no second generation loss) or, with
  PixelOptions.lossy_reencode, JPEG 2000 lossy; LossyImageCompression "01" with the ratio/method
  history kept and extended.
Frames are encoded one at a time (bounded memory); geometry attributes are never touched.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, encapsulate_extended
from pydicom.pixels import get_encoder, pack_bits
from pydicom.uid import (
    UID, DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian, JPEG2000, JPEG2000Lossless,
    JPEGLSLossless, JPEGLSNearLossless, RLELossless,
)

from inference.pixels.errors import PixelError
from inference.pixels.policy import lossy_reencode_rule, syntax_rule

NATIVE_SYNTAXES = {ExplicitVRLittleEndian, DeflatedExplicitVRLittleEndian}
# Encoder plugins tried in order. Never gdcm: its RLE encoder aborts the whole process
# (C++ exception "image_len % MaxNumSegments") on some frame sizes, which no try/except catches.
ENCODING_PLUGINS = {
    RLELossless: ("pylibjpeg", "pydicom"),
    JPEGLSLossless: ("pyjpegls",),
    JPEGLSNearLossless: ("pyjpegls",),
    JPEG2000Lossless: ("pylibjpeg",),
    JPEG2000: ("pylibjpeg",),
}


@dataclass(frozen=True)
class OutputPlan:
    """What the redacted object is written as."""

    transfer_syntax: str
    photometric: str
    input_lossy: bool
    lossy_method: str | None  # method term of the input's lossy step
    new_lossy_method: str | None = None  # set when we add a lossy step ourselves
    j2k_ratio: float | None = None


def plan_output(ds: Dataset, photometric: str, lossy_reencode: bool = False, j2k_ratio: float = 10.0) -> OutputPlan:
    """Decide output syntax/photometric for this dataset (pure: reads ds, changes nothing)."""
    uid = UID(ds.file_meta.TransferSyntaxUID)
    rule = syntax_rule(uid)
    output, new_method = rule.output, None
    if rule.lossy and lossy_reencode:
        output, new_method = lossy_reencode_rule()
    if int(ds.get("BitsAllocated", 8)) == 1:  # bit-packed data: only native syntaxes carry it
        output = ExplicitVRLittleEndian
    out_uid = UID(output)
    if out_uid not in NATIVE_SYNTAXES and not _has_plugin(out_uid):
        out_uid = ExplicitVRLittleEndian
    return OutputPlan(str(out_uid), _written_photometric(ds, photometric, out_uid), rule.lossy, rule.method,
                      new_method, j2k_ratio if new_method else None)


def _written_photometric(ds: Dataset, decoded: str, out_uid: UID) -> str:
    """YBR_RCT stays YBR_RCT when re-encoded as JPEG 2000 lossless (the encoder applies the RCT to the
    decoded RGB frames); everything else is written in the decoded colour space.

    WHY: some IODs (US Image) do not allow RGB with a JPEG 2000 syntax: changing YBR_RCT to RGB made
    dciodvfy report a new error on real ultrasound files.
    """
    stored = str(ds.get("PhotometricInterpretation", "")).strip()
    if stored == "YBR_RCT" and decoded == "RGB" and out_uid == JPEG2000Lossless:
        return "YBR_RCT"
    return decoded


def _has_plugin(uid: UID) -> bool:
    encoder = get_encoder(uid)
    return encoder.is_available and any(p in encoder.available_plugins for p in ENCODING_PLUGINS.get(uid, ()))


def _encode_kwargs(ds: Dataset, plan: OutputPlan) -> dict:
    kwargs = dict(
        rows=int(ds.Rows), columns=int(ds.Columns), number_of_frames=1,
        samples_per_pixel=int(ds.get("SamplesPerPixel", 1)), bits_allocated=int(ds.BitsAllocated),
        bits_stored=int(ds.BitsStored), pixel_representation=int(ds.get("PixelRepresentation", 0)),
        photometric_interpretation=plan.photometric, planar_configuration=0,
    )
    if plan.j2k_ratio:
        kwargs["j2k_cr"] = [plan.j2k_ratio]
    return kwargs


class FrameWriter:
    """Collects redacted frames (native bytes or encoded fragments) and finally writes them."""

    def __init__(self, ds: Dataset, plan: OutputPlan):
        self.ds, self.plan = ds, plan
        self.native = UID(plan.transfer_syntax) in NATIVE_SYNTAXES
        self.parts: list[bytes] = []
        self.bit_frames: list[np.ndarray] = []  # BitsAllocated 1: unpacked frames, packed together in finish
        self.encoder = None if self.native else get_encoder(UID(plan.transfer_syntax))
        self.kwargs = {} if self.native else _encode_kwargs(ds, plan)
        self.bits_allocated = int(ds.BitsAllocated)

    def add(self, frame: np.ndarray) -> None:
        """Append one redacted native frame (rows, cols[, 3])."""
        if self.native:
            if self.bits_allocated == 1:
                self.bit_frames.append(frame.astype(np.uint8).ravel())  # packed across frames at the end
            else:
                kind = "i" if frame.dtype.kind == "i" else "u"
                dtype = np.dtype(f"{kind}{self.bits_allocated // 8}").newbyteorder("<")
                self.parts.append(frame.astype(dtype, copy=False).tobytes())
            return
        errors = []
        if self.encoder is None:
            raise PixelError(f"no encoder for {UID(self.plan.transfer_syntax).name}")
        for plugin in ENCODING_PLUGINS.get(UID(self.plan.transfer_syntax), ()):
            if not self.encoder.is_available or plugin not in self.encoder.available_plugins:
                continue
            try:
                self.parts.append(self.encoder.encode(frame, encoding_plugin=plugin, **self.kwargs))
                return
            except Exception as exc:  # try the next plugin, then fail closed
                errors.append(f"{plugin}: {exc}")
        raise PixelError(f"cannot re-encode as {UID(self.plan.transfer_syntax).name}: "
                         f"{'; '.join(errors) or 'no encoder'}")

    def finish(self) -> None:
        """Replace PixelData, transfer syntax and colour attributes; keep/extend lossy history."""
        ds = self.ds
        for keyword in ("ExtendedOffsetTable", "ExtendedOffsetTableLengths"):
            if keyword in ds:
                delattr(ds, keyword)
        if self.native:
            if self.bits_allocated == 1:
                data = pack_bits(np.concatenate(self.bit_frames))
            else:
                data = b"".join(self.parts)
            if len(data) % 2:
                data += b"\x00"
            ds.PixelData = data
            ds["PixelData"].VR = "OW" if self.bits_allocated > 8 else "OB"
            ds["PixelData"].is_undefined_length = False
        else:
            total = sum(len(p) + 8 for p in self.parts)
            if total > 2**32 - 1:
                ds.PixelData, ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths = encapsulate_extended(self.parts)
            else:
                ds.PixelData = encapsulate(self.parts)
            ds["PixelData"].VR = "OB"
            ds["PixelData"].is_undefined_length = True
        self.parts, self.bit_frames = [], []
        ds.file_meta.TransferSyntaxUID = UID(self.plan.transfer_syntax)
        ds.PhotometricInterpretation = self.plan.photometric
        if int(ds.get("SamplesPerPixel", 1)) > 1:
            ds.PlanarConfiguration = _written_planar_configuration(ds, self.plan)
        _write_lossy_history(ds, self.plan)


def _written_planar_configuration(ds: Dataset, plan: OutputPlan) -> int:
    """RLE -> RLE keeps the input's PlanarConfiguration; everything else is written colour-by-pixel (0).

    WHY: RLE always stores one segment per sample, whatever the attribute says, so its value is descriptive
    only; but IODs constrain it (US Image: 1 for YBR_FULL), and changing 1 -> 0 made dciodvfy report a new error.
    """
    if UID(plan.transfer_syntax) == RLELossless:  # only ever written for RLE input (policy "same")
        return int(ds.get("PlanarConfiguration", 0) or 0)
    return 0


def _as_list(value) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, (str, float, int)):
        return [str(value)]
    return [str(v) for v in value]


def _write_lossy_history(ds: Dataset, plan: OutputPlan) -> None:
    """PS3.3 C.7.6.1.1.5: once lossy, always "01"; ratios/methods list every lossy step."""
    if not (plan.input_lossy or plan.new_lossy_method or str(ds.get("LossyImageCompression", "")) == "01"):
        return
    ds.LossyImageCompression = "01"
    methods = _as_list(ds.get("LossyImageCompressionMethod"))
    ratios = _as_list(ds.get("LossyImageCompressionRatio"))
    if plan.input_lossy and not methods and plan.lossy_method:
        methods = [plan.lossy_method]
    if plan.new_lossy_method:
        methods.append(plan.new_lossy_method)
        if plan.j2k_ratio:
            ratios.append(f"{plan.j2k_ratio:g}")
    if methods:
        ds.LossyImageCompressionMethod = methods if len(methods) > 1 else methods[0]
    if ratios:
        ds.LossyImageCompressionRatio = ratios if len(ratios) > 1 else ratios[0]


_SWAP_SIZES = {"OW": 2, "OL": 4, "OF": 4, "OD": 8, "OV": 8}


def convert_big_endian(ds: Dataset) -> bool:
    """Make a dataset read as Explicit VR Big Endian writable as little endian.

    WHY: pydicom refuses to change endianness on write. Numeric VRs are already parsed into
    Python values; only raw OW/OL/OF/OD/OV byte strings (e.g. palette LUT data) must be swapped.
    Returns True when a conversion was done.
    """
    if getattr(ds, "original_encoding", (None, None))[1] is not False:
        return False

    def walk(dataset: Dataset) -> None:
        for elem in dataset:  # iterating converts raw elements with the big endian reader
            if elem.VR == "SQ":
                for item in elem.value:
                    walk(item)
            elif elem.VR in _SWAP_SIZES and isinstance(elem.value, bytes) and elem.tag != 0x7FE00010:
                size = _SWAP_SIZES[elem.VR]
                usable = len(elem.value) - len(elem.value) % size
                swapped = np.frombuffer(elem.value[:usable], dtype=f">u{size}").astype(f"<u{size}").tobytes()
                elem.value = swapped + elem.value[usable:]
        dataset.set_original_encoding(None, None)

    walk(ds)
    return True
