"""Check the profiles' MoE arithmetic on a real GPU with random weights: only PyTorch + transformers, no hub.

For each architecture the GPU profiles use (gpt-oss-20b) and the next candidate (Qwen3-30B-A3B), a
RANDOM-WEIGHT bf16 model is built on the GPU from the published config (transformers config classes),
then: parameter count vs the profile's params_b, KV-cache bytes per token vs kv_bytes_per_token,
decode tokens/s at batch 1 and 4 (transformers' eager generate, greedy, fixed length) and peak GPU memory.

What it does not measure: the served quantized weights (MXFP4 / 4-bit) and vLLM's or llama.cpp's
kernels: bf16 weights here are ~3x the MXFP4 checkpoint, and eager transformers decodes far slower than
an engine. It checks the shapes and the arithmetic, and gives a floor for speed. Random weights: no
quality claim.

Usage (on a machine with a CUDA GPU, ~3-6 min on one 80+ GB card; never part of CI):
    python benchmarks/gpu_moe.py [--models gpt-oss-20b,qwen3-30b-a3b] [--layers N] [--out result.json]
`--layers N` cuts every model to N layers (for smaller cards; per-layer numbers are scaled back up).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from typing import Any

import torch
import transformers

# Published configs (config.json of openai/gpt-oss-20b and Qwen/Qwen3-30B-A3B), with the numbers
# gpu_backend/data/profiles.toml uses for them.
ARCHITECTURES: dict[str, dict[str, Any]] = {
    "gpt-oss-20b": {
        "config_class": "GptOssConfig",
        "config": {
            "num_hidden_layers": 24, "hidden_size": 2880, "intermediate_size": 2880, "num_local_experts": 32,
            "num_experts_per_tok": 4, "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 64,
            "vocab_size": 201088, "sliding_window": 128, "max_position_embeddings": 131072,
            "layer_types": ["sliding_attention", "full_attention"] * 12, "tie_word_embeddings": False,
        },
        "profile_params_b": 20.9,
        "profile_kv_bytes_per_token": 49152,
    },
    "qwen3-30b-a3b": {
        "config_class": "Qwen3MoeConfig",
        "config": {
            "num_hidden_layers": 48, "hidden_size": 2048, "intermediate_size": 6144, "moe_intermediate_size": 768,
            "num_experts": 128, "num_experts_per_tok": 8, "num_attention_heads": 32, "num_key_value_heads": 4,
            "head_dim": 128, "vocab_size": 151936, "max_position_embeddings": 40960, "norm_topk_prob": True,
            "tie_word_embeddings": False,
        },
        "profile_params_b": 30.5,
        "profile_kv_bytes_per_token": 98304,
    },
}  # fmt: skip


def cache_bytes(cache: Any) -> int:
    """Bytes held by a transformers cache object (DynamicCache layers' keys and values)."""
    total = 0
    for layer in getattr(cache, "layers", []):
        for tensor in (getattr(layer, "keys", None), getattr(layer, "values", None)):
            if isinstance(tensor, torch.Tensor):
                total += tensor.numel() * tensor.element_size()
    return total


def measure(name: str, layers: int | None, tokens: int, prompt_len: int, device: str) -> dict[str, Any]:
    spec = ARCHITECTURES[name]
    values = dict(spec["config"])
    full_layers = values["num_hidden_layers"]
    if layers:
        values["num_hidden_layers"] = layers
        if "layer_types" in values:
            values["layer_types"] = values["layer_types"][:layers]
    config = getattr(transformers, spec["config_class"])(**values)
    torch.manual_seed(0)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    with torch.device(device):
        model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)  # type: ignore[no-untyped-call]
        model.eval()
    build_s = time.perf_counter() - started
    params = sum(p.numel() for p in model.parameters())
    weights_gib = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**30
    scale = full_layers / values["num_hidden_layers"]
    layer_params = sum(p.numel() for p in model.model.layers.parameters())
    result: dict[str, Any] = {
        "model": name,
        "random_weights": True,
        "layers": values["num_hidden_layers"],
        "build_s": round(build_s, 1),
        "params_b": round(params / 1e9, 3),
        "params_b_at_full_depth": round((params + layer_params * (scale - 1)) / 1e9, 2),
        "weights_bf16_gib": round(weights_gib, 2),
        "profile_params_b": spec["profile_params_b"],
        "decode": [],
    }
    for batch in (1, 4):
        ids = torch.randint(0, values["vocab_size"], (batch, prompt_len), device=device)
        with torch.inference_mode():
            model.generate(ids, max_new_tokens=2, min_new_tokens=2, do_sample=False)  # warm-up
            if device == "cuda":
                torch.cuda.synchronize()
            started = time.perf_counter()
            out = model.generate(ids, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False,
                                 return_dict_in_generate=True)  # fmt: skip
            if device == "cuda":
                torch.cuda.synchronize()
        seconds = time.perf_counter() - started
        kv = cache_bytes(out.past_key_values)
        seq = prompt_len + tokens - 1  # the last generated token is never fed back, so never cached
        result["decode"].append({
            "batch": batch,
            "tokens_per_s_per_sequence": round(tokens / seconds, 1),
            "tokens_per_s_total": round(batch * tokens / seconds, 1),
            # measured cache per token and sequence, scaled to the full layer count
            "kv_bytes_per_token": round(kv / batch / seq * scale) if kv else None,
        })  # fmt: skip
    result["profile_kv_bytes_per_token"] = spec["profile_kv_bytes_per_token"]
    if device == "cuda":
        result["peak_gpu_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(ARCHITECTURES))
    parser.add_argument("--layers", type=int, default=0, help="cut every model to this many layers (0: all)")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--prompt-len", type=int, default=256)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", help="also write the results to this JSON file")
    args = parser.parse_args()
    header = {
        "device": torch.cuda.get_device_name(0) if args.device == "cuda" else f"CPU ({platform.machine()})",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }
    results = []
    for name in args.models.split(","):
        results.append(measure(name, args.layers or None, args.tokens, args.prompt_len, args.device))
        print(json.dumps(results[-1]), flush=True)
    report = {**header, "results": results}
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
