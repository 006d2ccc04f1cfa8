"""Run Debian's convert_hf_to_gguf.py (llama.cpp-tools) from a sid root: `python gguf_convert.py ROOT ARGS...`.

A script, not an import: the converter and its gguf-py are loaded from the root, and the PyPI `gguf`
(older than Debian's converter) must not be imported first.
"""

from __future__ import annotations

import importlib.util
import runpy
import sys
from pathlib import Path

CONVERTER = "usr/share/doc/llama.cpp-tools/scripts/convert_hf_to_gguf.py"
CONVERSION_MODULES = "usr/share/llama.cpp/llama.cpp-tools"
GGUF_PACKAGE = "usr/lib/python3/dist-packages/gguf"


def convert(root: Path, argv: list[str]) -> None:
    # Only the root's gguf package, not its whole dist-packages (numpy there is built for another Python).
    package = root / GGUF_PACKAGE
    spec = importlib.util.spec_from_file_location(
        "gguf", package / "__init__.py", submodule_search_locations=[str(package)]
    )
    if spec is None or spec.loader is None:
        raise SystemExit(f"no gguf package in {package}")
    sys.modules["gguf"] = module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.path.insert(0, str(root / CONVERSION_MODULES))
    from conversion import base

    # Locally trained byte-level BPE tokenizers are unknown to the converter's hash table; their
    # pre-tokenizer is GPT-2's regex (the `tokenizers` ByteLevel default).
    base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "gpt-2"
    sys.argv = ["convert_hf_to_gguf.py", *argv]
    runpy.run_path(str(root / CONVERTER), run_name="__main__")


if __name__ == "__main__":
    convert(Path(sys.argv[1]), sys.argv[2:])
