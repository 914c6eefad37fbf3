"""ONNX Runtime text-region detector: native-scale tiles, numpy NMS, safety margin. No torch/ultralytics."""
from inference.detect.detector import DEFAULT_MODEL, DetectorSettings, ModelError, TextDetector

__all__ = ["DEFAULT_MODEL", "DetectorSettings", "ModelError", "TextDetector"]
