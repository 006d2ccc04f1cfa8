"""Bearing designations a node's YAML may name instead of the geometry, with where each number comes from.

Only bearings whose internal geometry is published by a source we can cite are listed (the rolling-element
complement is not part of ISO 15 and differs between makers, so a bare "6204" is not enough):
* 6205-2RS JEM (SKF), drive end of the Case Western Reserve University bearing test rig: 9 balls of
  0.3126 in on a 1.537 in pitch diameter (CWRU Bearing Data Center, "bearing specifications").
* 6203-2RS JEM (SKF), CWRU fan end: 8 balls of 0.2656 in on 1.122 in (same page).
* ER-16K (MB Manufacturing), SpectraQuest machinery fault simulator: 9 balls of 0.3125 in on 1.516 in
  (maker's data as quoted in the Curtin University / SpectraQuest data-set readme).
* ZA-2115 (Rexnord), IMS/NASA run-to-failure rig: 16 rollers per row of 0.331 in on 2.815 in, contact angle
  15.17 degrees (Qiu et al. 2006, J. Sound Vib. 289).
"""

from __future__ import annotations

from .orders import BearingGeometry

INCH_MM = 25.4

BEARINGS: dict[str, BearingGeometry] = {
    "6205-2RS JEM": BearingGeometry(9, 0.3126 * INCH_MM, 1.537 * INCH_MM),
    "6203-2RS JEM": BearingGeometry(8, 0.2656 * INCH_MM, 1.122 * INCH_MM),
    "ER-16K": BearingGeometry(9, 0.3125 * INCH_MM, 1.516 * INCH_MM),
    "ZA-2115": BearingGeometry(16, 0.331 * INCH_MM, 2.815 * INCH_MM, 15.17),
}


def bearing(designation: str) -> BearingGeometry:
    """The geometry of a listed designation; ValueError naming the known ones otherwise."""
    try:
        return BEARINGS[designation.strip().upper()]
    except KeyError:
        raise ValueError(
            f"unknown bearing designation {designation!r}: give ball count and diameters, or one of {sorted(BEARINGS)}"
        ) from None
