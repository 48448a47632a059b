"""A cheap, lexical pre-filter for the claims stage (optional; off by default).

`build.claims_tables(..., prefilter=is_candidate)` runs the full spaCy parse only on
sentences likely to reach the claim threshold. It was written for the former 8-feature
score, under which a sentence without a quantity and without a date scored at most
sigmoid(-2.466 + 0.13 + 0.533 + 0.608 + 0.075) = 0.246 < 0.26 with one named entity,
so a claim needed a number, a date or named entities. The text model of
`pipeline.checkworthiness` gives no such bound (its word n-grams can lift a sentence
with none of them), so the filter is now a heuristic: `python -m bench.prefilter`
measures what it drops. It keeps every sentence with a digit, a capitalised word after
the first, a quotation mark, or a number, date or time word.

The trade-off (why it is not the default): a NER date or quantity with none of these
surface marks is missed, and the dropped sentences no longer feed the document-level
speaker resolution (a pronoun speaker in a dropped sentence re-ordering the speaker
history). `python -m bench.prefilter` measures how many sentences it skips and
how many claim rows differ.
"""
from __future__ import annotations

import re

from pipeline.text import CLOSING_QUOTES, OPENING_QUOTES

_NUMBER_WORDS = """zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds thousand
thousands million millions billion billions trillion dozen dozens half quarter third thirds double twice triple
percent per cent first second""".split()
_DATE_WORDS = """today yesterday tomorrow tonight morning afternoon evening night week weeks weekend month months year
years decade decades century centuries ago annual annually daily weekly monthly yearly quarterly recently recent
season spring summer autumn winter hour hours minute minutes second seconds day days era period""".split()
_WORDS = frozenset(_NUMBER_WORDS + _DATE_WORDS)
_QUOTES = set(OPENING_QUOTES) | set(CLOSING_QUOTES) | {'"'}
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def is_candidate(text: str) -> bool:
    """True when the sentence may be a claim (see the module docstring)."""
    if any(ch.isdigit() or ch in _QUOTES for ch in text):
        return True
    words = _TOKEN.findall(text)
    if any(w[0].isupper() for w in words[1:]):
        return True
    return any(w.lower() in _WORDS for w in words)
