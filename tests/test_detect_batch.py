"""Batched inference: several tiles per session.run give exactly the boxes of one tile at a time; a model whose
batch is fixed at 1 refuses a larger batch by name; the batch comes from the sidecar or the run options."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pydicom
import pytest

from inference.detect.detector import DEFAULT_MODEL, ModelError, TextDetector, sha256_file
from inference.detect.tiling import crop_padded, tile_plan, to_rgb
from scale_fixtures import US_640x480


class CountingSession:
    """Wraps an ONNX Runtime session to count session.run calls and the batch sizes sent."""

    def __init__(self, session):
        self.session, self.batches = session, []

    def run(self, names, feeds):
        self.batches.append(next(iter(feeds.values())).shape[0])
        return self.session.run(names, feeds)

    def __getattr__(self, name):
        return getattr(self.session, name)


def _frames(shared_dicom):
    us = pydicom.dcmread(shared_dicom / US_640x480).pixel_array  # a real 640x480 colour ultrasound frame
    hd = np.zeros((1080, 1920), np.uint8)                          # a multi-tile frame with device-like text
    for i, (x, y) in enumerate([(40, 60), (1300, 60), (40, 1040), (900, 560)]):
        cv2.putText(hd, f"ZEMAITYTE G. 4870512012{i}  2024-01-1{i}", (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 230, 2)
    return [np.ascontiguousarray(us).astype(np.uint8), hd]


def test_the_committed_model_takes_a_dynamic_batch():
    import onnxruntime as ort
    shape = ort.InferenceSession(str(DEFAULT_MODEL), providers=["CPUExecutionProvider"]).get_inputs()[0].shape
    assert not isinstance(shape[0], int), f"batch dimension fixed: {shape}"


def test_batched_boxes_equal_unbatched_on_real_and_multi_tile_frames(shared_dicom):
    one, four = TextDetector(threads=2, batch=1), TextDetector(threads=2, batch=4)
    spy = four.session = CountingSession(four.session)
    for frame in _frames(shared_dicom):
        rgb = to_rgb(frame)
        for scale in (1.0, 0.5):
            a, b = one.detect_scale(rgb, scale), four.detect_scale(rgb, scale)
            assert np.array_equal(a, b)
        assert np.array_equal(one.detect(frame), four.detect(frame))   # the whole detector, second look included
    assert len(one.detect(_frames(shared_dicom)[1])) > 0                # the text is found: boxes are compared
    # the 1920x1080 frame is 8 tiles at native scale: sent as batches of 4, not one by one
    th, tw, starts = tile_plan(1080, 1920, four.settings.tile, four.settings.overlap, four.dynamic)
    assert len(starts) > 4 and max(spy.batches) == 4
    # and detect_tiles on a list of whole frames (what frame batching sends) equals one frame at a time
    tiles = [crop_padded(to_rgb(_frames(shared_dicom)[0]), 0, 0, 480, 640)] * 3
    assert all(np.array_equal(x, y) for x, y in zip(one.detect_tiles(tiles), four.detect_tiles(tiles)))


def _tiny_model(tmp_path, fixed_batch: bool):
    """A 1x1 convolution with a 5-channel head reshaped like the YOLO output (N, 5, H*W), with its sidecar."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(1)
    w = numpy_helper.from_array(rng.normal(0, 1, (5, 3, 1, 1)).astype(np.float32), "w")
    b = numpy_helper.from_array(np.array([16, 16, 8, 8, 0.6], np.float32), "b")
    shape = numpy_helper.from_array(np.array([0, 5, -1], np.int64), "shape")
    conv = helper.make_node("Conv", ["images", "w", "b"], ["c"])
    out = helper.make_node("Reshape", ["c", "shape"], ["output0"])
    n = 1 if fixed_batch else "batch"
    graph = helper.make_graph([conv, out], "tiny",
                              [helper.make_tensor_value_info("images", TensorProto.FLOAT, [n, 3, "h", "w"])],
                              [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [n, 5, "a"])],
                              [w, b, shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    path = tmp_path / ("fixed.onnx" if fixed_batch else "dynamic.onnx")
    onnx.save(model, path)
    path.with_suffix(".json").write_text(json.dumps({"settings": {"tile": 64, "overlap": 8, "conf": 0.2,
                                                                  "batch": 3}, "sha256": sha256_file(path)}))
    return path


def test_batching_plumbing_on_a_tiny_dynamic_graph_and_refusal_on_a_fixed_one(tmp_path):
    dyn = _tiny_model(tmp_path, fixed_batch=False)
    batched = TextDetector(dyn, threads=1)                 # batch 3 from the sidecar
    assert batched.batch == 3
    single = TextDetector(dyn, threads=1, batch=1)         # the run option overrides the sidecar
    spy = batched.session = CountingSession(batched.session)
    rgb = np.random.default_rng(2).integers(0, 255, (150, 200, 3), np.uint8)
    a, b = single.detect_scale(rgb), batched.detect_scale(rgb)
    assert len(a) > 0 and np.array_equal(a, b)
    assert spy.batches and max(spy.batches) == 3
    fixed = _tiny_model(tmp_path, fixed_batch=True)
    with pytest.raises(ModelError, match="fixed batch of 1 but batch=3"):
        TextDetector(fixed, threads=1)                     # the sidecar asks for 3: refused, not silently 1
    assert TextDetector(fixed, threads=1, batch=1).batch == 1
    with pytest.raises(ModelError, match="at least 1"):
        TextDetector(dyn, threads=1, batch=0)
