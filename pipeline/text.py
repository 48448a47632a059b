"""Small text helpers shared by the stages (normalization keys, quote characters)."""
from __future__ import annotations

import re
import unicodedata

OPENING_QUOTES = "\"“‘«„‚"
CLOSING_QUOTES = "\"”’»“"
QUOTE_CHARS = set(OPENING_QUOTES) | set(CLOSING_QUOTES)

_WS = re.compile(r"\s+")


def normalize_key(text: str) -> str:
    """A comparison key: case-folded, NFKC, punctuation and quotes dropped, spaces collapsed.

    Two paragraphs with the same key say the same thing word for word.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(ch if (ch.isalnum() or ch.isspace()) else " " for ch in text)
    return _WS.sub(" ", kept).strip()


def word_count(text: str) -> int:
    return len(text.split())
