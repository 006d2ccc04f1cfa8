"""A development set of hand-written paraphrases for the fixture home (benchmarks/voice_cases.py).

The evaluation's own paraphrases (`voice_cases.PARAPHRASES`) are held out: the agent's handling of
paraphrases is developed and checked on these, and the evaluation is run once after the method is fixed.
Written before the evaluation's paraphrases were read, by a different author, in the same form: commands
with the resulting state, questions with facts the answer must hold, and impossible requests that must
change nothing and say so. Like the evaluation's, none of them is a sentence of Home Assistant's or
BinMoE's templates (tests/integration/test_voice_harness.py checks); since then, BinMoE's sentences were
made more general on the BinMoE questions here (marked `intent="binmoe"`), which they now match.

Run them: `python -m gpu_backend eval-voice --dev` (nothing is written to docs/).
"""

from __future__ import annotations

from typing import Any

from .voice_cases import Case


def _do(sentence: str, changes: dict[str, dict[str, Any]]) -> Case:
    return Case(sentence, "paraphrase", changes=changes)


def _ask(sentence: str, *facts: str) -> Case:
    return Case(sentence, "paraphrase", facts=list(facts))


def _node(sentence: str, *facts: str) -> Case:
    """A question about BinMoE's nodes: the kind BinMoE's own sentences were made more general for."""
    return Case(sentence, "paraphrase", facts=list(facts), intent="binmoe")


def _no(sentence: str) -> Case:
    return Case(sentence, "paraphrase", refuse=True)


def _light(entity_id: str, state: str, brightness: int | None = None) -> dict[str, dict[str, Any]]:
    return {entity_id: {"state": state, **({"brightness": brightness} if brightness is not None else {})}}


DEV_PARAPHRASES = [
    # commands
    _do("could you get the kitchen light on for me", _light("light.kitchen", "on")),
    _do("I need some light in the kitchen", _light("light.kitchen", "on")),
    _do("kill the light in the bedroom", _light("light.bedroom", "off")),
    _do("bedroom light off please, I'm going to sleep", _light("light.bedroom", "off")),
    _do("the lamp in the living room, switch it on", _light("light.living_room_lamp", "on")),
    _do("dim the bedroom light down to twenty percent", _light("light.bedroom", "on", 51)),
    _do("put the kitchen light at 50 percent brightness please", _light("light.kitchen", "on", 128)),
    _do("bring the living room blinds down to 30 percent", {"cover.living_room_blinds": {"current_position": 30}}),
    _do("let some light in, living room blinds to 80 percent", {"cover.living_room_blinds": {"current_position": 80}}),
    _do("shut the garage for me", {"cover.garage_door": {"state": "closing"}}),
    _do("open up the garage, I'm bringing the car in", {"cover.garage_door": {"state": "opening"}}),
    _do("crank the heating up to 23 degrees", {"climate.thermostat": {"temperature": 23}}),
    _do("I'm cold, make it 22 degrees in here", {"climate.thermostat": {"temperature": 22}}),
    _do("drop the thermostat to 18", {"climate.thermostat": {"temperature": 18}}),
    _do("start the workshop fan up", {"fan.workshop_fan": {"state": "on"}}),
    _do("stop the fan in the workshop please", {"fan.workshop_fan": {"state": "off"}}),
    _do("run the workshop fan at 60 percent", {"fan.workshop_fan": {"state": "on", "percentage": 60}}),
    _do("fire up the lathe", {"switch.lathe": {"state": "on"}}),
    _do("power the lathe down", {"switch.lathe": {"state": "off"}}),
    _do("the front door needs locking", {"lock.front_door": {"state": "locked"}}),
    _do("unbolt the front door", {"lock.front_door": {"state": "unlocked"}}),
    # questions about the home's state
    _ask("tell me whether the front door is locked", "unlocked"),
    _ask("how warm is it in the living room right now", "19.5"),
    _ask("what's it like outside temperature-wise", "12"),
    _ask("is the lathe switched on at the moment", "off"),
    _ask("are the blinds in the living room down at the moment", "closed|yes"),
    # BinMoE questions
    _node("what has the garage microphone been hearing", "smoke alarm"),
    _node("anything unusual from the garage sensor", "smoke alarm"),
    _node("what's going on with the lathe", "bearing"),
    _node("did the kitchen sensor pick anything up", "appliance beeping|doorbell"),
    _node("what caused the garage sensor to raise the alarm", "smoke alarm"),
    _node("what made the kitchen alarm go off", "appliance beeping"),
    _node("how's the pump holding up", "looks fine"),
    _node("is everything alright with the pump", "looks fine"),
    _node("give me a status report on the lathe sensor", "attention"),
    _node("how many escalations have there been so far today", "3 detections were escalated"),
    _node("how many things got escalated to the gpu today", "3 detections were escalated"),
    _node("any problems with the workshop sensor", "attention|bearing"),
    _node("please learn what normal sounds like for the lathe", "nothing was changed"),
    _node("record a new baseline for the pump", "nothing was changed"),
    _node("anything heard by the attic microphone lately", "no binmoe node in the attic"),
    # impossible here: nothing may change, and the reply must say so
    _no("put a light on up in the attic for me"),
    _no("water the garden"),
    _no("could you crack the bedroom window open a bit"),
    _no("preheat the oven to 180"),
    _no("make me a coffee"),
    _no("switch on the sprinklers"),
]
