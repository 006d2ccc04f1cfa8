"""Learning on, simulated with the integer reference (issue #15, training generator only; not adopted).

After the baseline is ready, windows that look healthy keep joining its moments and the model is refit, so
that healthy states the 10-minute baseline saw only in passing stop looking like faults. The node does not
do this: on the dev machines it cost more faults flagged than it saved false anomalies
(docs/vibration-baseline.md, "Learning on"). The arithmetic is the node's (int64 moments, the reference's
`_Moments.model()`), so an adopted version would port as it stands.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from node_factory.reference.baseline import MAX_WINDOWS, AnomalyDetector, BaselineLearner, _Moments


@dataclass(frozen=True)
class LearnOnPolicy:
    gate_q4: int = 12  # a window joins when score * 16 < threshold * gate_q4 (12: the anomaly's exit level, 3/4)
    refit_windows: int = 64  # the model is refit from the moments after this many joined windows
    cap_windows: int = 4096  # the moments are halved when their count reaches this: old states fade
    mean_only: bool = False  # refit only the mean (follow drift), keep the baseline's covariance

    def __post_init__(self) -> None:
        if not (0 < self.gate_q4 <= 16 and self.refit_windows > 0 and 2 <= self.cap_windows <= MAX_WINDOWS):
            raise ValueError(f"learning on needs a gate in 1..16, a refit > 0 and a cap in 2..{MAX_WINDOWS}")


def halve(moments: _Moments) -> None:
    """Halve the count and every sum (floored, like an arithmetic shift on the node): mean and covariance stay,
    and what joins from now on weighs twice as much as what came before. Keeps n * sum(v^2) inside int64."""
    moments.n >>= 1
    moments.s = [v >> 1 for v in moments.s]
    moments.ss = [v >> 1 for v in moments.ss]


@dataclass
class LearningOn:
    """Keeps a detector's baseline following healthy running: a window joins the baseline's moments only while
    no anomaly is active and its score is below the gate; every `refit_windows` joined windows the model is
    refit from them (the threshold stays as learnt); at `cap_windows` the moments are halved."""

    policy: LearnOnPolicy
    detector: AnomalyDetector
    moments: _Moments
    joined: int = 0
    refits: int = 0

    @classmethod
    def after(cls, policy: LearnOnPolicy, learner: BaselineLearner, detector: AnomalyDetector) -> LearningOn:
        """Continue from the moments the learner accumulated (the node would reuse its learner's static ones)."""
        return cls(policy, detector, learner._all)

    def push(self, sig: NDArray[np.int32], score: int) -> None:
        """Call after `detector.push(sig)` returned `score`."""
        b = self.detector.baseline
        if self.detector.active or score * 16 >= b.threshold * self.policy.gate_q4:
            return
        self.moments.add(sig)
        self.joined += 1
        if self.moments.n >= self.policy.cap_windows:
            halve(self.moments)
        if self.joined % self.policy.refit_windows == 0:
            model = self.moments.model()
            if self.policy.mean_only:
                model = replace(b.model, mean=model.mean)
            self.detector.baseline = replace(b, windows=self.moments.n, model=model)
            self.refits += 1
