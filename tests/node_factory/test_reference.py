"""node_factory.reference is the spec others read without the factory: importable with numpy alone, and its
format numbers are the C++ kernel's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from node_factory.reference import model_format

REPO = Path(__file__).parents[2]
KERNEL_HEADER = REPO / "esphome" / "components" / "binmoe" / "kernel" / "binmoe_kernel.h"

# Runs in a fresh interpreter in which every package beyond numpy and the standard library fails to import.
NUMPY_ONLY = """
import importlib, pkgutil, sys
BLOCKED = {"torch", "scipy", "tqdm", "matplotlib", "pyroomacoustics", "gpu_backend"}

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: the reference must not need it")
        return None

sys.meta_path.insert(0, Block())
try:
    import scipy
except ImportError:
    pass
else:
    raise SystemExit("the block does not work")
import node_factory.reference as reference
names = [m.name for m in pkgutil.iter_modules(reference.__path__)]
for name in names:
    importlib.import_module(f"node_factory.reference.{name}")
from node_factory.reference.features import FeatureConfig, features
import numpy as np
assert features(np.zeros(FeatureConfig().window_samples, np.int16), FeatureConfig()).shape == (32, 16)
print(" ".join(sorted(names)))
"""


def test_reference_imports_with_numpy_alone() -> None:
    done = subprocess.run([sys.executable, "-c", NUMPY_ONLY], capture_output=True, text=True, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr
    modules = ["alarm_code", "alarm_tone", "baseline", "bearings", "events", "features", "ima_adpcm", "level_norm",
               "model_format", "network", "orders", "router", "teacher_format"]  # fmt: skip
    assert done.stdout.split() == modules


def test_format_numbers_are_the_kernels() -> None:
    text = KERNEL_HEADER.read_text()

    def constant(name: str) -> int:
        match = re.search(rf"static constexpr int {name} = (\d+);", text)
        assert match is not None, name
        return int(match.group(1))

    assert constant("kHeaderFormat") == model_format.HEADER_FORMAT
    assert constant("kKernelVersion") == model_format.KERNEL_VERSION
