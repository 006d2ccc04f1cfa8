"""Acceleration (g, one sensor axis) of a machine, rendered chunk by chunk with continuous state.

Bearing faults follow McFadden & Smith (1984, J. Sound Vib. 96) and Randall & Antoni (2011, MSSP 25,
"Rolling element bearing diagnostics — a tutorial"): a train of impacts at the fault frequency, each ringing
the structure's resonances (damped sinusoids), with random slip — every inter-impact interval varies
i.i.d. by 1–2 % (so phase wanders, the mean rate is kept, less a 0–1 % mean slip of the cage) — and with
amplitude modulation: an outer-race defect sits at a fixed angle in or near the load zone (constant, a small
1x runout modulation), an inner-race defect passes through the load zone once per shaft turn (1x
modulation, sidebands at +-fr), a ball defect strikes alternately the outer and inner race (rate 2x BSF,
lines at BSF and 2 BSF) and is carried through the load zone at the cage frequency FTF.  Load distribution
q(psi) = [1 − (1 − cos psi)/(2·eps)]^1.5 (Stribeck/Harris), eps 0.3–0.5, with a non-zero floor for the
unloaded side.  Impact strength scales with speed.  Shaft tones: imbalance 1x (radial), misalignment 2x
radial with 1x and 3x, axial 1x/2x (angular), looseness a comb of harmonics with half orders and a rattle
once per turn (or every other turn); shaft-tone velocity is taken proportional to speed.  The sensor axis
sees radial·sqrt(1 − m²) + axial·m.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import signal

from ..dsp import damped_sines, resonator_sos
from .machine import Fault, Machine, SpeedProfile, velocity_to_g

TAIL_S = 0.25


def load_zone(psi: np.ndarray, eps: float, floor: float) -> np.ndarray:
    q = np.clip(1 - (1 - np.cos(psi)) / (2 * eps), 0.0, None) ** 1.5
    return np.asarray(floor + (1 - floor) * q)


def effective_orders(machine: Machine, fault: Fault) -> dict[str, float]:
    """Impact orders actually rendered (per shaft revolution), including the mean cage slip."""
    b, s = machine.bearing, fault.params.get("slip_mean", 0.0)
    return {
        "bpfo": b.bpfo * (1 - s),
        "bpfi": b.bpfi + b.n * b.ftf * s,  # the inner race overruns a slower cage
        "bsf": b.bsf * (1 - s),
        "ftf": b.ftf * (1 - s),
    }


@dataclass
class _ImpactProcess:
    order: float  # impacts per shaft revolution
    jitter: float
    last_cycle: float | None = None
    count: int = 0  # impacts emitted so far (the ball fault alternates outer/inner race hits)


@dataclass
class RendererState:
    theta: float = 0.0
    t: float = 0.0
    tail: np.ndarray = field(default_factory=lambda: np.zeros(0))
    noise_zi: list[np.ndarray] = field(default_factory=list)
    processes: dict[str, _ImpactProcess] = field(default_factory=dict)


class MachineRenderer:
    """Renders consecutive chunks of one machine; faults can switch on at any sample."""

    def __init__(self, machine: Machine, sr: float, noise_rng: np.random.Generator) -> None:
        self.machine = machine
        self.sr = sr
        self.resonances = [r for r in machine.resonances if r.freq_hz < 0.45 * sr]
        self.tail_n = int(TAIL_S * sr)
        self.state = RendererState(tail=np.zeros(self.tail_n))
        self._noise_sections = [resonator_sos(r.freq_hz, 2 * r.damping * r.freq_hz, sr) for r in self.resonances]
        self._noise_gains = [r.gain for r in self.resonances]
        self.state.noise_zi = [np.zeros((1, 2)) for _ in self._noise_sections]
        self._noise_scale = 1.0
        probe = self._broadband(noise_rng.standard_normal(int(sr * 2)), update=False)
        self._noise_scale = machine.noise_g / max(float(np.std(probe)), 1e-12)

    def _broadband(self, white: np.ndarray, update: bool = True) -> np.ndarray:
        out = 0.3 * white
        for i, (sos, g) in enumerate(zip(self._noise_sections, self._noise_gains, strict=True)):
            zi = self.state.noise_zi[i] if update else np.zeros((1, 2))
            y, zf = sosfilt_zi(sos, white, zi)
            if update:
                self.state.noise_zi[i] = zf
            out = out + 3.0 * g * y
        return out * self._noise_scale

    def _impact_times(
        self, name: str, order: float, jitter: float, cycles: np.ndarray, t: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, int]:
        """Impact times in this chunk and the running index of the first one."""
        proc = self.state.processes.setdefault(name, _ImpactProcess(order, jitter))
        first = proc.count
        c = cycles * order
        if proc.last_cycle is None:
            proc.last_cycle = float(c[0] - rng.random())
        targets = []
        nxt = proc.last_cycle
        while True:
            nxt = nxt + 1 + float(np.clip(rng.normal(0, jitter), -3 * jitter, 3 * jitter)) if jitter > 0 else nxt + 1
            if nxt > c[-1]:
                break
            targets.append(nxt)
            proc.last_cycle = nxt
        proc.count += len(targets)
        if not targets:
            return np.zeros(0), first
        return np.interp(np.array(targets), c, t), first

    def render(
        self, n: int, speed: SpeedProfile, rng: np.random.Generator, fault: Fault | None, fault_from: int = 0
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """The next n samples (g).  fault is active from sample fault_from (n or None: not at all)."""
        sr, m, st = self.sr, self.machine, self.state
        t = st.t + np.arange(n) / sr
        rpm = speed.rpm(t)
        fr = rpm / 60.0
        theta = st.theta + 2 * np.pi * np.cumsum(fr) / sr
        cycles = theta / (2 * np.pi)
        scale = fr / (m.rpm_nominal / 60.0)
        ph = m.phases
        nyq = 0.45 * sr
        mix = m.axial_mix
        radial = np.zeros(n)
        axial = np.zeros(n)

        def tone(order: float, v_mm_s: float, phase: float, target: np.ndarray, gate: np.ndarray | float = 1.0) -> None:
            f = order * fr
            if f.max() >= nyq or v_mm_s <= 0:
                return
            amp = velocity_to_g(v_mm_s, 1.0) * f * scale  # a = 2 pi f v, v proportional to speed
            target += gate * amp * np.sin(order * theta + phase)

        # healthy base: residual unbalance, 2x, electrical, gear mesh, broadband
        tone(1, m.residual_1x_mm_s, ph[0], radial)
        tone(2, m.residual_1x_mm_s * m.residual_2x_rel, ph[1], radial)
        if m.line_tone_g > 0 and 2 * m.line_hz < nyq:
            radial += m.line_tone_g * np.sin(2 * np.pi * 2 * m.line_hz * t + ph[2])
        if m.gear_teeth and (m.gear_teeth + 1) * fr.max() < nyq:
            am = 1 + 0.3 * np.sin(theta + ph[3])
            radial += m.gear_g * scale * am * np.sin(m.gear_teeth * theta + ph[4])
            if 2 * m.gear_teeth * fr.max() < nyq:
                radial += 0.3 * m.gear_g * scale * np.sin(2 * m.gear_teeth * theta + ph[5])
        white = rng.standard_normal(n)
        base_noise = self._broadband(white)

        gate = np.zeros(n)
        if fault is not None and fault.label != "healthy" and fault_from < n:
            gate[max(0, fault_from) :] = 1.0
        p = fault.params if fault is not None else {}
        label = fault.label if fault is not None else "healthy"
        if label == "imbalance":
            tone(1, p["v1x_mm_s"], ph[0], radial, gate)
            tone(2, p["v1x_mm_s"] * p["v2x_rel"], ph[6], radial, gate)
            tone(1, 0.1 * p["v1x_mm_s"], ph[7], axial, gate)
        elif label == "misalignment":
            v = p["v1x_mm_s"]
            tone(1, v, ph[0], radial, gate)
            tone(2, v * p["r2x"] * (1.0 if p["kind"] != 1 else 0.4), ph[6], radial, gate)
            tone(3, v * p["r3x"], ph[7], radial, gate)
            tone(1, v * p["axial_1x"], ph[8], axial, gate)
            tone(2, v * p["axial_2x"], ph[9], axial, gate)
        elif label == "looseness":
            v = p["v1x_mm_s"]
            for k in range(1, int(p["harmonics"]) + 1):
                tone(k, v * k ** -p["rolloff"], ph[k % 16], radial, gate)
                tone(k - 0.5, v * p["half_orders_rel"] * k ** -p["rolloff"], ph[(k + 7) % 16], radial, gate)

        ring = np.zeros(n + self.tail_n)
        impacts: dict[str, np.ndarray] = {}
        if label == "looseness":
            order = 0.5 if p["every_other_rev"] else 1.0
            times, _ = self._impact_times("rattle", order, 0.005, cycles, t, rng)
            amps = np.full(len(times), p["impact_g"]) * np.interp(times, t, scale)
            impacts["rattle"] = self._ring(ring, times, amps, t[0], gate, t)
        elif label.startswith("bearing_"):
            eff = effective_orders(m, fault)  # type: ignore[arg-type]
            eps, floor = p["load_zone_eps"], p["unloaded_floor"]
            jitter = p["slip_jitter"]
            if label == "bearing_outer":
                times, _ = self._impact_times("outer", eff["bpfo"], jitter, cycles, t, rng)
                th = np.interp(times, t, theta)
                amps = load_zone(np.array(p["defect_angle"]), eps, floor) * (1 + 0.1 * np.sin(th + ph[10]))
            elif label == "bearing_inner":
                times, _ = self._impact_times("inner", eff["bpfi"], jitter, cycles, t, rng)
                th = np.interp(times, t, theta)
                amps = load_zone(th + p["load_angle"], eps, floor)
            else:
                times, first = self._impact_times("ball", 2 * eff["bsf"], jitter, cycles, t, rng)
                th = np.interp(times, t, theta)
                parity = (first + np.arange(len(times))) % 2
                amps = load_zone(th * eff["ftf"] + p["load_angle"], eps, floor) * np.where(
                    parity == 0, 1.0, p["inner_contact_rel"]
                )
            amps = (
                amps * p["impact_g"] * np.interp(times, t, scale) * np.exp(rng.normal(0, p["amp_spread"], len(times)))
            )
            impacts[label] = self._ring(ring, times, amps, t[0], gate, t)

        ring[: self.tail_n] += st.tail
        st.tail = ring[n:].copy()
        structural = radial * np.sqrt(1 - mix * mix) + axial * mix
        accel = m.mount_gain * (structural + ring[:n] + base_noise)
        st.theta = float(theta[-1])
        st.t = float(t[-1] + 1 / sr)
        info = {"rpm": rpm, "impacts": {k: len(v) for k, v in impacts.items()}}
        return accel, info

    def _ring(
        self, ring: np.ndarray, times: np.ndarray, amps: np.ndarray, t0: float, gate: np.ndarray, t: np.ndarray
    ) -> np.ndarray:
        if len(times):
            on = np.interp(times, t, gate) > 0.5
            times, amps = times[on], amps[on]
        rel = times - t0
        for r in self.resonances:
            decay = 1 / (2 * np.pi * r.freq_hz * r.damping)
            damped_sines(ring, self.sr, rel, amps * r.gain, r.freq_hz, decay, max_len_s=min(6 * decay, TAIL_S))
        return times


def sosfilt_zi(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, zf = signal.sosfilt(sos, x, zi=zi)
    return np.asarray(y), np.asarray(zf)
