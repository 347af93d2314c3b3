"""The assistant's one state machine: what a conversation is doing (:class:`Flow`) and the question it
waits on (:class:`Step`), for verification and for the dialogue alike.

Both live in the sender's conversation state (``assistant_states``) as their strings: the verification step
under ``step``, the dialogue's under ``dialogue.step``. Read them back with :func:`verification_step` and
:func:`dialogue_step`, never by comparing strings: states stored before the two machines were one enum say
``"choose"`` for both choices, and these readers map it by where it is found.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class Flow(StrEnum):
    """What a pending dialogue is doing (``draft["flow"]``)."""

    BOOK = "book"
    CANCEL = "cancel"
    RESCHEDULE = "reschedule"


class Step(StrEnum):
    """The question a conversation waits on."""

    # Verification (``state["step"]``).
    CODE = "code"  # the code sent?
    CHOOSE_PROFILE = "choose_profile"  # which of the accounts this phone reaches?
    # The dialogue of a verified customer (``state["dialogue"]["step"]``).
    SERVICE = "service"  # which service?
    DAY = "day"  # which day?
    SLOT = "slot"  # which of these free times?
    CHOOSE_BOOKING = "choose_booking"  # which of your bookings?
    CONFIRM = "confirm"  # yes or no?


VERIFICATION_STEPS = frozenset({Step.CODE, Step.CHOOSE_PROFILE})
DIALOGUE_STEPS = frozenset(Step) - VERIFICATION_STEPS
_LEGACY_CHOOSE = "choose"  # the value both choices were stored as until the enums were one


def verification_step(state: Mapping[str, Any]) -> Step | None:
    """The verification step pending in a conversation state, if any."""
    return _read(state.get("step"), choose=Step.CHOOSE_PROFILE, allowed=VERIFICATION_STEPS)


def dialogue_step(draft: Mapping[str, Any]) -> Step | None:
    """The step a pending dialogue waits on, if any."""
    return _read(draft.get("step"), choose=Step.CHOOSE_BOOKING, allowed=DIALOGUE_STEPS)


def _read(value: Any, *, choose: Step, allowed: frozenset[Step]) -> Step | None:
    if value == _LEGACY_CHOOSE:
        return choose
    try:
        step = Step(value)
    except ValueError:
        return None
    return step if step in allowed else None
