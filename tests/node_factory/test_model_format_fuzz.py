"""Model blobs from anywhere (an over-the-air update, a file on disk) are untrusted: random, truncated and
mutated bytes make `read_blob` and `parse_payload` raise ValueError, never anything else."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node_factory.reference.model_format import blob, load, parse_payload, read_blob

MODELS = Path(__file__).parents[2] / "esphome" / "components" / "binmoe" / "models"
BLOBS = {path.stem: path.read_bytes() for path in sorted(MODELS.glob("*.bin"))}
PAYLOADS = {stem: read_blob(data) for stem, data in BLOBS.items()}
FUZZ = settings(max_examples=400, deadline=None)


def _parsed_or_value_error(payload: bytes) -> None:
    try:
        model, info = parse_payload(payload)
    except ValueError as err:
        assert str(err)
    else:  # whatever it accepted is a whole model
        assert len(model.classes) == len(model.b4) and info.model_id


def test_the_shipped_blobs_parse() -> None:
    assert set(BLOBS) == {"sound_v1", "vibration_v1", "vibration_adc_v1"}
    for payload in PAYLOADS.values():
        parse_payload(payload)


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes(data: bytes) -> None:
    with pytest.raises(ValueError):
        read_blob(data)
    _parsed_or_value_error(data)


@FUZZ
@given(data=st.binary(max_size=64))
def test_random_bytes_after_the_magic(data: bytes) -> None:
    with pytest.raises(ValueError):
        read_blob(b"BMOE" + data)


@pytest.mark.parametrize("stem", sorted(BLOBS))
def test_every_truncation(stem: str) -> None:
    data, payload = BLOBS[stem], PAYLOADS[stem]
    for end in range(len(data)):
        with pytest.raises(ValueError):
            read_blob(data[:end])
    for end in range(len(payload)):
        with pytest.raises(ValueError):
            parse_payload(payload[:end])


@FUZZ
@given(
    stem=st.sampled_from(sorted(PAYLOADS)),
    edits=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=8),
    head_only=st.booleans(),
)
def test_mutated_payloads(stem: str, edits: list[tuple[int, int]], head_only: bool) -> None:
    """Byte changes anywhere, or only in the header and names (sizes, counts, versions, lengths): a payload
    whose blob has a valid CRC, so only `parse_payload` stands between it and the kernel."""
    payload = bytearray(PAYLOADS[stem])
    span = 80 if head_only else len(payload)
    for index, value in edits:
        payload[index % span] = value
    read_blob(blob(bytes(payload)))  # the CRC is right: the blob layer cannot catch it
    _parsed_or_value_error(bytes(payload))


@FUZZ
@given(stem=st.sampled_from(sorted(BLOBS)), index=st.integers(min_value=0), value=st.integers(1, 255))
def test_corrupted_blobs_are_refused(stem: str, index: int, value: int) -> None:
    """One flipped byte anywhere in a blob: refused (bad magic, version, size, header size or CRC)."""
    data = bytearray(BLOBS[stem])
    data[index % len(data)] ^= value
    with pytest.raises(ValueError):
        read_blob(bytes(data))


def test_load_reads_a_blob_file_and_names_a_bad_one(tmp_path: Path) -> None:
    model, info = load(MODELS / "sound_v1.bin")
    expected_model, expected_info = parse_payload(PAYLOADS["sound_v1"])
    assert model.meta["model_hash"] == expected_model.meta["model_hash"] and info == expected_info
    bad = tmp_path / "sound_v1.bin"
    bad.write_bytes(BLOBS["sound_v1"][:-30])
    with pytest.raises(ValueError, match=f"^{bad}: truncated blob"):
        load(bad)
