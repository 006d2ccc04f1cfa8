"""The capture codec's reference (node_factory.reference.ima_adpcm): IMA ADPCM in WAV's mono block layout."""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path

import numpy as np
import pytest

from node_factory.reference import ima_adpcm as ia
from tests.node_factory.source_constants import source_constants

ROOT = Path(__file__).resolve().parents[2]


def _signal(blocks: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(blocks * ia.SAMPLES_PER_BLOCK)
    return (8000 * np.sin(2 * np.pi * 440 * t / 16000) + rng.normal(0, 500, t.size)).astype(np.int16)


def test_blocks_are_wavs_layout_and_decode_close_to_the_samples() -> None:
    x = _signal(3)
    data = ia.encode(np.concatenate([x, x[:100]]))  # samples after the last whole block are left out
    assert len(data) == 3 * ia.BLOCK_BYTES and ia.SAMPLES_PER_BLOCK == 505 and ia.samples_in(len(data)) == x.size
    first = data[ia.BLOCK_BYTES : ia.BLOCK_BYTES + 4]
    assert int.from_bytes(first[:2], "little", signed=True) == x[ia.SAMPLES_PER_BLOCK] and first[3] == 0
    y = ia.decode(data)
    assert y[0] == x[0] and y[ia.SAMPLES_PER_BLOCK] == x[ia.SAMPLES_PER_BLOCK]  # each block restarts exactly
    snr = 10 * np.log10(np.mean(x.astype(float) ** 2) / np.mean((x.astype(float) - y) ** 2))
    assert snr > 20


def test_a_block_decodes_alone_as_in_its_stream() -> None:
    data = ia.encode(_signal(4, seed=2))
    whole = ia.decode(data)
    second = ia.decode(data[ia.BLOCK_BYTES : 2 * ia.BLOCK_BYTES])
    assert np.array_equal(second, whole[ia.SAMPLES_PER_BLOCK : 2 * ia.SAMPLES_PER_BLOCK])


def test_full_scale_steps_stay_in_range() -> None:
    x = np.tile(np.array([32767, -32768], np.int16), ia.SAMPLES_PER_BLOCK)[: 2 * ia.SAMPLES_PER_BLOCK]
    y = ia.decode(ia.encode(x))
    assert y.dtype == np.int16 and int(np.abs(y.astype(int)).max()) <= 32768
    assert max(b for b in ia.encode(x)[2 :: ia.BLOCK_BYTES]) <= 88


def test_bad_blocks_are_refused_by_reason() -> None:
    with pytest.raises(ValueError, match="not whole 256-byte IMA ADPCM blocks"):
        ia.decode(bytes(100))
    damaged = bytearray(ia.encode(_signal(1)))
    damaged[2] = 89
    with pytest.raises(ValueError, match="block 0: step index 89 is out of range"):
        ia.decode(bytes(damaged))
    with pytest.raises(ValueError, match="a block holds 505 samples"):
        ia.encode_block(np.zeros(10, np.int16), 0)


def test_the_codes_are_the_ima_standards_as_pythons_audioop_writes_them() -> None:
    """An independent implementation: CPython's audioop (removed in 3.13) encodes the same IMA/DVI codes (it
    packs the earlier sample in the high nibble and writes no block header) and decodes them to the same
    samples."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            audioop = importlib.import_module("audioop")
        except ImportError:
            pytest.skip("this Python has no audioop (removed in 3.13)")
    x = _signal(3, seed=3)
    data, index = ia.encode(x), 0
    for b in range(3):
        block = x[b * ia.SAMPLES_PER_BLOCK : (b + 1) * ia.SAMPLES_PER_BLOCK]
        theirs, (_, index) = audioop.lin2adpcm(block[1:].astype("<i2").tobytes(), 2, (int(block[0]), index))
        ours = data[b * ia.BLOCK_BYTES + ia.HEADER_BYTES : (b + 1) * ia.BLOCK_BYTES]
        assert [c for byte in theirs for c in (byte >> 4, byte & 15)] == [
            c for byte in ours for c in (byte & 15, byte >> 4)
        ]
        decoded, _ = audioop.adpcm2lin(theirs, 2, (int(block[0]), data[b * ia.BLOCK_BYTES + 2]))
        assert np.array_equal(
            np.frombuffer(decoded, "<i2"),
            ia.decode(data)[b * ia.SAMPLES_PER_BLOCK + 1 : (b + 1) * ia.SAMPLES_PER_BLOCK],
        )


@pytest.mark.parametrize(
    "source", ["custom_components/binmoe/protocol.py", "esphome/components/binmoe/__init__.py"], ids=["hass", "esphome"]
)
def test_home_assistant_and_the_esphome_component_size_an_ima_adpcm_capture_by_the_references_block(
    source: str,
) -> None:
    """Neither can import node_factory; their copies of the block's size are held to it here (the node's C++ by
    test_adpcm_node.py, byte for byte)."""
    found = source_constants(ROOT / source, {"ADPCM_BLOCK_BYTES", "ADPCM_BLOCK_SAMPLES"})
    assert found == {"ADPCM_BLOCK_BYTES": ia.BLOCK_BYTES, "ADPCM_BLOCK_SAMPLES": ia.SAMPLES_PER_BLOCK}
