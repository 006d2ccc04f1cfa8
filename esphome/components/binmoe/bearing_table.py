"""Bearing designations a node's YAML may name instead of the geometry: the one table (the node's schema and
node_factory.reference.bearings read it), plain Python so both can load it.

Only bearings whose internal geometry a citable source publishes are listed (the rolling-element complement
is not part of ISO 15 and differs between makers, so a bare "6204" is not enough; docs/esphome.md, "Fault
identification", cites each):
* 6205-2RS JEM (SKF), drive end of the Case Western Reserve University bearing test rig: 9 balls of
  0.3126 in on a 1.537 in pitch diameter (CWRU Bearing Data Center, "bearing specifications").
* 6203-2RS JEM (SKF), CWRU fan end: 8 balls of 0.2656 in on 1.122 in (same page).
* ER-16K (MB Manufacturing), SpectraQuest machinery fault simulator: 9 balls of 0.3125 in on 1.516 in
  (maker's data as quoted in the Curtin University / SpectraQuest data-set readme).
* ZA-2115 (Rexnord), IMS/NASA run-to-failure rig: 16 rollers per row of 0.331 in on 2.815 in, contact angle
  15.17 degrees (Qiu et al. 2006, J. Sound Vib. 289).
"""

from __future__ import annotations

INCH_MM = 25.4

# designation (upper case) -> (rolling elements, element diameter mm, pitch diameter mm, contact angle degrees)
BEARINGS: dict[str, tuple[int, float, float, float]] = {
    "6205-2RS JEM": (9, 0.3126 * INCH_MM, 1.537 * INCH_MM, 0.0),
    "6203-2RS JEM": (8, 0.2656 * INCH_MM, 1.122 * INCH_MM, 0.0),
    "ER-16K": (9, 0.3125 * INCH_MM, 1.516 * INCH_MM, 0.0),
    "ZA-2115": (16, 0.331 * INCH_MM, 2.815 * INCH_MM, 15.17),
}


def lookup(designation: str) -> tuple[int, float, float, float]:
    """The geometry of a listed designation (any case, surrounding spaces ignored); KeyError otherwise."""
    return BEARINGS[" ".join(designation.split()).upper()]


def unknown_message(designation: str) -> str:
    return (
        f"unknown bearing designation '{designation}': give balls, ball_diameter and pitch_diameter (and"
        f" contact_angle) from the maker's data, or one of {', '.join(sorted(BEARINGS))}"
    )
