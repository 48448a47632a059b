"""Small text helpers shared by the stages (normalization keys, quote characters)."""
from __future__ import annotations

import hashlib
import re
import unicodedata

OPENING_QUOTES = "\"“‘«„‚"
CLOSING_QUOTES = "\"”’»“"
QUOTE_CHARS = set(OPENING_QUOTES) | set(CLOSING_QUOTES)

_WS = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[^\w\s]|_")


def normalize_key(text: str) -> str:
    """A comparison key: case-folded, NFKC, punctuation and quotes dropped, spaces collapsed.

    Two paragraphs with the same key say the same thing word for word.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    # `[^\w\s]|_` is exactly "neither str.isalnum() nor str.isspace()" (checked over every
    # code point), in one regex pass instead of a Python loop per character
    return _WS.sub(" ", _NOT_WORD.sub(" ", text)).strip()


def exact_digest(text: str) -> str:
    """64-bit digest of the exact text (no normalization): a key for values derived from it
    that are kept between runs."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def word_count(text: str) -> int:
    return len(text.split())
