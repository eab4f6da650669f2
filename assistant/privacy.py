"""Masking personal contact details before a question is stored (the question log, feedback).

Staff sometimes paste a citizen's e-mail address or phone number into a question. Those are
replaced by a placeholder before anything is written: addresses with ``＠`` or ``@``, and phone
numbers as written in Japan — ``03-1234-5678``, ``090-1234-5678``, ``0120-123-456``,
``(03)1234-5678``, ``+81 90 1234 5678``, run together or with full-width digits and hyphens
(``０３－１２３４－５６７８``). A run of digits is a phone number when it starts with ``0`` or
``+81`` and has 10 or 11 digits (after the country code: 9 or 10); dates, amounts and article
numbers have fewer digits or do not start that way, and stay.
"""

from __future__ import annotations

import re
import unicodedata

EMAIL_MASK = "［メールアドレス］"
PHONE_MASK = "［電話番号］"

_LOCAL = r"[A-Za-z0-9Ａ-Ｚａ-ｚ０-９._%+\-．＿％＋－]"
_DOMAIN = r"[A-Za-z0-9Ａ-Ｚａ-ｚ０-９\-－]"
EMAIL = re.compile(rf"{_LOCAL}+[@＠](?:{_DOMAIN}+[.．])+[A-Za-zＡ-Ｚａ-ｚ]{{2,}}")

_DIGIT = r"[0-9０-９]"
_SEPARATOR = r"[\s\-‐‑–—―−－ー.．()（）]"
# A candidate: an optional +, then digits with at most two separators between any two of them.
PHONE_CANDIDATE = re.compile(rf"(?<![0-9０-９])[+＋]?[(（]?{_DIGIT}(?:{_SEPARATOR}{{0,2}}{_DIGIT})+(?![0-9０-９])")


def _is_phone(candidate: str) -> bool:
    text = unicodedata.normalize("NFKC", candidate)
    digits = re.sub(r"\D", "", text)
    if text.lstrip("(").startswith("+"):
        return digits.startswith("81") and 11 <= len(digits) <= 12
    return digits.startswith("0") and 10 <= len(digits) <= 11


def mask_personal_data(text: str) -> str:
    """``text`` with e-mail addresses and phone numbers replaced by placeholders."""
    text = EMAIL.sub(EMAIL_MASK, text)
    return PHONE_CANDIDATE.sub(lambda m: PHONE_MASK if _is_phone(m.group()) else m.group(), text)
