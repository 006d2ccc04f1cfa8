"""The Python reference of what a host node must send for a replayed clip (node_factory.reference is the spec):
the windows it classifies and the routing of them into messages (alarm events included)."""

from __future__ import annotations

import json
import wave
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from node_factory.evaluation.node_stream import code_windows, stream_features, tone_feed
from node_factory.reference import model_format
from node_factory.reference.events import EventDetector, EventRule
from node_factory.reference.features import FeatureConfig, features
from node_factory.reference.network import IntegerModel, confidence, decide, forward

MODELS = Path(__file__).resolve().parents[2] / "esphome" / "components" / "binmoe" / "models"


@dataclass(frozen=True)
class Window:
    class_idx: int
    scores: list[int]
    margin: int
    escalate: bool
    confidence: float
    features: NDArray[np.int8]
    code: int = 0  # the temporal code (1 = T3, 2 = T4) that completed in the frames this window added


def load_model(stem: str) -> tuple[IntegerModel, FeatureConfig, dict]:
    manifest = json.loads((MODELS / f"{stem}.json").read_text())
    model, _info = model_format.parse_payload(model_format.read_blob((MODELS / f"{stem}.bin").read_bytes()))
    fc = manifest["feature_config"]
    cfg = FeatureConfig(**{k: v for k, v in fc.items() if k in FeatureConfig.__dataclass_fields__})
    assert cfg.digest() == manifest["feature_digest"], "manifest and reference feature config differ"
    return model, cfg, manifest


def windows(
    model: IntegerModel, cfg: FeatureConfig, wav: Path, hop_frames: int, alarm_tone: bool = True, co_tone: bool = True
) -> list[Window]:
    """The windows a freshly reset node classifies for this clip: every hop after the first full window.
    `alarm_tone`: the node's option (on by default): the tone detector's codes count too, and with `co_tone` (its
    T4 path, on by default) the band detector's T4 needs a tone it follows."""
    with wave.open(str(wav), "rb") as f:
        samples = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    samples = samples.astype(np.int16)
    n_frames = len(samples) // cfg.frame
    # the code each window's new frames complete (1 T3, 2 T4, -1 none), as the component feeds its detectors
    tone, tone_bands = tone_feed(samples, cfg, co_tone) if alarm_tone else (None, None)
    codes = code_windows(stream_features(samples, cfg), cfg, hop_frames, (1, 2), tone, tone_bands)
    out = []
    for index, end in enumerate(range(cfg.frames, n_frames + 1, hop_frames)):
        window = samples[(end - cfg.frames) * cfg.frame : end * cfg.frame]
        feats = features(window, cfg)
        logits = forward(model, feats[None])
        pred, margin, escalate = decide(model, logits)
        conf = confidence(logits, model.logit_scale)
        out.append(Window(int(pred[0]), [int(v) for v in logits[0]], int(margin[0]), bool(escalate[0]),
                          float(conf[0]), feats, max(codes[index], 0)))  # fmt: skip
    return out


@dataclass(frozen=True)
class Report:
    """A message the node sends for a window: its kind, and the event fields when it reports an alarm event."""

    window: int
    kind: str  # detection | escalation
    event_windows: int | None = None
    event_span: int | None = None  # windows
    event_start: bool = False  # the event starts with this window (else a repeat, or no event)
    code_class: int | None = None  # an event recognised by its temporal code: its class (route_codes)
    alarm_active: bool | None = None  # one of the node's alarm events goes on (None: a node without rules)


def route(
    windows: list[tuple[int, bool]],
    rules: tuple[EventRule, ...],
    reported: set[int],
    interval_ms: int,
    hop_ms: int,
    first_ms: int = 0,
) -> list[Report]:
    """The component's routing (binmoe_router.cpp) of (class, escalate) windows `hop_ms` apart, the first at
    `first_ms` of stream time, for a node whose escalation limit is never reached and nothing forced: an
    escalation whenever the margin is low, a detection of a `reported` class at most once per `interval_ms`,
    and a class with an event rule reported only when its event starts and, while it goes on, again after
    each interval."""
    detector = EventDetector(rules)
    spans = {rule.class_idx: rule.span for rule in rules}
    last: dict[int, int] = {}
    out = []
    for i, (c, escalate) in enumerate(windows):
        t = first_ms + i * hop_ms
        fired = detector.push(c)
        active = _alarm_active(detector, rules)
        if c in spans:
            start = fired == c
            report = start or (detector.active(c) and (c not in last or t - last[c] >= interval_ms))
            if report:
                last[c] = t
                kind = "escalation" if escalate else "detection" if c in reported else None
                if kind is not None:
                    out.append(Report(i, kind, detector.count(c), spans[c], start, alarm_active=active))
        elif (plain := _plain_report(i, c, escalate, t, reported, last, interval_ms)) is not None:
            out.append(replace(plain, alarm_active=active))
    return out


def _alarm_active(detector: EventDetector, rules: tuple[EventRule, ...]) -> bool | None:
    """The protocol's `alarm_active`: whether an event of any rule goes on (None without rules)."""
    return any(detector.active(rule.class_idx) for rule in rules) if rules else None


def _plain_report(
    i: int, c: int, escalate: bool, t: int, reported: set[int], last: dict[int, int], interval_ms: int
) -> Report | None:
    """A window of a class without an event rule: an escalation when its margin is low, else a detection of a
    `reported` class at most once per `interval_ms` (`last`: when each class was last reported, updated)."""
    if escalate:
        return Report(i, "escalation")
    if c in reported and (c not in last or t - last[c] >= interval_ms):
        last[c] = t
        return Report(i, "detection")
    return None


def route_codes(
    windows: list[tuple[int, bool, int]],
    rules: tuple[EventRule, ...],
    reported: set[int],
    interval_ms: int,
    hop_ms: int,
) -> list[Report]:
    """The router with code events (binmoe_router.cpp, set_code_classes) for (class, escalate, code class or -1)
    windows: the event rules count windows whose code completed; an event's start, or a repeat of an event that
    goes on once its interval has passed, is what a window reports (a detection of the code's class, whatever
    the window's top class); otherwise a window is routed as before, except that a window of an alarm class
    alone is never reported."""
    detector = EventDetector(rules)
    spans = {rule.class_idx: rule.span for rule in rules}
    last: dict[int, int] = {}
    out = []
    for i, (c, escalate, code) in enumerate(windows):
        t = i * hop_ms
        fired = detector.push(code)
        active = _alarm_active(detector, rules)
        event = fired
        for rule in rules if event is None else ():
            k = rule.class_idx
            if detector.active(k) and (k not in last or t - last[k] >= interval_ms):
                event = k
                break
        if event is not None:
            last[event] = t
            if event in reported:
                out.append(Report(i, "detection", detector.count(event), spans[event], fired == event, event, active))
        elif c in spans:
            continue
        elif (plain := _plain_report(i, c, escalate, t, reported, last, interval_ms)) is not None:
            out.append(replace(plain, alarm_active=active))
    return out
