"""What a node does with a stream of samples, computed with the reference: features frame by frame, a window
every `hop_frames` frames, the integer network, the routing decision, the alarm event detector and the
per-machine baseline's window signatures.

It is the kernel's streaming Pipeline (same frames, same windows) and the component's event detector, in
numpy: the evaluation runs hours of audio through it in minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..reference import alarm_tone
from ..reference.alarm_code import ALL_BANDS, AlarmCodeDetector
from ..reference.baseline import signature
from ..reference.events import EventDetector, EventRule
from ..reference.features import FeatureConfig, frame_features
from ..reference.network import IntegerModel, decide, forward

CHUNK_WINDOWS = 2048  # windows per forward() call: bounded memory for hours of audio
CHUNK_FRAMES = 20_000  # frames per frame_features() call (10.7 min of 16 kHz audio)


@dataclass(frozen=True)
class NodeDecisions:
    """Per window: top class, margin, escalated or not, and the time its last sample arrived (s)."""

    top: NDArray[np.int64]
    margin: NDArray[np.int64]
    escalate: NDArray[np.bool_]
    end_s: NDArray[np.float64]
    logits: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.top)


def stream_features(samples: NDArray[np.int16], config: FeatureConfig) -> NDArray[np.int8]:
    """Features of every whole frame of a stream (n_frames x bands), computed CHUNK_FRAMES at a time so that
    hours of audio take bounded memory (each frame's features depend on that frame alone)."""
    n = len(samples) // config.frame
    parts = [
        frame_features(
            samples[i * config.frame : min(i + CHUNK_FRAMES, n) * config.frame].reshape(-1, config.frame), config
        )
        for i in range(0, n, CHUNK_FRAMES)
    ]
    return np.concatenate(parts) if parts else np.zeros((0, config.bands), dtype=np.int8)


def window_features(frames: NDArray[np.int8], config: FeatureConfig, hop_frames: int) -> NDArray[np.int8]:
    """The stream's windows at the hop: rows i*hop .. i*hop + frames of the frame features."""
    count = (len(frames) - config.frames) // hop_frames + 1
    if count <= 0:
        return np.zeros((0, config.frames, frames.shape[1]), dtype=np.int8)
    index = np.arange(count)[:, None] * hop_frames + np.arange(config.frames)[None, :]
    return frames[index]


def stream_signatures(samples: NDArray[np.int16], config: FeatureConfig, hop_frames: int) -> NDArray[np.int32]:
    """The per-machine baseline's signature of every whole window of the stream (windows x bands)."""
    windows = window_features(stream_features(samples, config), config, hop_frames)
    return np.array([signature(w) for w in windows], dtype=np.int32).reshape(-1, config.bands)


def run_node(model: IntegerModel, config: FeatureConfig, samples: NDArray[np.int16], hop_frames: int) -> NodeDecisions:
    """The node's decision for every window of the stream (empty if it is shorter than one window)."""
    windows = window_features(stream_features(samples, config), config, hop_frames)
    return decisions(model, windows, config, hop_frames)


def decisions(model: IntegerModel, windows: NDArray[np.int8], config: FeatureConfig, hop_frames: int) -> NodeDecisions:
    logits = np.concatenate(
        [forward(model, windows[i : i + CHUNK_WINDOWS]) for i in range(0, len(windows), CHUNK_WINDOWS)]
        or [np.zeros((0, len(model.classes)), dtype=np.int64)]
    )
    top, margin, escalate = decide(model, logits)
    end = (np.arange(len(logits)) * hop_frames + config.frames) * config.frame / config.sample_rate
    return NodeDecisions(top, margin, escalate, end.astype(np.float64), logits)


def events(run: NodeDecisions, rules: tuple[EventRule, ...]) -> list[tuple[int, int]]:
    """(class, window index) of each alarm event the window rule reports: the windows' top classes."""
    return _events([int(top) for top in run.top], rules)


def code_windows(
    frames: NDArray[np.int8],
    config: FeatureConfig,
    hop_frames: int,
    code_classes: tuple[int, int],
    tone: NDArray[np.int8] | None = None,
    tone_bands: NDArray[np.uint16] | None = None,
) -> list[int]:
    """Per window, the class whose temporal code completed in the frames that window added (T3 ->
    `code_classes[0]`, T4 -> `code_classes[1]`), or -1: the node feeds its code detector each window's new
    frames (all of the first window's, then `hop_frames`) before routing it. `tone`: per frame, whether the
    tone-following T3/T4 detector (`alarm_tone: true`, reference/alarm_tone.py) completed a code in it; a window
    without a code of the band detector takes its code (the node's component does the same). `tone_bands`: per
    frame, the bands where that detector follows a tone (the band detector's T4 needs one; None: no detector)."""
    detector = AlarmCodeDetector(frames.shape[1])
    count = max(0, (len(frames) - config.frames) // hop_frames + 1)
    out, fed = [], 0
    for index in range(count):
        end = index * hop_frames + config.frames
        found = 0
        for f in range(fed, end):
            code = detector.push(frames[f], ALL_BANDS if tone_bands is None else int(tone_bands[f]))
            found = found or code
        if not found and tone is not None:
            heard = tone[fed:end][tone[fed:end] > 0]
            found = int(heard[0]) if len(heard) else 0
        fed = end
        out.append(code_classes[found - 1] if found else -1)
    return out


@dataclass(frozen=True)
class ToneOptions:
    """The sound node's tone-detector options (docs/esphome.md), on by default as on the node."""

    # `alarm_tone` (`smoke_tone` until 2026-12-05): the tone-following T3/T4 detector feeds the smoke and CO events
    # together with the band-level code detector (on since 2026-12-04, when it met the rule fixed for it:
    # docs/node-model.md, "Following the tone")
    alarm_tone: bool = True
    # `co_tone`: the tone detector's T4 path (since 2026-12-05)
    co_tone: bool = True
    # `alarm_pitch`: the tone detector's codes count only on a smoke or CO sounder's pitch (since 2026-12-07)
    alarm_pitch: bool = True


def tone_feed(
    samples: NDArray[np.int16], config: FeatureConfig, options: ToneOptions
) -> tuple[NDArray[np.int8] | None, NDArray[np.uint16] | None]:
    """What the node's tone detector (`alarm_tone`, reference/alarm_tone.py) hands on, per frame: the code it
    completes (`code_windows`' `tone`) and, with its T4 path (`co_tone`), the bands it follows a tone in, which the
    band detector's T4 then needs (`tone_bands`; None without that path: it holds no tone through T4's silence).
    With `alarm_pitch`, codes and bands only of tones at a smoke or CO sounder's pitch. (None, None) without the
    detector."""
    if not options.alarm_tone:
        return None, None
    edges = config.band_edges if options.co_tone else None
    detector = alarm_tone.AlarmToneDetector(t4=options.co_tone, pitch_gate=options.alarm_pitch)
    tone, bands = alarm_tone.detect_audio_bands(samples, detector, edges)
    return tone, bands if options.co_tone else None


def routed_windows(
    model: IntegerModel, config: FeatureConfig, samples: NDArray[np.int16], hop_frames: int,
    code_classes: tuple[int, int], options: ToneOptions,
) -> tuple[NodeDecisions, list[tuple[int, bool, int]]]:  # fmt: skip
    """The node's decision for every window and what its router is handed per window: (top class, escalate,
    class whose code completed or -1), the input of `reference.router.route_codes`. One feature pass feeds both
    the network and the code detectors (the tone detector too, as `options` set it)."""
    frames = stream_features(samples, config)
    run = decisions(model, window_features(frames, config, hop_frames), config, hop_frames)
    tone, bands = tone_feed(samples, config, options)
    codes = code_windows(frames, config, hop_frames, code_classes, tone, bands)
    if len(codes) != len(run):
        raise ValueError(f"{len(codes)} code windows against {len(run)} classified windows")
    return run, [(int(c), bool(e), int(code)) for c, e, code in zip(run.top, run.escalate, codes, strict=True)]


def code_events(
    frames: NDArray[np.int8], config: FeatureConfig, hop_frames: int, code_classes: tuple[int, int],
    rules: tuple[EventRule, ...], tone: NDArray[np.int8] | None = None, tone_bands: NDArray[np.uint16] | None = None,
) -> list[tuple[int, int]]:  # fmt: skip
    """(class, window index) of each alarm event when the code detector drives the event rules (the node's
    default for a model with smoke/CO classes); `tone` and `tone_bands` as for `code_windows` (one event for one
    alarm, whichever detector heard it)."""
    return _events(code_windows(frames, config, hop_frames, code_classes, tone, tone_bands), rules)


def _events(classes: list[int], rules: tuple[EventRule, ...]) -> list[tuple[int, int]]:
    detector = EventDetector(rules)
    out = []
    for index, c in enumerate(classes):
        fired = detector.push(c)
        if fired is not None:
            out.append((fired, index))
    return out
