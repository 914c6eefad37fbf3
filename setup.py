"""Build hook only (everything else is in pyproject.toml): the wheel carries the committed detector.

The one copy of the model in git is models/text_detector.onnx (+ .json), where training.export writes it; a built
package has no models/ beside it, so the build copies both files into the package as inference/models/, where
inference.resources.default_model() finds them through importlib.resources.
"""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

MODEL_FILES = ("text_detector.onnx", "text_detector.json")


class BuildWithModel(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads models/ in the checkout
        source = Path(__file__).resolve().parent / "models"
        target = Path(self.build_lib) / "inference" / "models"
        self.mkpath(str(target))
        for name in MODEL_FILES:
            if not (source / name).is_file():
                raise SystemExit(f"error: {source / name} is missing: the package would quarantine every image")
            self.copy_file(str(source / name), str(target / name))


setup(cmdclass={"build_py": BuildWithModel})
