from __future__ import annotations

import dataclasses

import pytest

from node_factory.corpus.debian_audio.manifest import (
    CONTENT_TYPES,
    MANIFEST,
    POSITIVE_CANDIDATES,
    PackageSpec,
    PositiveCandidate,
    Rule,
    check_disjoint,
    check_positives_excluded,
    packages,
)


def _spec(name: str, purpose: str, upstream: str, *rules: Rule, exclude: tuple[str, ...] = ()) -> PackageSpec:
    return PackageSpec(name, "1.0", purpose, upstream, "GPL-2", rules or (Rule("*.ogg", "sfx"),), exclude)  # type: ignore[arg-type]


def test_shipped_manifest_keeps_eval_and_train_apart() -> None:
    check_disjoint(MANIFEST)
    eval_names = {s.name for s in packages("eval")}
    train_names = {s.name for s in packages("train")}
    assert eval_names and train_names and not eval_names & train_names


def test_the_dev_set_shares_nothing_with_eval_or_train() -> None:
    dev = packages("dev")
    assert dev and all(s.purpose == "dev" for s in dev)
    others = {s.upstream for s in MANIFEST if s.purpose in ("eval", "train")}
    assert not {s.upstream for s in dev} & others
    with pytest.raises(ValueError, match=r"eval and dev share upstream.*wesnoth"):
        check_disjoint([_spec("wesnoth-music", "eval", "wesnoth"), _spec("wesnoth-data", "dev", "wesnoth")])
    with pytest.raises(ValueError, match=r"train and dev share name"):
        check_disjoint([_spec("a", "train", "up-a"), _spec("a", "dev", "up-b")])


def test_a_package_in_both_sets_is_refused() -> None:
    with pytest.raises(ValueError, match="share name"):
        check_disjoint([_spec("a", "eval", "up-a"), _spec("a", "train", "up-b")])


def test_a_shared_upstream_is_refused() -> None:
    with pytest.raises(ValueError, match=r"share upstream.*wesnoth"):
        check_disjoint([_spec("wesnoth-music", "eval", "wesnoth"), _spec("wesnoth-data", "train", "wesnoth")])


def test_a_package_listed_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="more than once: a"):
        check_disjoint([_spec("a", "eval", "up"), _spec("a", "eval", "up")])


def test_a_real_manifest_with_one_package_moved_fails() -> None:
    moved = [dataclasses.replace(s, purpose="train") if s.name == "lugaru-data" else s for s in MANIFEST]
    moved.append(dataclasses.replace(moved[-1], name="lugaru-extra", upstream="lugaru", purpose="eval"))
    with pytest.raises(ValueError, match="lugaru"):
        check_disjoint(moved)


def test_rules_first_include_wins_and_exclude_beats_include() -> None:
    spec = _spec("p", "eval", "u", Rule("a/music/*.ogg", "music"), Rule("a/*.ogg", "sfx"), exclude=("*/Alarm.ogg",))
    assert spec.content_of("a/music/x.ogg") == "music"
    assert spec.content_of("a/deep/er/x.ogg") == "sfx"  # fnmatch's * crosses folders
    assert spec.content_of("a/deep/Alarm.ogg") is None
    assert spec.content_of("b/x.ogg") is None
    assert spec.content_types == ("music", "sfx")


def test_no_positive_candidate_is_taken_by_a_negative_set() -> None:
    check_positives_excluded(MANIFEST, POSITIVE_CANDIDATES)
    named = {c.package for c in POSITIVE_CANDIDATES}
    assert {"lugaru-data", "fillets-ng-data", "tuxpaint-stamps-default"} <= named  # the check has work to do


def test_a_positive_left_in_a_negative_set_is_caught() -> None:
    lugaru = next(s for s in MANIFEST if s.name == "lugaru-data")
    leaky = [dataclasses.replace(lugaru, exclude=())]
    with pytest.raises(ValueError, match=r"lugaru-data:.*Alarm\.ogg"):
        check_positives_excluded(leaky, POSITIVE_CANDIDATES)
    extra = PositiveCandidate("lugaru-data", "usr/share/games/lugaru/Sounds/Wind.ogg", "test")
    with pytest.raises(ValueError, match=r"Wind\.ogg"):
        check_positives_excluded([lugaru], [extra])


def test_every_entry_is_complete() -> None:
    for spec in MANIFEST:
        assert spec.version and spec.licence and spec.upstream and spec.include, spec.name
        assert set(spec.content_types) <= set(CONTENT_TYPES), spec.name
        assert spec.expected_hours > 0 and spec.expected_files > 0, spec.name
    assert sum(s.expected_hours for s in packages("eval")) >= 2.5


def test_positive_specs_hold_exactly_the_candidates() -> None:
    specs = packages("positive")
    assert sum(len(s.include) for s in specs) == len(POSITIVE_CANDIDATES)
    for spec in specs:
        assert spec.min_seconds < 0.5  # short beeps are kept for a labelled set
        for rule in spec.include:
            assert spec.content_of(rule.glob) == rule.content
