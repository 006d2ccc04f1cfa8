"""The exported model's formats: a C++ header for the ESPHome component, the same bytes as a versioned blob
with a CRC (for over-the-air updates), and a JSON manifest (for the component's code generation checks).
numpy only: this is the spec the C++ kernel and the component read.

Blob layout (little endian), version 3:
  magic "BMOE" | u16 blob version | u16 header bytes (16) | u32 payload bytes | u32 crc32(payload) | payload
Payload (these are the model bytes; `model_bytes` and the model hash are over them):
  u8 kernel version (2: raw features; 3: level-normalised features, reference/level_norm.py), u8 classes,
  u8 channels, u8 bands, u8 frames, u8 envelope bands, u16 frame,
  u32 sample rate, f32 logit scale, u8 w1 bits (8, 4 or 2), 32-byte feature digest, u8 length + model id,
  classes x (u8 length + name), then w1 ([out][k][band], packed at w1 bits: see `pack_w1`), t1 (i32),
  s1 (i8), w2 (u32 rows), t2, s2, w3, t3, s3, w4 (int8, [class][channel]), b4 (i32), margin thresholds (i32).
A binary row is one u32 per (out, k): input channel c is bit (31 - c). The C++ header stores the rows the way
the kernel XNORs them: u32, or u16 with channel c at bit (15 - c) for up to 16 channels.
The feature digest is the hash that ties the weights to their feature configuration.
The input's normalisation is the payload's kernel version rather than a new field: a model without it keeps
version 2 and its bytes (and hash), and a reader that only knows version 2 refuses a normalised model instead
of running it on raw features.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .features import FeatureConfig, twiddles_q15
from .network import KERNEL, IntegerModel

MAGIC = b"BMOE"
BLOB_VERSION = 3  # 3: the first layer's weight precision and its packed weights
KERNEL_VERSION = 3  # binmoe::kKernelVersion: the network topology and feature algorithm (3: level normalisation)
RAW_INPUT_KERNEL = 2  # a model's kernel version without level normalisation: it runs on kernels 2 and 3
LEVEL_NORM_KERNEL = 3  # a model's kernel version with it: kernel 3 and later only
HEADER_FORMAT = 4  # binmoe::kHeaderFormat: how the header lays the model out (not part of the model bytes)
_HEAD = struct.Struct("<BBBBBBHIfB")
W1_BITS = (8, 4, 2)


@dataclass(frozen=True)
class ModelInfo:
    """What a blob says about its model besides the weights."""

    model_id: str
    sample_rate: int
    frame: int
    frames: int
    bands: int
    envelope_bands: int


def pack_bits(w: NDArray[np.uint8]) -> NDArray[np.uint32]:
    """(C_out, C_in, K) bits -> u32 words, one per (o, k) row, input channel c at bit 31 - c."""
    rows = np.transpose(w, (0, 2, 1)).reshape(-1, w.shape[1]).astype(np.uint64)
    shifts = (31 - np.arange(w.shape[1])).astype(np.uint64)
    return (rows << shifts[None, :]).sum(axis=1).astype(np.uint32)


def unpack_bits(words: NDArray[np.uint32], channels: int) -> NDArray[np.uint8]:
    rows = (words[:, None].astype(np.uint64) >> (31 - np.arange(channels)).astype(np.uint64)[None, :]) & 1
    return np.transpose(rows.reshape(channels, KERNEL, channels), (0, 2, 1)).astype(np.uint8)


def w1_layout(w1: NDArray[np.int8]) -> NDArray[np.int8]:
    """[out][band][k] -> [out][k][band]: the kernel's inner loop then walks weights and features together."""
    return np.ascontiguousarray(np.transpose(w1, (0, 2, 1)))


def pack_w1(w1: NDArray[np.int8], bits: int) -> NDArray[np.uint8]:
    """First-layer weights (any shape, C order) at `bits` per weight: two's complement fields, 8 / bits per
    byte, the first weight in the lowest bits. Raises ValueError if a weight does not fit."""
    if bits not in W1_BITS:
        raise ValueError(f"w1 bits must be one of {W1_BITS}, not {bits}")
    flat = np.ravel(w1).astype(np.int64)
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if flat.size and (flat.min() < low or flat.max() > high):
        raise ValueError(f"w1: weights from {flat.min()} to {flat.max()} do not fit {bits} bits")
    per_byte = 8 // bits
    if flat.size % per_byte:
        raise ValueError(f"w1: {flat.size} weights do not fill whole bytes at {bits} bits")
    fields = (flat & ((1 << bits) - 1)).reshape(-1, per_byte)
    return (fields << (bits * np.arange(per_byte))[None, :]).sum(axis=1).astype(np.uint8)


def unpack_w1(packed: NDArray[np.uint8], bits: int, count: int) -> NDArray[np.int8]:
    """The inverse of `pack_w1` (flat, `count` weights)."""
    per_byte = 8 // bits
    fields = (packed.astype(np.int64)[:, None] >> (bits * np.arange(per_byte))[None, :]) & ((1 << bits) - 1)
    values = np.where(fields >= 1 << (bits - 1), fields - (1 << bits), fields).reshape(-1)
    return values[:count].astype(np.int8)


def quarter_sine_q15(n: int) -> NDArray[np.int32]:
    """round(32767 sin(2πk/n)) for k = 0..n/4: the kernel derives every twiddle from it (the full tables
    have exactly these symmetries; tests/node_factory checks it for every frame size)."""
    return twiddles_q15(n)[1][: n // 4 + 1]


@dataclass(frozen=True)
class KernelLayers:
    """The model's layers as the kernel's header stores them: each channel fires when acc >= threshold."""

    w1: NDArray[np.int8]  # [out][k][band]
    t1: NDArray[np.int32]
    w2: NDArray[np.uint32]  # packed rows
    t2: NDArray[np.int8]
    w3: NDArray[np.uint32]
    t3: NDArray[np.int8]


def kernel_layers(model: IntegerModel) -> KernelLayers:
    """Fold the batch-norm signs into the weights (sign * acc == acc of the sign-scaled weights; for a binary
    row, flipping its bits negates the XNOR dot) and narrow the binary thresholds to int8: |dot| <= 3 * 32,
    so clipping to [-128, 127] keeps every decision. A zero sign makes the channel constant."""
    for name, s in (("s1", model.s1), ("s2", model.s2), ("s3", model.s3)):
        if not np.isin(s, (-1, 0, 1)).all():
            raise ValueError(f"{name}: batch-norm signs must be -1, 0 or 1")
    w1 = model.w1.astype(np.int32) * model.s1.astype(np.int32)[:, None, None]
    limit = (1 << (model.w1_bits - 1)) - 1  # symmetric: a sign-folded weight must still fit
    if np.abs(w1).max(initial=0) > limit:
        raise ValueError(f"w1: a sign-folded weight leaves -{limit}..{limit} ({model.w1_bits} bits)")

    def binary(w: NDArray[np.uint8], t: NDArray[np.int32], s: NDArray[np.int8]) -> tuple[Any, Any]:
        flipped = np.where(s[:, None, None] < 0, 1 - w, w).astype(np.uint8)
        constant = np.where(t <= 0, -128, 127)  # sign 0: the channel fires iff 0 >= t
        thr = np.where(s == 0, constant, np.clip(t, -128, 127))
        return pack_bits(flipped), thr.astype(np.int8)

    w2, t2 = binary(model.w2, model.t2, model.s2)
    w3, t3 = binary(model.w3, model.t3, model.s3)
    return KernelLayers(w1_layout(w1.astype(np.int8)), model.t1.astype(np.int32), w2, t2, w3, t3)


def model_kernel_version(model: IntegerModel) -> int:
    """The kernel version a model needs (its payload's first byte): 3 with level normalisation, else 2."""
    return LEVEL_NORM_KERNEL if model.level_norm else RAW_INPUT_KERNEL


def payload(model: IntegerModel, config: FeatureConfig, model_id: str) -> bytes:
    n, c = len(model.classes), model.channels
    out = bytearray(
        _HEAD.pack(model_kernel_version(model), n, c, config.bands, config.frames, config.envelope_bands, config.frame,
                   config.sample_rate, model.logit_scale, model.w1_bits)
    )  # fmt: skip
    if model.feature_digest != config.digest():
        raise ValueError(f"model {model_id}: its feature digest does not match the feature configuration")
    out += bytes.fromhex(model.feature_digest)
    for name in (model_id, *model.classes):
        encoded = name.encode()
        if not 0 < len(encoded) < 256:
            raise ValueError(f"model {model_id}: name {name!r} must be 1..255 bytes")
        out += struct.pack("<B", len(encoded)) + encoded
    out += pack_w1(w1_layout(model.w1), model.w1_bits).tobytes() + model.t1.astype("<i4").tobytes()
    out += model.s1.astype("<i1").tobytes()
    for w, t, s in ((model.w2, model.t2, model.s2), (model.w3, model.t3, model.s3)):
        out += pack_bits(w).astype("<u4").tobytes() + t.astype("<i4").tobytes() + s.astype("<i1").tobytes()
    out += model.w4.astype("<i1").tobytes() + model.b4.astype("<i4").tobytes()
    out += model.margin_thresholds.astype("<i4").tobytes()
    return bytes(out)


def parse_payload(body: bytes) -> tuple[IntegerModel, ModelInfo]:
    """The inverse of `payload` (what an over-the-air loader does); raises ValueError on anything odd."""
    try:
        kernel, n, c, bands, frames, env, frame, rate, scale, w1_bits = _HEAD.unpack_from(body, 0)
        if kernel not in (RAW_INPUT_KERNEL, LEVEL_NORM_KERNEL):
            raise ValueError(f"model for kernel version {kernel}, this is version {KERNEL_VERSION}")
        if w1_bits not in W1_BITS:
            raise ValueError(f"first-layer weights of {w1_bits} bits (this reader: {W1_BITS})")
        pos = _HEAD.size
        digest = body[pos : pos + 32].hex()
        pos += 32
        names = []
        for _ in range(n + 1):
            length = body[pos]
            names.append(body[pos + 1 : pos + 1 + length].decode())
            pos += 1 + length

        def take(dtype: str, count: int) -> NDArray[Any]:
            nonlocal pos
            size = np.dtype(dtype).itemsize * count
            if pos + size > len(body):
                raise ValueError("payload ends early")
            values = np.frombuffer(body, dtype=dtype, count=count, offset=pos)
            pos += size
            return values

        count = c * KERNEL * bands
        w1 = unpack_w1(take("<u1", count * w1_bits // 8), w1_bits, count)
        w1 = np.transpose(w1.reshape(c, KERNEL, bands), (0, 2, 1)).astype(np.int8)
        t1, s1 = take("<i4", c).astype(np.int32), take("<i1", c).astype(np.int8)
        w2 = unpack_bits(take("<u4", c * KERNEL), c)
        t2, s2 = take("<i4", c).astype(np.int32), take("<i1", c).astype(np.int8)
        w3 = unpack_bits(take("<u4", c * KERNEL), c)
        t3, s3 = take("<i4", c).astype(np.int32), take("<i1", c).astype(np.int8)
        w4 = take("<i1", n * c).reshape(n, c).astype(np.int8)
        b4, margins = take("<i4", n).astype(np.int32), take("<i4", n).astype(np.int32)
    except (struct.error, IndexError, UnicodeDecodeError) as err:
        raise ValueError(f"malformed model payload ({type(err).__name__}: {err})") from err
    if pos != len(body):
        raise ValueError(f"payload has {len(body) - pos} bytes left over")
    model = IntegerModel(
        classes=tuple(names[1:]), w1=w1, t1=t1, s1=s1, w2=w2, t2=t2, s2=s2, w3=w3, t3=t3, s3=s3, w4=w4, b4=b4,
        margin_thresholds=margins, logit_scale=float(scale), feature_digest=digest,
        meta={"model_hash": hashlib.sha256(body).hexdigest(), "w1_bits": str(w1_bits)},
        level_norm=kernel == LEVEL_NORM_KERNEL,
    )  # fmt: skip
    return model, ModelInfo(names[0], rate, frame, frames, bands, env)


def blob(body: bytes) -> bytes:
    return MAGIC + struct.pack("<HHII", BLOB_VERSION, 16, len(body), zlib.crc32(body)) + body


def read_blob(data: bytes) -> bytes:
    """Validate a blob and return its payload; raises ValueError naming what is wrong."""
    if len(data) < 16 or data[:4] != MAGIC:
        raise ValueError("not a BinMoE model blob (bad magic)")
    version, header_bytes, size, crc = struct.unpack("<HHII", data[4:16])
    if version != BLOB_VERSION:
        raise ValueError(f"unsupported blob version {version} (this reader: {BLOB_VERSION})")
    body = data[header_bytes : header_bytes + size]
    if len(body) != size:
        raise ValueError(f"truncated blob: {len(body)} of {size} payload bytes")
    if zlib.crc32(body) != crc:
        raise ValueError("CRC mismatch: the blob is corrupt")
    return body


def load(path: Path) -> tuple[IntegerModel, ModelInfo]:
    """The model in a blob file (`sound_v1.bin`, a training run's); ValueError naming the file if it is not one."""
    try:
        return parse_payload(read_blob(path.read_bytes()))
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err


def _c_array(name: str, ctype: str, values: NDArray[Any]) -> str:
    body = ",".join(str(int(v)) for v in np.ravel(values))
    return f"alignas(4) inline constexpr {ctype} {name}[{values.size}] = {{{body}}};\n"


def header(model: IntegerModel, config: FeatureConfig, model_id: str) -> str:
    """A self-contained C++ header defining `binmoe::models::<stem>` (kModel and the first API's names)."""
    ns = model_id.replace("-", "_")
    c, n = model.channels, len(model.classes)
    names = ", ".join(f'"{cls}"' for cls in model.classes)
    layers = kernel_layers(model)
    model_hash = hashlib.sha256(payload(model, config, model_id)).hexdigest()
    digest32 = int(model.feature_digest[:8], 16)
    # binary rows: u16 (channel c at bit 15 - c) for up to 16 channels, else u32 (bit 31 - c)
    row_type, row_shift = ("uint16_t", 16) if c <= 16 else ("uint32_t", 0)
    parts = [
        f"// Generated by `python -m node_factory export` — do not edit. Model {model_id}.\n",
        "// Feature config: "
        + json.dumps({"sample_rate": config.sample_rate, "frame": config.frame, "frames": config.frames,
                      "bands": config.bands, "envelope_bands": config.envelope_bands})
        + "\n",
        '#pragma once\n#include <stdint.h>\n#include "binmoe_kernel.h"\n\n',
        f'static_assert(binmoe::kKernelVersion == {KERNEL_VERSION}, "{ns}.h was exported for BinMoE kernel '
        f'version {KERNEL_VERSION}");\n',
        f'static_assert(binmoe::kHeaderFormat == {HEADER_FORMAT}, "{ns}.h has model header format {HEADER_FORMAT}: '
        'export it again with this BinMoE version");\n\n',
        f"namespace binmoe {{ namespace models {{ namespace {ns} {{\n",
        f"inline constexpr int kClasses = {n};\ninline constexpr int kChannels = {c};\n",
        f"inline constexpr int kBands = {config.bands};\ninline constexpr int kFrames = {config.frames};\n",
        f"inline constexpr int kSampleRate = {config.sample_rate};\ninline constexpr int kFrame = {config.frame};\n",
        f"inline constexpr int kEnvelopeBands = {config.envelope_bands};\n",
        f'inline constexpr const char *kFeatureDigest = "{model.feature_digest}";\n',
        f'inline constexpr const char *kModelHash = "{model_hash}";\n',
        f'inline constexpr const char *kModelHash8 = "{model_hash[:8]}";\n',
        f'inline constexpr const char *kModelId = "{model_id}";\n',
        f"inline constexpr const char *kClassNames[kClasses] = {{{names}}};\n",
        f"inline constexpr int kW1Bits = {model.w1_bits};\n",
        "// the input's per-window level normalisation (node_factory/reference/level_norm.py)\n",
        f"inline constexpr bool kLevelNorm = {'true' if model.level_norm else 'false'};\n",
        "// batch-norm signs folded into the weights; binary-layer thresholds as int8 (model_format.kernel_layers);\n"
        "// kW1 packed at kW1Bits per weight (model_format.pack_w1)\n",
        _c_array("kW1", "int8_t", pack_w1(layers.w1, model.w1_bits).view(np.int8)),
        _c_array("kT1", "int32_t", layers.t1),
        _c_array("kW2", row_type, layers.w2 >> row_shift),
        _c_array("kT2", "int8_t", layers.t2),
        _c_array("kW3", row_type, layers.w3 >> row_shift),
        _c_array("kT3", "int8_t", layers.t3),
        _c_array("kW4", "int8_t", model.w4),
        _c_array("kB4", "int32_t", model.b4),
        _c_array("kMarginThresholds", "int32_t", model.margin_thresholds),
        f"inline constexpr float kLogitScale = {model.logit_scale!r}f;\n",
        _c_array("kBandEdges", "uint16_t", np.asarray(config.band_edges)),
        _c_array("kTwiddleQuarterSin", "int16_t", quarter_sine_q15(config.frame)),
        f"inline constexpr binmoe::FeatureConfig kFeatureConfig{{kSampleRate, kFrame, kFrames, kBands, "
        f"kEnvelopeBands, 0x{digest32:08x}u}};\n",
        "using Features = binmoe::FeatureExtractor<kFrame, kBands, kEnvelopeBands>;\n",
        "using Net = binmoe::Network<kBands, kFrames, kChannels, kClasses, kW1Bits>;\n",
        "inline constexpr Net::Weights kWeights{kW1, kT1, kW2, kT2, kW3, kT3, kW4, kB4, kMarginThresholds,"
        " kLevelNorm};\n",
        "using ModelType = binmoe::Model<kFrame, kFrames, kBands, kEnvelopeBands, kChannels, kClasses, kW1Bits>;\n",
        "inline constexpr ModelType kModel{kModelId, kModelHash8, kFeatureConfig, kClassNames, kWeights,"
        " kLogitScale, kBandEdges, kTwiddleQuarterSin};\n",
        f"}}}}}}  // namespace binmoe::models::{ns}\n",
    ]  # fmt: skip
    return "".join(parts)


def manifest(model: IntegerModel, config: FeatureConfig, model_id: str, family: str) -> dict[str, Any]:
    """What the ESPHome component's code generation needs to check a model against the configured input."""
    body = payload(model, config, model_id)
    stem = model_id.replace("-", "_")
    return {
        "format": "binmoe-model-manifest-v1",
        "model_id": model_id,
        "family": family,
        "kernel_version": model_kernel_version(model),
        "level_norm": model.level_norm,
        "header_format": HEADER_FORMAT,
        "header": f"{stem}.h",
        "namespace": f"binmoe::models::{stem}",
        "blob": f"{stem}.bin",
        "blob_version": BLOB_VERSION,
        "w1_bits": model.w1_bits,
        "model_bytes": len(body),
        "model_hash": hashlib.sha256(body).hexdigest(),
        "crc32": zlib.crc32(body),
        "classes": list(model.classes),
        "margin_thresholds": [int(v) for v in model.margin_thresholds],
        # thresholds for other escalation rates (not in the model bytes): the component's compile-time choice
        **({"margin_thresholds_by_rate": model.margin_thresholds_by_rate} if model.margin_thresholds_by_rate else {}),
        "logit_scale": model.logit_scale,
        "feature_digest": model.feature_digest,
        "feature_config": {
            "sample_rate": config.sample_rate,
            "frame": config.frame,
            "frames": config.frames,
            "bands": config.bands,
            "envelope_bands": config.envelope_bands,
            "f_min": config.f_min,
            "f_max": config.f_max,
            "env_f_min": config.env_f_min,
            "env_f_max": config.env_f_max,
            "band_edges": list(config.band_edges),
            "window_seconds": config.window_samples / config.sample_rate,
        },
    }


def files(model: IntegerModel, config: FeatureConfig, model_id: str, family: str) -> dict[str, bytes]:
    """All exported files of one model, by name; computed in full before anything is written."""
    stem = model_id.replace("-", "_")
    body = payload(model, config, model_id)
    return {
        f"{stem}.h": header(model, config, model_id).encode(),
        f"{stem}.bin": blob(body),
        f"{stem}.json": (json.dumps(manifest(model, config, model_id, family), indent=2) + "\n").encode(),
    }
