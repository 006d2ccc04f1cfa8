"""Which Debian packages give real recorded audio, what each is for, and the rules that keep the sets apart.

Paths in the rules are fnmatch patterns over a file's path inside the package (no leading slash); as in
fnmatch, `*` also matches `/`. A file is taken when an include rule matches it and no exclude rule does; the
first matching include rule names its content type. Durations were measured on the decoded 16 kHz audio
(see SOURCES.md) and are what `fetch` should yield give or take a few files.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

# eval: measures false alarms; train: mixed into the training corpus; dev: only heard by the alarm detectors' rule
# development (false codes to read), never mixed into a corpus and never a measurement of the shipped node
Purpose = Literal["eval", "train", "dev", "positive"]
PURPOSES: tuple[Purpose, ...] = ("eval", "train", "dev", "positive")
NEGATIVE_PURPOSES: tuple[Purpose, ...] = ("eval", "train", "dev")
CONTENT_TYPES = ("speech", "music", "sfx", "ambience")


@dataclass(frozen=True)
class Rule:
    glob: str
    content: str


@dataclass(frozen=True)
class PackageSpec:
    name: str
    version: str  # the bookworm version this manifest was measured on
    purpose: Purpose
    upstream: str  # the upstream project: eval and train must not share one
    licence: str  # licence of the audio files themselves
    include: tuple[Rule, ...]
    exclude: tuple[str, ...] = ()
    expected_hours: float = 0.0
    expected_files: int = 0
    note: str = ""
    min_seconds: float = 0.5  # shorter decoded files are skipped

    @property
    def content_types(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(rule.content for rule in self.include))

    def content_of(self, relpath: str) -> str | None:
        """The content type of a file inside the package, or None when the rules leave it out."""
        if any(fnmatch.fnmatchcase(relpath, pattern) for pattern in self.exclude):
            return None
        for rule in self.include:
            if fnmatch.fnmatchcase(relpath, rule.glob):
                return rule.content
        return None


@dataclass(frozen=True)
class PositiveCandidate:
    """A real recording of something the node model should detect (or that sounds like it): never a negative."""

    package: str
    path: str  # the file's path inside the package
    label: str  # a SOUND_CLASSES name where one fits, else what it is (siren, phone_ring, ...)
    note: str = ""


# Excluded from every negative set: synthetic tones and beeps, digital silence.
_ASTERISK_EXCLUDE = ("*/silence/*", "*/beep.*", "*/beeperr.*", "*-2tone.*")
_AST = "usr/share/asterisk/sounds/"

MANIFEST: tuple[PackageSpec, ...] = (
    # ---------------------------------------------------------------- eval: Wesnoth, Fish Fillets NG, Lugaru
    PackageSpec(
        name="wesnoth-1.16-music",
        version="1:1.16.9-1",
        purpose="eval",
        upstream="wesnoth",
        licence="GPL-2+",
        include=(Rule("usr/share/games/wesnoth/1.16/data/core/music/*.ogg", "music"),),
        expected_hours=2.13,
        expected_files=40,
        note="orchestral/folk game soundtrack, mastered",
    ),
    PackageSpec(
        name="fillets-ng-data",
        version="1.0.1-1.1",
        purpose="eval",
        upstream="fillets-ng",
        licence="GPL-2",
        include=(
            Rule("usr/share/games/fillets-ng/music/*.ogg", "music"),
            Rule("usr/share/games/fillets-ng/sound/*/en/*music*.ogg", "music"),
            Rule("usr/share/games/fillets-ng/sound/elk/en/*.ogg", "speech"),
            Rule("usr/share/games/fillets-ng/sound/warcraft/en/*.ogg", "speech"),
            Rule("usr/share/games/fillets-ng/sound/*/en/*.ogg", "sfx"),
            Rule("usr/share/games/fillets-ng/sound/share/*.ogg", "sfx"),
        ),
        exclude=(
            "*/steel-x-redalert.ogg",  # an alarm
            "*/bat-t-budik.ogg",  # an alarm clock
            "*/bat-t-phone*.ogg",  # a telephone ringing
            "*/sm-x-tiktak.ogg",  # clock ticking
            "*/ncp-x-tik.ogg",
        ),
        expected_hours=0.51,
        expected_files=133,
        note="game music and effects (typing, keys, bubbles, machines, creatures), a few short voice lines; "
        "the languages' dialogue is in -cs and -nl",
    ),
    PackageSpec(
        name="fillets-ng-data-cs",
        version="1.0.1-1.1",
        purpose="eval",
        upstream="fillets-ng",
        licence="GPL-2",
        include=(Rule("usr/share/games/fillets-ng/sound/*/cs/*.ogg", "speech"),),
        expected_hours=1.76,
        expected_files=1881,
        note="Czech game dialogue (the original voice cast)",
    ),
    PackageSpec(
        name="fillets-ng-data-nl",
        version="1.0.1-1.1",
        purpose="eval",
        upstream="fillets-ng",
        licence="GPL-2",
        include=(Rule("usr/share/games/fillets-ng/sound/*/nl/*.ogg", "speech"),),
        expected_hours=1.6,
        expected_files=1614,
        note="Dutch game dialogue",
    ),
    PackageSpec(
        name="lugaru-data",
        version="1.2-6",
        purpose="eval",
        upstream="lugaru",
        licence="CC-BY-SA-3.0",
        include=(
            Rule("usr/share/games/lugaru/Sounds/Music*.ogg", "music"),
            Rule("usr/share/games/lugaru/Sounds/DesertAmbient.ogg", "ambience"),
            Rule("usr/share/games/lugaru/Sounds/Wind.ogg", "ambience"),
            Rule("usr/share/games/lugaru/Sounds/Fire*.ogg", "ambience"),
            Rule("usr/share/games/lugaru/Sounds/*.ogg", "sfx"),
        ),
        exclude=("*/Alarm.ogg", "*/ConsoleFail.ogg", "*/ConsoleSuccess.ogg"),
        expected_hours=0.1,
        expected_files=31,
        note="footsteps, barks, growls, whooshes, impacts, wind and desert ambience, game music",
    ),
    # ---------------------------------------------------------------- train
    *(
        PackageSpec(
            name=f"asterisk-core-sounds-{lang}-g722",
            version="1.6.1-1",
            purpose="train",
            upstream="asterisk-core-sounds",
            licence=licence,
            include=(Rule(f"{_AST}*.g722", "speech"),),
            exclude=_ASTERISK_EXCLUDE,
            expected_hours=hours,
            expected_files=files,
            note=f"telephone prompts, {voice}, 16 kHz G.722",
        )
        for lang, licence, voice, hours, files in (
            ("en", "CC-BY-SA-3.0", "US English, Allison Smith", 0.41, 552),
            ("es", "CC-BY-SA-3.0", "Mexican Spanish, Allison Smith", 0.50, 503),
            ("fr", "CC-BY-SA-3.0", "Canadian French, June Wallack", 0.42, 529),
            ("it", "CC-BY-3.0", "Italian, Carlo Flora", 0.38, 538),
            ("ru", "CC-BY-3.0", "Russian, IvrvoiceRU", 0.39, 519),
        )
    ),
    PackageSpec(
        name="asterisk-prompt-es-co",
        version="0.20070403-2.1",
        purpose="train",
        upstream="asterisk-prompt-es-co",
        licence="GPL-2",
        include=(Rule(f"{_AST}*.gsm", "speech"),),
        exclude=_ASTERISK_EXCLUDE,
        expected_hours=0.17,
        expected_files=277,
        note="Colombian Spanish telephone prompts, 8 kHz GSM",
    ),
    PackageSpec(
        name="asterisk-prompt-fr-armelle",
        version="20070613-2.2",
        purpose="train",
        upstream="asterisk-prompt-fr-armelle",
        licence="BSD-like (Michel Gutierrez, 2006)",
        include=(Rule(f"{_AST}*.gsm", "speech"),),
        exclude=_ASTERISK_EXCLUDE,
        expected_hours=0.25,
        expected_files=319,
        note="French telephone prompts, Armelle Desjardins, 8 kHz GSM",
    ),
    PackageSpec(
        name="asterisk-prompt-it-menardi-wav",
        version="1:1.4.22+mm20110907-3.1",
        purpose="train",
        upstream="asterisk-prompt-it-menardi",
        licence="CC-BY-SA-3.0-IT",
        include=(Rule(f"{_AST}*.wav", "speech"),),
        exclude=_ASTERISK_EXCLUDE,
        expected_hours=0.39,
        expected_files=507,
        note="Italian telephone prompts, Paola Dal Zot, 8 kHz",
    ),
    PackageSpec(
        name="asterisk-moh-opsound-g722",
        version="2.03-1.1",
        purpose="train",
        upstream="asterisk-moh-opsound",
        licence="CC-BY-SA-3.0",
        include=(Rule("usr/share/asterisk/moh/*.g722", "music"),),
        expected_hours=0.31,
        expected_files=5,
        note="five music-on-hold tracks (Macroform, Manolo Camp, Reno Project)",
    ),
    PackageSpec(
        name="warzone2100-music",
        version="4.3.3-3",
        purpose="train",
        upstream="warzone2100",
        licence="GPL-2+",
        include=(Rule("usr/share/games/warzone2100/music/*.opus", "music"),),
        expected_hours=4.05,
        expected_files=30,
        note="three electronic/orchestral game soundtracks",
    ),
    PackageSpec(
        name="hedgewars-data",
        version="1.0.2-6",
        purpose="train",
        upstream="hedgewars",
        licence="voices and effects GFDL-1.3 (Droplet*: CC-BY-SA-3.0), music GPL-2",
        include=(
            Rule("usr/share/games/hedgewars/Data/Sounds/voices/*.ogg", "speech"),
            Rule("usr/share/games/hedgewars/Data/Music/*.ogg", "music"),
            Rule("usr/share/games/hedgewars/Data/Sounds/*.ogg", "sfx"),
        ),
        exclude=(
            "*/Sounds/[1-9][A-G].ogg",  # single synthetic notes
            "*/Sounds/beep.ogg",
            "*/Sounds/minetick.ogg",
            "*/Sounds/countdown*.ogg",
            "*/Sounds/Droplet*.ogg",  # water drops: positive candidates
            "*/Sounds/*water*.ogg",
            "*/Sounds/splash.ogg",
            "*/Sounds/Whistle.ogg",
            "*/Sounds/lasersight.ogg",
            "*/Sounds/sinegun.ogg",
            "*/Sounds/suddendeath.ogg",
            "*/Sounds/TARDIS.ogg",
            "*/Sounds/ice_beam*.ogg",
            "*/Sounds/ufo.ogg",
        ),
        expected_hours=1.82,
        expected_files=739,
        note="cartoon voice packs (many accents and languages), game music, weapon and impact effects",
    ),
    PackageSpec(
        name="ktuberling-data",
        version="4:22.12.3-1",
        purpose="train",
        upstream="kde-ktuberling",
        licence="GPL-2+",
        include=(Rule("usr/share/ktuberling/sounds/*", "speech"),),
        expected_hours=0.53,
        expected_files=1830,
        note="single spoken words in ~30 languages, many volunteer speakers",
    ),
    PackageSpec(
        name="tuxpaint-stamps-default",
        version="2022.06.04-1",
        purpose="train",
        upstream="tuxpaint",
        licence="GPL-2",
        include=(
            Rule("*_desc*.ogg", "speech"),
            Rule("*_desc*.wav", "speech"),
            Rule("usr/share/tuxpaint/stamps/symbols/*", "speech"),
            Rule("usr/share/tuxpaint/stamps/household/*", "sfx"),
            Rule("usr/share/tuxpaint/stamps/animals/*", "sfx"),
            Rule("usr/share/tuxpaint/stamps/hobbies/*", "sfx"),
            Rule("usr/share/tuxpaint/stamps/*.ogg", "sfx"),
            Rule("usr/share/tuxpaint/stamps/*.wav", "sfx"),
        ),
        exclude=(
            "*/vehicles/emergency/firetruck.ogg",  # siren
            "*/household/toilet.ogg",  # flush: water
            "*/household/tools/hammer.ogg",  # knock-like blows
            "*/household/tools/mallet_metal.ogg",
            "*/town/roadsigns/xing_ped.ogg",  # crossing signals
            "*/town/roadsigns/xing_school.ogg",
            "*/space/apollo_lander.ogg",  # radio beeps
        ),
        expected_hours=3.04,
        expected_files=7463,
        note="spoken stamp descriptions in ~15 languages (volunteers), animal and household recordings",
    ),
    PackageSpec(
        name="lincity-ng-data",
        version="2.9~git20150314-5",
        purpose="train",
        upstream="lincity-ng",
        licence="GPL-2+ (sound effects dual-licensed, see copyright)",
        include=(
            Rule("usr/share/games/lincity-ng/sounds/Click*.wav", "sfx"),
            Rule("usr/share/games/lincity-ng/sounds/Window*.wav", "sfx"),
            Rule("usr/share/games/lincity-ng/sounds/*.wav", "ambience"),
        ),
        exclude=(
            "*/FireStation*.wav",  # sirens
            "*/Health*.wav",  # ambulance sirens
            "*/Rocket2.wav",  # countdown beeps
            "*/Water*.wav",  # pumps with steady 3 kHz whine
        ),
        expected_hours=0.12,
        expected_files=122,
        note="city ambiences: residential streets, traffic, market, harbour, farm, industry, playground, crowds",
    ),
    PackageSpec(
        name="minetest-data",
        version="5.6.1+dfsg+~1.9.0mt8+dfsg-2",
        purpose="train",
        upstream="minetest",
        licence="CC-BY-SA-3.0 (doors: CC-BY-3.0)",
        include=(
            Rule("usr/share/games/minetest/games/minetest_game/mods/fire/sounds/*.ogg", "ambience"),
            Rule("usr/share/games/minetest/games/minetest_game/mods/env_sounds/sounds/*lava*.ogg", "ambience"),
            Rule("usr/share/games/minetest/games/minetest_game/mods/*.ogg", "sfx"),
        ),
        exclude=("*/env_sounds_water*",),
        expected_hours=0.02,
        expected_files=43,
        note="footsteps on many surfaces, digging, glass breaking, doors opening and closing, fire",
    ),
    PackageSpec(
        name="supertux-data",
        version="0.6.3-2",
        purpose="train",
        upstream="supertux",
        licence="music GPL-2+, speech and effects GPL-3+",
        include=(
            Rule("usr/share/games/supertux2/music/*.ogg", "music"),
            Rule("usr/share/games/supertux2/speech/*.ogg", "speech"),
            *(
                Rule(f"usr/share/games/supertux2/sounds/{name}", "sfx")
                for name in (
                    "brick.wav",
                    "cracking.wav",
                    "explosion.wav",
                    "fire.ogg",
                    "firecracker.ogg",
                    "fireworks.wav",
                    "flame.wav",
                    "icecrash.ogg",
                    "lightning.wav",
                    "thunder.wav",
                    "squish.wav",
                    "splat.wav",
                    "stomp.wav",
                    "thud.ogg",
                    "wood.wav",
                    "yeti_roar.wav",
                    "grunts.ogg",
                    "skid.wav",
                    "sizzle.ogg",
                    "lava.wav",
                )
            ),
        ),
        expected_hours=1.66,
        expected_files=70,
        note="game music (many styles), a few voice clips, curated realistic effects (jingles and bells left out)",
    ),
    # ---------------------------------------------------------------- dev: music-heavy, for the detectors' rules
    PackageSpec(
        name="widelands-data",
        version="2:1.1-3",
        purpose="dev",
        upstream="widelands",
        licence="GPL-2+ (music ingame_24-26: CC-BY-SA-3.0)",
        include=(
            Rule("usr/share/games/widelands/data/music/*.ogg", "music"),
            Rule("usr/share/games/widelands/data/sound/animals/*", "ambience"),
            Rule("usr/share/games/widelands/data/sound/*", "sfx"),
        ),
        expected_hours=1.74,
        expected_files=139,
        note="orchestral and folk game music; animals, farming, sawing, smithing, hammering, tavern effects",
    ),
    PackageSpec(
        name="freedroidrpg-data",
        version="1.0-1",
        purpose="dev",
        upstream="freedroidrpg",
        licence="GPL-2+",
        include=(
            Rule("usr/share/freedroidrpg/data/sound/music/*", "music"),
            Rule("usr/share/freedroidrpg/data/sound/effects/tux_ingame_comments/*", "speech"),
            Rule("usr/share/freedroidrpg/data/sound/effects/*", "sfx"),
        ),
        expected_hours=0.87,
        expected_files=153,
        note="electronic game music, robot voices and effects, a few spoken comments",
    ),
    PackageSpec(
        name="flare-game",
        version="1.14-1",
        purpose="dev",
        upstream="flare",
        licence="CC-BY-SA-3.0+",
        include=(
            Rule("usr/share/games/flare/mods/fantasycore/music/*", "music"),
            Rule("usr/share/games/flare/mods/*/soundfx/environment/*", "ambience"),
            Rule("usr/share/games/flare/mods/*/soundfx/*", "sfx"),
        ),
        expected_hours=0.72,
        expected_files=96,
        note="orchestral game music; fire, water and wind loops, steps, creatures, spells",
    ),
    PackageSpec(
        name="ardentryst",
        version="1.71-9",
        purpose="dev",
        upstream="ardentryst",
        licence="CC-BY-SA-3.0",
        include=(
            Rule("usr/share/games/ardentryst/Music/*", "music"),
            Rule("usr/share/games/ardentryst/Sounds/*", "sfx"),
        ),
        expected_hours=0.36,
        expected_files=92,
        note="game music, character shouts, monster and combat effects",
    ),
    PackageSpec(
        name="extremetuxracer-data",
        version="0.8.2-1",
        purpose="dev",
        upstream="extremetuxracer",
        licence="GPL-2+",
        include=(
            Rule("usr/share/games/etr/music/*", "music"),
            Rule("usr/share/games/etr/sounds/*", "sfx"),
        ),
        expected_hours=0.16,
        expected_files=17,
        note="game music, snow, wind and ice effects",
    ),
    PackageSpec(
        name="megaglest-data",
        version="3.13.0-3",
        purpose="dev",
        upstream="megaglest",
        licence="CC-BY-SA-3.0",
        include=(
            Rule("usr/share/games/megaglest/data/core/menu/music/*.ogg", "music"),
            Rule("usr/share/games/megaglest/techs/megapack/factions/*/music/*.ogg", "music"),
            Rule("usr/share/games/megaglest/tilesets/*/sounds/*", "ambience"),
            Rule("usr/share/games/megaglest/data/core/water_sounds/*.wav", "ambience"),
            Rule("usr/share/games/megaglest/techs/megapack/*/sounds/*", "sfx"),
        ),
        # the menu's clicks, sonar ping and attention beep are synthetic interface tones
        exclude=("usr/share/games/megaglest/data/core/menu/sound/*",),
        expected_hours=1.11,
        expected_files=1159,
        note="strategy-game music; units' spoken acknowledgements, battle, building and animal effects; day, "
        "night, rain and wind ambience",
    ),
    PackageSpec(
        name="supertuxkart-data",
        version="1.4+dfsg-2",
        purpose="dev",
        upstream="supertuxkart",  # not SuperTux (`supertux-data`, train): another project and team
        licence="GPL-3+ (debian/copyright, Files: *)",
        include=(
            Rule("usr/share/games/supertuxkart/data/music/*.ogg", "music"),
            Rule("usr/share/games/supertuxkart/data/sfx/*.ogg", "sfx"),
        ),
        # synthetic interface tones: the start countdown's beeps, a buzzer, the energy bar's and lock's blips, a
        # ticking clock, an airport chime
        exclude=(
            "*/sfx/pre_start_race.ogg",
            "*/sfx/start_race.ogg",
            "*/sfx/bzzt.ogg",
            "*/sfx/energy_bar_*.ogg",
            "*/sfx/locked.ogg",
            "*/sfx/clock.ogg",
            "*/sfx/sara_airport_pa.ogg",
        ),
        expected_hours=1.09,
        expected_files=87,
        note="kart-racing game music (many styles, with faster versions of some tracks); engines, crashes, "
        "crowds, weather and machine effects",
    ),
)

_FD = "usr/share/sounds/freedesktop/stereo/"
_FNG = "usr/share/games/fillets-ng/sound/"
_LC = "usr/share/games/lincity-ng/sounds/"
_LOMIRI = "usr/share/sounds/lomiri/"
_DEEPIN = "usr/share/sounds/deepin/stereo/"
_HW = "usr/share/games/hedgewars/Data/Sounds/"
_TP = "usr/share/tuxpaint/stamps/"
_MT = "usr/share/games/minetest/games/minetest_game/mods/"
_ST = "usr/share/games/supertux2/sounds/"

# Labels come from file names, the packages' own descriptions and a look at spectrograms, not from listening:
# check each by ear before it becomes ground truth.
POSITIVE_CANDIDATES: tuple[PositiveCandidate, ...] = (
    PositiveCandidate("sound-theme-freedesktop", _FD + "alarm-clock-elapsed.oga", "alarm_clock", "CC-BY-SA-3.0"),
    PositiveCandidate("sound-theme-freedesktop", _FD + "bell.oga", "doorbell", "single bell strike, CC-BY-3.0"),
    PositiveCandidate("sound-theme-freedesktop", _FD + "complete.oga", "appliance_beep", "chime, CC-BY-3.0"),
    PositiveCandidate("sound-theme-freedesktop", _FD + "dialog-warning.oga", "appliance_beep", "GPL-2+"),
    PositiveCandidate("sound-theme-freedesktop", _FD + "suspend-error.oga", "appliance_beep", "GPL-2+"),
    PositiveCandidate("sound-theme-freedesktop", _FD + "phone-incoming-call.oga", "phone_ring", "GPL-2+"),
    PositiveCandidate("sound-theme-freedesktop", _FD + "phone-outgoing-calling.oga", "phone_ring", "ring-back tone"),
    PositiveCandidate("sound-theme-freedesktop", _FD + "phone-outgoing-busy.oga", "appliance_beep", "busy tone"),
    PositiveCandidate("sound-theme-freedesktop", _FD + "audio-test-signal.oga", "test_tone", "GPL-2+"),
    PositiveCandidate("lomiri-sounds", _LOMIRI + "ringtones/Alarm clock.ogg", "alarm_clock"),
    PositiveCandidate("lomiri-sounds", _LOMIRI + "ringtones/Alarm synth.ogg", "alarm_clock"),
    PositiveCandidate("lomiri-sounds", _LOMIRI + "notifications/LowBattery.ogg", "appliance_beep"),
    PositiveCandidate("lomiri-sounds", _LOMIRI + "notifications/A440.ogg", "appliance_beep"),
    PositiveCandidate("lomiri-sounds", _LOMIRI + "notifications/Blip.ogg", "appliance_beep"),
    PositiveCandidate("lomiri-sounds", _LOMIRI + "ringtones/Wind chime.ogg", "doorbell", "chimes"),
    PositiveCandidate("deepin-sound-theme", _DEEPIN + "power-unplug-battery-low.wav", "appliance_beep"),
    PositiveCandidate("deepin-sound-theme", _DEEPIN + "dialog-error.wav", "appliance_beep"),
    PositiveCandidate("deepin-sound-theme", _DEEPIN + "dialog-error-serious.wav", "appliance_beep"),
    PositiveCandidate("deepin-sound-theme", _DEEPIN + "dialog-error-critical.wav", "appliance_beep"),
    PositiveCandidate("oxygen-sounds", "usr/share/sounds/Oxygen-Sys-App-Error.ogg", "appliance_beep"),
    PositiveCandidate("oxygen-sounds", "usr/share/sounds/Oxygen-Sys-App-Error-Critical.ogg", "appliance_beep"),
    PositiveCandidate("oxygen-sounds", "usr/share/sounds/Oxygen-Im-Phone-Ring.ogg", "phone_ring"),
    PositiveCandidate("fillets-ng-data", _FNG + "steel/en/steel-x-redalert.ogg", "alarm", "red alert, GPL-2"),
    PositiveCandidate("fillets-ng-data", _FNG + "bathyscaph/en/bat-t-budik.ogg", "alarm_clock"),
    PositiveCandidate("fillets-ng-data", _FNG + "bathyscaph/en/bat-t-phone0.ogg", "phone_ring"),
    PositiveCandidate("fillets-ng-data", _FNG + "bathyscaph/en/bat-t-phone1.ogg", "phone_ring"),
    PositiveCandidate("fillets-ng-data", _FNG + "dump/en/sm-x-tiktak.ogg", "ticking"),
    PositiveCandidate("fillets-ng-data", _FNG + "imprisoned/en/ncp-x-tik.ogg", "ticking"),
    PositiveCandidate("lugaru-data", "usr/share/games/lugaru/Sounds/Alarm.ogg", "alarm", "game alarm, CC-BY-SA-3.0"),
    PositiveCandidate("lugaru-data", "usr/share/games/lugaru/Sounds/ConsoleFail.ogg", "appliance_beep"),
    PositiveCandidate("lugaru-data", "usr/share/games/lugaru/Sounds/ConsoleSuccess.ogg", "appliance_beep"),
    PositiveCandidate("asterisk-core-sounds-en-g722", _AST + "en_US_f_Allison/beep.g722", "appliance_beep", "tone"),
    PositiveCandidate("asterisk-core-sounds-en-g722", _AST + "en_US_f_Allison/beeperr.g722", "appliance_beep"),
    PositiveCandidate("asterisk-core-sounds-en-g722", _AST + "en_US_f_Allison/ascending-2tone.g722", "appliance_beep"),
    PositiveCandidate("asterisk-core-sounds-en-g722", _AST + "en_US_f_Allison/descending-2tone.g722", "appliance_beep"),
    PositiveCandidate("hedgewars-data", _HW + "beep.ogg", "appliance_beep"),
    PositiveCandidate("hedgewars-data", _HW + "minetick.ogg", "appliance_beep", "ticking"),
    PositiveCandidate("hedgewars-data", _HW + "Droplet1.ogg", "water_running", "drops, freesound, CC-BY-SA-3.0"),
    PositiveCandidate("hedgewars-data", _HW + "Droplet2.ogg", "water_running", "drops"),
    PositiveCandidate("hedgewars-data", _HW + "Droplet3.ogg", "water_running", "drops"),
    PositiveCandidate("hedgewars-data", _HW + "splash.ogg", "water_running", "splash"),
    PositiveCandidate("tuxpaint-stamps-default", _TP + "household/toilet.ogg", "water_running", "flush"),
    PositiveCandidate("tuxpaint-stamps-default", _TP + "household/tools/hammer.ogg", "knock", "hammer blows"),
    PositiveCandidate("tuxpaint-stamps-default", _TP + "household/tools/mallet_metal.ogg", "knock", "mallet blows"),
    PositiveCandidate("tuxpaint-stamps-default", _TP + "vehicles/emergency/firetruck.ogg", "siren"),
    PositiveCandidate("tuxpaint-stamps-default", _TP + "town/roadsigns/xing_ped.ogg", "appliance_beep", "crossing"),
    PositiveCandidate("tuxpaint-stamps-default", _TP + "town/roadsigns/xing_school.ogg", "appliance_beep", "crossing"),
    PositiveCandidate("lincity-ng-data", _LC + "FireStation3.wav", "siren"),
    PositiveCandidate("lincity-ng-data", _LC + "Health3.wav", "siren", "two-tone siren (spectrogram seen)"),
    PositiveCandidate("lincity-ng-data", _LC + "Health4.wav", "siren"),
    PositiveCandidate("lincity-ng-data", _LC + "Rocket2.wav", "appliance_beep", "3.1 kHz beeps"),
    PositiveCandidate("lincity-ng-data", _LC + "Water4.wav", "appliance_beep", "steady 3.1 kHz whine over a pump?"),
    PositiveCandidate("tuxpaint-data", "usr/share/tuxpaint/sounds/bleep.wav", "appliance_beep"),
    PositiveCandidate("tuxpaint-data", "usr/share/tuxpaint/sounds/typewriterbell.wav", "doorbell", "small bell"),
    *(
        PositiveCandidate("minetest-data", f"{_MT}env_sounds/sounds/env_sounds_water.{i}.ogg", "water_running")
        for i in range(1, 5)
    ),
    PositiveCandidate("supertux-data", _ST + "waterfall.wav", "water_running"),
    PositiveCandidate("supertux-data", _ST + "rain.wav", "water_running", "rain"),
    PositiveCandidate("supertux-data", _ST + "phone.wav", "phone_ring"),
    PositiveCandidate("supertux-data", _ST + "savebell2.wav", "doorbell", "bell"),
    PositiveCandidate("supertux-data", _ST + "savebell_low.wav", "doorbell", "bell"),
)


# Packages that only the positive set uses: version seen and licence of the listed files.
POSITIVE_ONLY_PACKAGES: dict[str, tuple[str, str]] = {
    "sound-theme-freedesktop": ("0.8-2", "GPL-2+ / CC-BY-3.0 / CC-BY-SA-3.0 per file (see copyright)"),
    "lomiri-sounds": ("22.02-1", "CC0-1.0 / CC-BY-3.0 / CC-BY-SA-3.0 / CC-BY-4.0 per file (see copyright)"),
    "deepin-sound-theme": ("15.10.6-1", "GPL-3"),
    "oxygen-sounds": ("4:5.27.5-2", "LGPL-3.0-or-later"),
    "tuxpaint-data": ("1:0.9.28-sdl2-1", "GPL-2+"),
}


def packages(purpose: Purpose, manifest: Sequence[PackageSpec] = MANIFEST) -> list[PackageSpec]:
    """The packages of one set; for "positive", one spec per package holding exactly the candidate files."""
    if purpose != "positive":
        return [spec for spec in manifest if spec.purpose == purpose]
    known = {spec.name: spec for spec in manifest}
    specs = []
    for name in dict.fromkeys(c.package for c in POSITIVE_CANDIDATES):
        rules = tuple(Rule(c.path, c.label) for c in POSITIVE_CANDIDATES if c.package == name)
        if name in known:
            version, licence = known[name].version, known[name].licence
        else:
            version, licence = POSITIVE_ONLY_PACKAGES[name]
        # Beeps and clicks are short: keep anything audible for a labelled test set.
        specs.append(
            PackageSpec(name, version, "positive", name, licence, rules, note="positive candidates", min_seconds=0.05)
        )
    return specs


def check_disjoint(manifest: Iterable[PackageSpec] = MANIFEST) -> None:
    """Raise ValueError unless the negative sets (eval, train, dev) share no package and no upstream project."""
    specs = list(manifest)
    for key in ("name", "upstream"):
        seen = {p: {getattr(s, key) for s in specs if s.purpose == p} for p in NEGATIVE_PURPOSES}
        for i, a in enumerate(NEGATIVE_PURPOSES):
            for b in NEGATIVE_PURPOSES[i + 1 :]:
                shared = seen[a] & seen[b]
                if shared:
                    raise ValueError(f"{a} and {b} share {key}(s): {', '.join(sorted(shared))}")
    names = [spec.name for spec in specs]
    dupes = sorted({name for name in names if names.count(name) > 1})
    if dupes:
        raise ValueError(f"packages listed more than once: {', '.join(dupes)}")


def check_positives_excluded(
    manifest: Iterable[PackageSpec] = MANIFEST, positives: Iterable[PositiveCandidate] = POSITIVE_CANDIDATES
) -> None:
    """Raise ValueError if a negative set's rules would take a file listed as a positive candidate."""
    by_name = {spec.name: spec for spec in manifest}
    leaks = [
        f"{c.package}:{c.path}"
        for c in positives
        if c.package in by_name and by_name[c.package].content_of(c.path) is not None
    ]
    if leaks:
        raise ValueError(f"positive candidates would land in a negative set: {', '.join(leaks)}")
