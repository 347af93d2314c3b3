"""Everything the assistant says about verification, word for word as the help centre shows it."""

from __future__ import annotations

import math
from datetime import datetime

NO_ACCOUNT = (
    "No account found for this phone number. Please ensure your phone number is registered with your "
    "account on our website."
)
MULTIPLE_ACCOUNTS = "Multiple accounts found for this phone number:"
WHICH_PROFILE = "Which profile would you like to use?"
CODE_MESSAGE = "Your verification code is: {code}\nThis code expires in {minutes} minutes."
VERIFIED = "You're now verified! How can I help you today?"
INVALID_CODE = "Invalid or expired code. Please try again or request a new code."
LOGGED_OUT = "You've been logged out. Send a message anytime to start a new session."
SESSION_EXPIRED = "Your session has expired. For security, please verify your identity again."

CODE_BY_EMAIL = (
    "For your security, we've sent your verification code to {email}. Please enter it here. "
    "It expires in {minutes} minutes."
)
EMAIL_SUBJECT = "Your verification code for {business}"
EMAIL_TEXT = (
    "Hello {name},\n\n"
    "Your verification code for {business} on WhatsApp is: {code}\n\n"
    "It expires in {minutes} minutes. If you did not ask for it, ignore this email: nobody can use your "
    "account without it.\n"
)
ENTER_CODE = 'Please enter the 6-digit code we sent you, or say "verify" to get a new one.'
NOT_LOGGED_IN = "You're not logged in. Send a message anytime to start a new session."
ALREADY_VERIFIED = "You're already verified. How can I help you today?"
PICK_AGAIN = "Sorry, I couldn't match that to a profile. Please reply with its number, name or email."
AMBIGUOUS_NAME = "More than one profile is called {name}. Please reply with its number or email instead."
OLD_LIST = "That list is no longer current. Please choose from the latest list."
UNKNOWN_CHOICE = "Sorry, I didn't recognise that choice. Please type your question."
TEXT_ONLY = "Sorry, I can only read text messages. Please type your question."
EMPTY = "Sorry, I received an empty message. Please type your question."
NO_WORDS = "Sorry, I can only understand words. Please type your question."
TOO_LONG = "Sorry, that message is too long for me. Please send a shorter one (up to {limit} characters)."
OPTED_OUT = (
    "You won't receive messages from us on WhatsApp any more. You can still write to us anytime; "
    "send START to receive them again."
)
OPTED_IN = "You'll receive our WhatsApp messages again. Send STOP anytime to stop them."
OPT_OUT_CONFIRM = (
    "Stop all WhatsApp messages from {business}? Reply YES to confirm. You can send START any time to get "
    "them again."
)
OPT_OUT_CANCELLED = "OK, nothing has changed: you'll still receive our WhatsApp messages."
ERASE_CONFIRM = "This will delete your message history with us. Reply YES to confirm."
ERASED = "Your message history has been deleted."
ERASE_CANCELLED = "Nothing was deleted."
TOO_MANY_CODES = "You've asked for too many codes. Please try again in {wait} (after {at:%H:%M} UTC)."
BUSY = "We're sending too many codes right now. Please try again in {wait} (after {at:%H:%M} UTC)."

PUBLIC_MENU = (
    "Here's what you can ask me:\n"
    "• our services and prices\n"
    "• availability for a day\n"
    "• help articles\n"
    "After a quick verification you can also see, book or cancel your bookings and check your "
    "subscriptions."
)
VERIFIED_MENU = (
    "You're verified. You can ask to see your bookings, book or cancel an appointment, check your "
    'subscriptions, or say "log out".'
)


def wait_text(until: datetime, now: datetime) -> str:
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"


def mask_email(email: str) -> str:
    """``sarah@example.com`` -> ``s***h@example.com``: enough to recognise one's own address."""
    local, _, domain = email.partition("@")
    if not local:
        return f"***@{domain}"
    masked = f"{local[0]}***{local[-1] if len(local) > 1 else ''}"
    return f"{masked}@{domain}" if domain else masked
