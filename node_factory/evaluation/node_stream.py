"""What a node does with a stream of samples, computed with the reference: features frame by frame, a window
every `hop_frames` frames, the integer network, the routing decision and the alarm event detector.

It is the kernel's streaming Pipeline (same frames, same windows) and the component's event detector, in
numpy: the evaluation runs hours of audio through it in minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..reference.events import EventDetector, EventRule
from ..reference.features import FeatureConfig, frame_features
from ..reference.network import IntegerModel, decide, forward

CHUNK_WINDOWS = 2048  # windows per forward() call: bounded memory for hours of audio


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
    """Features of every whole frame of a stream (n_frames x bands)."""
    n = len(samples) // config.frame
    return frame_features(samples[: n * config.frame].reshape(n, config.frame), config)


def window_features(frames: NDArray[np.int8], config: FeatureConfig, hop_frames: int) -> NDArray[np.int8]:
    """The stream's windows at the hop: rows i*hop .. i*hop + frames of the frame features."""
    count = (len(frames) - config.frames) // hop_frames + 1
    if count <= 0:
        return np.zeros((0, config.frames, frames.shape[1]), dtype=np.int8)
    index = np.arange(count)[:, None] * hop_frames + np.arange(config.frames)[None, :]
    return frames[index]


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
    """(class, window index) of each alarm event the node's detector reports over the stream."""
    detector = EventDetector(rules)
    out = []
    for index, top in enumerate(run.top):
        fired = detector.push(int(top))
        if fired is not None:
            out.append((fired, index))
    return out
