"""What a shared report must never show: e-mail addresses, phone numbers and the values of PII columns.

:class:`Matcher` finds them in plain text (what a reader sees); the publisher
runs it on every output of every notebook and on every finished page, and
refuses to publish on any hit. A finding never repeats the value it found,
only a masked form (``an***st``).

What is looked for:

- any e-mail address (not only those of the inputs: free-text fields carry others);
- phone numbers written in international form (``+49 30 5550101``) or North
  American form (``(212) 555-0103``), and any digit run equal to a phone value
  of the inputs in its last eight digits, however it is punctuated;
- the values of the data model's PII columns (``email``, ``phone``,
  ``full_name``, and ``first_name`` + ``last_name`` together), as whole words,
  case-insensitively. First or last names alone are not looked for: on their
  own they are too often ordinary words or company names.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from salign.workspace.schema import PII_COLUMNS

#: every quantifier is bounded or cannot backtrack across a token, so a scan takes time linear in the text
#: (one 1 MB word took minutes with unbounded ones): an address has a local part of at most 64 characters (of a
#: longer one, the last 64 are found) and at most 8 domain labels of at most 63
EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}\.[A-Za-z]{2,24}")
#: international form: + and a country code (never 0), then digits in groups split by single spaces, hyphens,
#: slashes or parentheses; no dots, so signed decimals with intervals (``+0.12 (0.05-0.19)``) are not phones
PHONE_INTL = re.compile(r"(?<![\w+])\+[1-9](?:[\d()/-]| (?! )){0,40}\d")
#: North American form: (212) 555-0103, 212-555-0103, 212.555.0103
PHONE_NA = re.compile(r"(?<![\w.])\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?![\w.])")
#: either form (for redacting text; :class:`Matcher` also checks the digit count)
PHONE = re.compile(f"{PHONE_INTL.pattern}|{PHONE_NA.pattern}")
#: any phone-like run (no dots, no double spaces: table cells and decimals do not merge into one)
DIGIT_RUN = re.compile(r"\+?\(?\d(?:[\d()/-]| (?! )){0,40}\d")
#: digits a phone number has (E.164: at most 15)
PHONE_DIGITS = range(8, 16)
WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
#: digits compared when matching a phone value against a digit run
PHONE_TAIL = 8
MAX_NAME_WORDS = 4
MIN_VALUE_CHARS = 5


@dataclass(frozen=True)
class Finding:
    """One leak: its kind (``e-mail address``, ``phone number``, ``value of a PII column``) and the masked value."""

    kind: str
    masked: str


def mask(value: str) -> str:
    """Enough of a value to recognise it, not enough to use it."""
    value = value.strip()
    return value[:2] + "***" + value[-2:] if len(value) > 6 else "***"


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


class Matcher:
    """Finds leaks in text, given the exact PII values of the inputs.

    Parameters
    ----------
    values : iterable of str
        Values of the inputs' PII columns (see :func:`pii_values`): e-mails,
        phone numbers and full names; values shorter than 5 characters are ignored.
    """

    def __init__(self, values: Iterable[str] = ()):
        self.phone_tails: set[str] = set()
        self.names: set[tuple[str, ...]] = set()
        for raw in values:
            value = str(raw).strip()
            if len(value) < MIN_VALUE_CHARS or "@" in value:  # e-mails: every address is found by pattern
                continue
            digits = _digits(value)
            if len(digits) in PHONE_DIGITS and not WORD.search(value):
                self.phone_tails.add(digits[-PHONE_TAIL:])
            elif (words := tuple(_words(value))) and len(words) <= MAX_NAME_WORDS:
                self.names.add(words)

    def find(self, text: str) -> list[Finding]:
        """Every leak in ``text`` (plain text, not HTML), in order of appearance, each value once."""
        found: dict[tuple[str, str], Finding] = {}

        def add(kind, value):
            found.setdefault((kind, value.lower()), Finding(kind, mask(value)))

        for m in EMAIL.finditer(text):
            add("e-mail address", m.group())
        for m in PHONE_INTL.finditer(text):
            if len(_digits(m.group())) in PHONE_DIGITS:
                add("phone number", m.group())
        for m in PHONE_NA.finditer(text):
            add("phone number", m.group())
        if self.phone_tails:
            for m in DIGIT_RUN.finditer(text):
                digits = _digits(m.group())
                if len(digits) in PHONE_DIGITS and digits[-PHONE_TAIL:] in self.phone_tails:
                    add("phone number", m.group())
        if self.names:
            words = _words(EMAIL.sub(" ", text))  # an address is reported once, as an address
            for n in range(1, MAX_NAME_WORDS + 1):
                for i in range(len(words) - n + 1):
                    if tuple(words[i:i + n]) in self.names:
                        add("value of a PII column", " ".join(words[i:i + n]))
        return list(found.values())


def pii_values(tables) -> set[str]:
    """Exact PII values present in the inputs (e-mails, phones, full names) to look for in pages.

    Placeholders that identify nobody are left out: an ``email`` without ``@``, a
    ``phone`` with fewer than 7 digits, any value shorter than 5 characters.
    """
    found: set[str] = set()
    for name in ("leads", "accounts", "opportunities", "activities", "stages", "content"):
        frame = getattr(tables, name, None)
        if frame is None:
            continue
        for col in PII_COLUMNS:
            if col not in frame.columns or col in ("first_name", "last_name"):
                continue
            values = {str(v).strip() for v in frame[col].dropna()}
            if col == "email":
                values = {v for v in values if "@" in v}
            elif col == "phone":
                values = {v for v in values if len(_digits(v)) >= 7}
            found |= {v for v in values if len(v) >= MIN_VALUE_CHARS}
        if {"first_name", "last_name"} <= set(frame.columns):
            full = (frame["first_name"].astype("string").str.strip() + " "
                    + frame["last_name"].astype("string").str.strip()).dropna()
            found |= set(full[full.str.len() >= MIN_VALUE_CHARS])
    return found
