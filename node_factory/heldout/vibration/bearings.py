"""Rolling-element bearing geometries and their kinematic fault frequencies.

Fault orders (multiples of the shaft frequency fr; inner ring rotating, outer ring fixed), n rolling
elements of diameter d on pitch diameter D with contact angle phi:

    BPFO = n/2 · (1 − d/D·cos phi)          BPFI = n/2 · (1 + d/D·cos phi)
    BSF  = D/(2d) · (1 − (d/D·cos phi)^2)   FTF  = 1/2 · (1 − d/D·cos phi)

Geometry sources (numbers as used below):
* SKF 6205-2RS JEM (CWRU drive end): n 9, d 0.3126 in (7.940 mm), D 1.537 in (39.040 mm), phi 0 —
  Case Western Reserve University Bearing Data Center, bearing specifications (BPFO 3.5848, BPFI 5.4152).
* SKF 6203-2RS JEM (CWRU fan end): n 8, d 0.2656 in (6.746 mm), D 1.122 in (28.499 mm) — same source
  (BPFO 3.0530, BPFI 4.9469).
* FAG 6203 (Paderborn KAt data set, Lessmeier et al. 2016): n 8, d 6.75 mm, D 28.55 mm.
* LDK UER204 (6204 internals; XJTU-SY data set, Wang et al. 2018): n 8, d 7.92 mm, D 34.55 mm.
* MB ER-16K (SpectraQuest simulator; Curtin University data set readme): n 9, d 7.9375 mm, D 38.50 mm
  (BPFO 3.572, BPFI 5.428).
* Rexnord ZA-2115 double-row (IMS/NASA run-to-failure, Qiu et al. 2006): 16 rollers per row, d 0.331 in
  (8.407 mm), D 2.815 in (71.501 mm), phi 15.17 deg.
* NICE bearing (MFPT data set, Bechhoefer): n 8, d 0.235 in (5.969 mm), D 1.245 in (31.623 mm).
* 6204, 6206, 6305, 6308 deep groove, 7205 BE angular contact (40 deg) and 30205 tapered roller: pitch
  diameter = (bore + OD)/2 from the ISO 15 / ISO 355 boundary dimensions and the ball/roller complement
  typical of major-brand catalogue internals (6204: 8 x 5/16 in; 6206: 9 x 3/8 in; 6305: 8 x 13/32 in;
  6308: 8 x 19/32 in; 7205: 12 x 5/16 in; 30205: 17 rollers, mean diameter 6.6 mm, cup angle 14 deg).
  These six were NOT checked against a catalogue page in this session: treat them as representative
  geometries, not as a given maker's part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INCH_MM = 25.4


@dataclass(frozen=True)
class Bearing:
    designation: str
    kind: str
    n: int
    d_mm: float
    pitch_mm: float
    contact_deg: float
    source: str

    @property
    def _ratio(self) -> float:
        return self.d_mm / self.pitch_mm * float(np.cos(np.radians(self.contact_deg)))

    @property
    def bpfo(self) -> float:
        return self.n / 2 * (1 - self._ratio)

    @property
    def bpfi(self) -> float:
        return self.n / 2 * (1 + self._ratio)

    @property
    def bsf(self) -> float:
        return self.pitch_mm / (2 * self.d_mm) * (1 - self._ratio**2)

    @property
    def ftf(self) -> float:
        return 0.5 * (1 - self._ratio)

    def orders(self) -> dict[str, float]:
        return {"bpfo": self.bpfo, "bpfi": self.bpfi, "bsf": self.bsf, "ftf": self.ftf}

    def describe(self) -> dict[str, object]:
        return {**self.__dict__, "orders": self.orders()}


BEARINGS: tuple[Bearing, ...] = (
    Bearing("6205-2RS JEM (SKF)", "deep_groove", 9, 0.3126 * INCH_MM, 1.537 * INCH_MM, 0.0, "CWRU Bearing Data Center"),
    Bearing("6203-2RS JEM (SKF)", "deep_groove", 8, 0.2656 * INCH_MM, 1.122 * INCH_MM, 0.0, "CWRU Bearing Data Center"),
    Bearing("6203 (FAG)", "deep_groove", 8, 6.75, 28.55, 0.0, "Paderborn KAt data set (Lessmeier et al. 2016)"),
    Bearing("UER204 (LDK, 6204 internals)", "deep_groove", 8, 7.92, 34.55, 0.0, "XJTU-SY data set (Wang et al. 2018)"),
    Bearing("ER-16K (MB)", "deep_groove", 9, 7.9375, 38.50, 0.0, "Curtin University / SpectraQuest readme"),
    Bearing(
        "ZA-2115 (Rexnord, double row)",
        "double_row_roller",
        16,
        0.331 * INCH_MM,
        2.815 * INCH_MM,
        15.17,
        "IMS/NASA (Qiu et al. 2006)",
    ),
    Bearing("NICE (MFPT)", "deep_groove", 8, 0.235 * INCH_MM, 1.245 * INCH_MM, 0.0, "MFPT data set"),
    Bearing("6204", "deep_groove", 8, 7.938, 33.5, 0.0, "ISO 15 dims + typical complement (unverified)"),
    Bearing("6206", "deep_groove", 9, 9.525, 46.0, 0.0, "ISO 15 dims + typical complement (unverified)"),
    Bearing("6305", "deep_groove", 8, 10.319, 43.5, 0.0, "ISO 15 dims + typical complement (unverified)"),
    Bearing("6308", "deep_groove", 8, 15.081, 65.0, 0.0, "ISO 15 dims + typical complement (unverified)"),
    Bearing(
        "7205 BE (40 deg)", "angular_contact", 12, 7.938, 38.5, 40.0, "ISO 15 dims + typical complement (unverified)"
    ),
    Bearing("30205 (tapered)", "tapered_roller", 17, 6.6, 38.5, 14.0, "ISO 355 dims + typical complement (unverified)"),
)


def bearing_by_name(prefix: str) -> Bearing:
    for b in BEARINGS:
        if b.designation.startswith(prefix):
            return b
    raise KeyError(prefix)
