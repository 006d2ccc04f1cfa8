"""IMA ADPCM in Microsoft's WAV block layout (format tag 0x11, mono): a capture at 4 bits a sample.

A vibration node's shaft-order capture is raw samples (docs/protocol.md, "Fault identification in shaft
orders"). At 16 kHz a second of int16 samples is 32 KB, all the heap a node without PSRAM can spare, and the
analysis wants four (docs/vibration-baseline.md: the piezo node's 1 s capture identifies faults less well).
IMA ADPCM keeps four seconds in the same bytes; on the training generator's stress set it identifies faults
as the int16 capture does (`benchmarks/orders_dev.py --codec ima_adpcm`).

The block layout is the one WAV files use, so that any decoder of such files (sox, ffmpeg) reads a capture
too, and so that a ring of blocks can start anywhere: each block of BLOCK_BYTES starts with a header (the
block's first sample as int16 little-endian, the step index, a zero byte) and holds SAMPLES_PER_BLOCK - 1
more samples as 4-bit codes, two per byte, the earlier in the low nibble. The encoder restarts its predictor
from each block's first sample (so a block decodes alone) and carries its step index over. This module is
the reference the node's C++ encoder matches byte for byte; numpy only.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

BLOCK_BYTES = 256  # WAV's usual block for mono IMA ADPCM
HEADER_BYTES = 4
SAMPLES_PER_BLOCK = 1 + 2 * (BLOCK_BYTES - HEADER_BYTES)  # 505

# the IMA/DVI tables: how the step index moves after a code's magnitude, and the 89 step sizes
INDEX_SHIFT = (-1, -1, -1, -1, 2, 4, 6, 8)
STEPS = (
    7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45, 50, 55, 60, 66, 73, 80, 88, 97,
    107, 118, 130, 143, 157, 173, 190, 209, 230, 253, 279, 307, 337, 371, 408, 449, 494, 544, 598, 658, 724, 796,
    876, 963, 1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066, 2272, 2499, 2749, 3024, 3327, 3660, 4026, 4428,
    4871, 5358, 5894, 6484, 7132, 7845, 8630, 9493, 10442, 11487, 12635, 13899, 15289, 16818, 18500, 20350,
    22385, 24623, 27086, 29794, 32767,
)  # fmt: skip


def _step_delta(code: int, step: int) -> int:
    """The difference a code stands for: step/8 plus step, step/2 and step/4 for its three magnitude bits."""
    delta = step >> 3
    if code & 4:
        delta += step
    if code & 2:
        delta += step >> 1
    if code & 1:
        delta += step >> 2
    return -delta if code & 8 else delta


def _next(predictor: int, index: int, code: int) -> tuple[int, int]:
    predictor = min(32767, max(-32768, predictor + _step_delta(code, STEPS[index])))
    return predictor, min(88, max(0, index + INDEX_SHIFT[code & 7]))


def encode_sample(sample: int, predictor: int, index: int) -> tuple[int, int, int]:
    """One sample's 4-bit code and the encoder's next (predictor, index)."""
    diff, step, code = sample - predictor, STEPS[index], 0
    if diff < 0:
        code, diff = 8, -diff
    for bit in (4, 2, 1):
        if diff >= step:
            code |= bit
            diff -= step
        step >>= 1
    return (code, *_next(predictor, index, code))


def encode_block(samples: NDArray[np.int16], index: int) -> tuple[bytes, int]:
    """SAMPLES_PER_BLOCK samples -> one block, and the step index the next block starts with."""
    if len(samples) != SAMPLES_PER_BLOCK:
        raise ValueError(f"a block holds {SAMPLES_PER_BLOCK} samples, not {len(samples)}")
    first = int(samples[0])
    out = bytearray(first.to_bytes(2, "little", signed=True) + bytes([index, 0]))
    predictor, codes = first, []
    for sample in samples[1:]:
        code, predictor, index = encode_sample(int(sample), predictor, index)
        codes.append(code)
    out += bytes(lo | hi << 4 for lo, hi in zip(codes[0::2], codes[1::2], strict=True))
    return bytes(out), index


def encode(samples: NDArray[np.int16]) -> bytes:
    """Whole blocks of a stream (samples after the last whole block are left out), step index 0 at the start."""
    out, index = bytearray(), 0
    for start in range(0, len(samples) - SAMPLES_PER_BLOCK + 1, SAMPLES_PER_BLOCK):
        block, index = encode_block(samples[start : start + SAMPLES_PER_BLOCK], index)
        out += block
    return bytes(out)


def decode(data: bytes) -> NDArray[np.int16]:
    """Blocks -> int16 samples; ValueError for a length that is not whole blocks or a step index out of range."""
    if len(data) % BLOCK_BYTES:
        raise ValueError(f"{len(data)} bytes are not whole {BLOCK_BYTES}-byte IMA ADPCM blocks")
    out = np.empty(len(data) // BLOCK_BYTES * SAMPLES_PER_BLOCK, dtype=np.int16)
    for b in range(len(data) // BLOCK_BYTES):
        block = data[b * BLOCK_BYTES : (b + 1) * BLOCK_BYTES]
        predictor, index = int.from_bytes(block[:2], "little", signed=True), block[2]
        if index > 88:
            raise ValueError(f"block {b}: step index {index} is out of range (0-88)")
        at = b * SAMPLES_PER_BLOCK
        out[at] = predictor
        for k, byte in enumerate(block[HEADER_BYTES:]):
            for j, code in enumerate((byte & 15, byte >> 4)):
                predictor, index = _next(predictor, index, code)
                out[at + 1 + 2 * k + j] = predictor
    return out


def samples_in(byte_count: int) -> int:
    """Samples that byte_count bytes of whole blocks hold."""
    return byte_count // BLOCK_BYTES * SAMPLES_PER_BLOCK
