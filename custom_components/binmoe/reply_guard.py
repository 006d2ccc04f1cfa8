"""What the LLM may say in one turn: no state change claimed without a successful tool call behind it, no
state reported without a look at the home (a tool result) this turn, no sentence said twice, and no reply
longer than a few seconds of speech.

The reply is passed on sentence by sentence (what text-to-speech consumes anyway), so every sentence is
checked before anyone hears it: a small model that answers "The kitchen light is turned on." without
calling a tool is replaced by a plain "I did not do that", and one that loops is cut at the first repeat.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from typing import Any, Literal

from homeassistant.components import conversation

# A sentence that reports a change of state: "is turned on", "I've opened", "switching off", "is now locked".
_CHANGE = re.compile(
    r"\b(?:turn|switch)(?:ed|ing)\b"
    r"|\b(?:is|are|was|were|been|be)\s+now\s+(?:on|off|open|opened|closed|locked|unlocked|dimmed|brightened|"
    r"started|stopped|activated|deactivated|armed|disarmed|paused|playing)\b"
    r"|\b(?:is|are|was|were|been|be)\s+(?:all\s+)?(?:opened|dimmed|brightened|started|stopped|activated|"
    r"deactivated)\b"
    r"|\b(?:i|i've|i have|i'll|i will|i'm|i am|we've)\s+(?:now\s+|just\s+|also\s+)?(?:turned|switched|opened|closed|"
    r"locked|unlocked|set|dimmed|brightened|started|stopped|activated|deactivated|adjusted|changed|raised|"
    r"lowered|increased|decreased|armed|disarmed|paused|played|turning|switching|opening|closing|locking|"
    r"unlocking|setting|dimming|starting|stopping|adjusting|changing)\b"
    r"|\b(?:opening|closing|locking|unlocking|dimming|brightening)\s+(?:the|your|all)\b"
    r"|\b(?:has|have)\s+been\s+(?:set|adjusted|changed|raised|lowered)\b"
    r"|\bnow\s+set\s+to\b|\bset\s+to\s+\d",
    re.IGNORECASE,
)
# A sentence that reports a state: "is on", "is currently on", "are all off", "is already locked". Said in reply
# to a command it reads as done ("switch on the lamp" -> "The lamp is currently on."), so it needs a look at the
# home (a tool result) this turn, or an action.
_STATE = re.compile(
    r"\b(?:is|are|was|were|been|be)\s+(?:currently\s+|already\s+|still\s+|all\s+|right\s+)*(?:on|off|open|"
    r"closed|locked|unlocked|armed|disarmed|paused|playing)\b",
    re.IGNORECASE,
)
# A sentence ends at . ! ? (with closing quotes or brackets) before whitespace, or at a line break.
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*\s+|\n+")
MIN_REPEAT_CHARS = 8  # shorter sentences ("OK.", "Yes.") may fairly come twice


def claim_kind(sentence: str) -> Literal["change", "state"] | None:
    """'change' (it reports a change), 'state' (it reports how something is) or None (no claim about the home)."""
    if _CHANGE.search(sentence):
        return "change"
    return "state" if _STATE.search(sentence) else None


def claims_state_change(sentence: str) -> bool:
    """Whether the sentence says anything about the home's state (a change, or how something is)."""
    return claim_kind(sentence) is not None


def _normalized(sentence: str) -> str:
    return " ".join(re.findall(r"\w+", sentence.lower()))


def acted_this_turn(contents: Sequence[conversation.Content]) -> bool:
    """Whether a tool call since the user's last message changed something in the home."""
    return _tool_answered_this_turn(contents, _changed_something)


def looked_this_turn(contents: Sequence[conversation.Content]) -> bool:
    """Whether a tool call since the user's last message answered without an error (an action, or a look at the
    home's state such as Home Assistant's live context)."""
    return _tool_answered_this_turn(contents, _no_error)


def _tool_answered_this_turn(contents: Sequence[conversation.Content], counts: Callable[[Any], bool]) -> bool:
    """Whether a tool result since the user's last message succeeded and its data `counts`."""
    for content in reversed(contents):
        if isinstance(content, conversation.UserContent):
            return False
        if (
            isinstance(content, conversation.ToolResultContent)
            and not content.result.error
            and counts(content.result.data)
        ):
            return True
    return False


def _no_error(result: Any) -> bool:
    return not (isinstance(result, dict) and "error" in result)


def _changed_something(result: Any) -> bool:
    """Intent tools answer with an intent response: an action counts when at least one target succeeded."""
    if not isinstance(result, dict) or "error" in result:
        return False
    if result.get("response_type") == "action_done":
        data = result.get("data") or {}
        return bool(data.get("success")) or not data.get("failed")
    return result.get("success") is True


async def guarded_stream(
    deltas: AsyncGenerator[conversation.AssistantContentDeltaDict],
    *,
    acted: Callable[[], bool],
    looked: Callable[[], bool] | None = None,
    cannot: str,
    too_slow: str,
    deadline: float,
    max_chars: int,
) -> AsyncGenerator[conversation.AssistantContentDeltaDict]:
    """Pass `deltas` on, text sentence by sentence; stop at a repeat, the deadline or `max_chars`, and
    replace by `cannot` a sentence that claims a state change nothing made (`acted()` false) or reports a state
    nobody looked at (`acted()` and `looked()` false; `looked` defaults to `acted`). A reply cut by the
    deadline before its first sentence says `too_slow`."""
    looked_at = looked or acted
    seen: set[str] = set()
    buffer = ""
    said = 0

    def verdict(sentence: str) -> str:
        """'say', 'stop' (a repeat or too long) or 'cannot' (an unbacked claim)."""
        key = _normalized(sentence)
        if len(key) >= MIN_REPEAT_CHARS and key in seen:
            return "stop"
        seen.add(key)
        kind = claim_kind(sentence)
        if kind == "change" and not acted():
            return "cannot"
        if kind == "state" and not (acted() or looked_at()):
            return "cannot"
        return "stop" if said and said + len(sentence) > max_chars else "say"

    async with aclosing(deltas):
        async for delta in deltas:
            text = delta.get("content")
            if not isinstance(text, str):
                yield delta
                continue
            buffer += text
            while (end := _SENTENCE_END.search(buffer)) is not None:
                sentence, buffer = buffer[: end.end()], buffer[end.end() :]
                if not sentence.strip():
                    continue
                match verdict(sentence):
                    case "cannot":
                        yield {"content": cannot}
                        return
                    case "stop":
                        return
                said += len(sentence)
                yield {"content": sentence}
            if len(buffer) > max_chars:  # no sentence end in sight ("Bang-Bang-Bang-..."): say a part at most
                part = buffer[:max_chars].rsplit(" ", 1)[0]
                if verdict(part) == "cannot":
                    yield {"content": cannot}
                elif not said:
                    yield {"content": part}
                return
            if time.monotonic() > deadline:
                if not said:
                    yield {"content": too_slow}
                return
    if buffer.strip():
        match verdict(buffer):
            case "cannot":
                yield {"content": cannot}
            case "say":
                yield {"content": buffer}
