"""Fifty customer messages, written the way people write them (typos, other word orders, times in several
forms), and what the assistant understands from each (issue 6). Monday 23 November 2026 is "today"."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time

import pytest

from domain.assistant.understanding import Ask, parse_time, pick_number, understand

NAMES = ["Haircut", "Deep Tissue Massage", "Colour", "Beard Trim"]
MONDAY = date(2026, 11, 23)
TUE, WED, THU, FRI, SAT = (date(2026, 11, d) for d in (24, 25, 26, 27, 28))

CASES: list[tuple[str, Ask]] = [
    # booking in one sentence
    ("book a haircut tomorrow at 10am", Ask("book", "Haircut", TUE, time(10))),
    ("Book haircut tomorrow 10 am", Ask("book", "Haircut", TUE, time(10))),
    ("can i get a haircut tmrw at 3pm", Ask("book", "Haircut", TUE, time(15))),
    ("I'd like a hair cut on friday at 15:00", Ask("book", "Haircut", FRI, time(15))),
    ("tomorrow 10am haircut please", Ask("book", "Haircut", TUE, time(10))),
    ("haircut at 2pm on wednesday", Ask("book", "Haircut", WED, time(14))),
    ("booking for a massage 28/11 at 10.30", Ask("book", "Deep Tissue Massage", SAT, time(10, 30))),
    ("book deep tissue massage next friday 9:15", Ask("book", "Deep Tissue Massage", FRI, time(9, 15))),
    ("i want a colour on thursday at noon", Ask("book", "Colour", THU, time(12))),
    ("reserve beard trim tommorow @ 4", Ask("book", "Beard Trim", TUE, time(16))),
    ("can I book a beard trim at half past 2 on thu", Ask("book", "Beard Trim", THU, time(14, 30))),
    ("book me in for a haircutt on fridy at 11", Ask("book", "Haircut", FRI, time(11))),
    ("appointment for colour 2026-11-27 at 17:30", Ask("book", "Colour", FRI, time(17, 30))),
    ("Haircut, Wednesday, 9AM", Ask("book", "Haircut", WED, time(9))),
    ("massage tomorrow at 4 pm", Ask("book", "Deep Tissue Massage", TUE, time(16))),
    ("cut hair tomorrow 11:00", Ask("book", "Haircut", TUE, time(11))),
    # booking step by step
    ("I'd like to book", Ask("book")),
    ("book an appointment", Ask("book")),
    ("can i make an apointment", Ask("book")),
    ("book a haircut", Ask("book", "Haircut")),
    ("i want to book a massage on saturday", Ask("book", "Deep Tissue Massage", SAT)),
    ("booking tomorrow", Ask("book", None, TUE)),
    # bookings
    ("show my bookings", Ask("bookings")),
    ("my bokings", Ask("bookings")),
    ("what have I booked?", Ask("bookings")),
    ("When is my next appointment", Ask("bookings")),
    ("list my appointments pls", Ask("bookings")),
    ("upcoming", Ask("bookings")),
    # cancelling
    ("cancel my booking", Ask("cancel")),
    ("cancle my apointment", Ask("cancel")),
    ("I can't make it tomorrow", Ask("cancel", None, TUE)),
    ("please cancel the haircut on friday", Ask("cancel", "Haircut", FRI)),
    ("CANCEL", Ask("cancel")),
    ("cancellation please", Ask("cancel")),
    # rescheduling
    ("reschedule my appointment", Ask("reschedule")),
    ("reshedule to friday 3pm", Ask("reschedule", None, FRI, time(15))),
    ("can I move my booking to 10am tomorrow", Ask("reschedule", None, TUE, time(10))),
    ("postpone my haircut to next wednesday", Ask("reschedule", "Haircut", WED)),
    ("change the time of my booking to 16:00", Ask("reschedule", None, None, time(16))),
    ("I need a different day", Ask("reschedule")),
    # subscriptions
    ("my subscriptions", Ask("subscriptions")),
    ("how many sessions do I have left?", Ask("subscriptions")),
    ("subscribtion", Ask("subscriptions")),
    ("what's left on my membership", Ask("subscriptions")),
    ("remaining visits this month", Ask("subscriptions")),
    ("quota", Ask("subscriptions")),
    # not a verified request (public questions and chatter go elsewhere)
    ("what are your prices", Ask(None)),
    ("hello there", Ask(None)),
    ("thanks!", Ask(None)),
    ("book a haircut on 31/02", Ask("book", "Haircut", bad_date=True)),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_message_is_understood(text: str, expected: Ask) -> None:
    # The verified reading (the public one is test_public.py's).
    assert replace(understand(text, names=NAMES, today=MONDAY), question=None) == expected


def test_the_set_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10am", time(10)),
        ("10 AM", time(10)),
        ("10:30pm", time(22, 30)),
        ("12am", time(0)),
        ("12pm", time(12)),
        ("15:00", time(15)),
        ("9h45", time(9, 45)),
        ("at 3", time(15)),
        ("at 9", time(9)),
        ("at 10.30", time(10, 30)),
        ("noon", time(12)),
        ("13pm", None),
        ("28/11", None),
    ],
)
def test_times_in_several_forms(text: str, expected: time | None) -> None:
    assert parse_time(text)[0] == expected


@pytest.mark.parametrize(
    ("text", "size", "expected"),
    [
        ("2", 3, 1),
        ("#3", 3, 2),
        ("number 1", 3, 0),
        ("the second one", 3, 1),
        ("last", 4, 3),
        ("4", 3, None),
        ("0", 3, None),
        ("two", 3, None),
    ],
)
def test_numbered_replies(text: str, size: int, expected: int | None) -> None:
    assert pick_number(text, size) == expected
