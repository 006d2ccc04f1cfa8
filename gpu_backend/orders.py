"""Fault identification in shaft orders for an escalation that carries a capture (docs/vibration-baseline.md).

The node cannot afford it (FFTs over seconds of samples per diagnosis), so it sends the shaft speed, the
bearing and the raw samples with an anomaly (or forced) escalation, and the GPU tier runs the project's
analysis, `node_factory.reference.orders.identify`, on them unchanged.
"""

from __future__ import annotations

import base64
import binascii
import math

import numpy as np

from node_factory.reference import ima_adpcm
from node_factory.reference.orders import BearingGeometry, OrderReport, identify

from .protocol import NodeMessage, OrderAnalysis

Q3_DB = 10 * math.log10(2) / 8  # a q3 step is 1/8 octave of power


def analyse(esc: NodeMessage) -> OrderAnalysis | None:
    """Energies at 1x/2x/3x and the bearing frequencies and the rules' verdict; None without a capture (or for
    a sound node). The protocol schema has checked the fields (a capture comes with its rate, shaft_rpm and
    bearing, is base64 of whole int16 samples or IMA ADPCM blocks); ValueError if it still cannot be decoded."""
    if esc.task != "vibration" or esc.capture is None or esc.capture_rate is None:
        return None
    if esc.shaft_rpm is None or esc.bearing is None:
        return None
    try:
        data = base64.b64decode(esc.capture, validate=True)
        adpcm = esc.capture_encoding == "ima_adpcm"
        samples = ima_adpcm.decode(data) if adpcm else np.frombuffer(data, dtype="<i2")
    except (binascii.Error, ValueError) as err:
        raise ValueError(f"capture is not base64 of {esc.capture_encoding or 's16le'} samples: {err}") from err
    report = identify(samples, esc.capture_rate, esc.shaft_rpm, BearingGeometry(*esc.bearing))
    return OrderAnalysis(fault=report.fault, shaft_rpm=esc.shaft_rpm, energies_db=energies_db(report))


def energies_db(report: OrderReport) -> dict[str, float]:
    """Each strength (q3 over its local floor) in dB, under the names the protocol and the facts use."""
    q3 = {
        "1x": report.shaft["1x"],
        "2x": report.shaft["2x"],
        "3x": report.shaft["3x"],
        "bpfo": report.bearing["bpfo"],
        "bpfi": report.bearing["bpfi"],
        "bsf": report.bearing["bsf2"],
        "ftf": report.ftf_q3,
    }
    return {name: round(value * Q3_DB, 1) for name, value in q3.items()}
