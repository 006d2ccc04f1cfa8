"""Real recorded audio from Debian packages: a negative evaluation set, training backgrounds, positive candidates.

    from node_factory.corpus.debian_audio import fetch
    wavs = fetch("eval", Path("~/.cache/binmoe/real-audio").expanduser(), progress=print)

Eval and train come from disjoint packages and upstream projects (`check_disjoint`); files that sound like
something the node model detects are listed in POSITIVE_CANDIDATES and kept out of both.
"""

from .debian import FetchError
from .fetch import Clip, PackageResult, fetch, fetch_packages, load_clips
from .manifest import (
    MANIFEST,
    POSITIVE_CANDIDATES,
    PackageSpec,
    PositiveCandidate,
    Purpose,
    check_disjoint,
    check_positives_excluded,
    packages,
)

__all__ = [
    "MANIFEST",
    "POSITIVE_CANDIDATES",
    "Clip",
    "FetchError",
    "PackageResult",
    "PackageSpec",
    "PositiveCandidate",
    "Purpose",
    "check_disjoint",
    "check_positives_excluded",
    "fetch",
    "fetch_packages",
    "load_clips",
    "packages",
]
