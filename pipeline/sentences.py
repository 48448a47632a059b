"""Sentences inside kept paragraphs, with offsets into the document.

Each paragraph is segmented on its own (spaCy's statistical `senter`, batched with
`nlp.pipe`), so a sentence can never cross a paragraph or line boundary: a headline
and the bullet list below it stay apart. Spans are then tidied: surrounding
whitespace trimmed, an opening quotation mark left dangling at the end of one
sentence moved to the sentence it opens, and a lone closing mark or bracket joined to
the sentence it closes, and a quotation that ends with "?", "!" or "," kept with the
lower-case words that name its speaker ('“Are you in?” he asked.').
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from pipeline.text import CLOSING_QUOTES, OPENING_QUOTES

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language

_DANGLING_OPENERS = set(OPENING_QUOTES) | {"(", "["}
_LONE_CLOSERS = set(CLOSING_QUOTES) | {")", "]", ".", "…"}


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _speaker_tail(text: str, a: int, b: int, next_start: int) -> bool:
    """The sentence a..b ends with a quotation closed after "?", "!" or "," and the next one
    opens with a lower-case word: the words that name the quotation's speaker ('“Blink
    twice if you're in trouble!” one person tweeted.')."""
    prev = text[a:b].rstrip()
    if prev.endswith("''"):
        prev = prev[:-2]
    elif prev[-1:] in {"”", '"'}:
        prev = prev[:-1]
    else:
        return False
    if prev[-1:] not in {"?", "!", ","} or not any(ch.isalpha() for ch in prev):
        return False
    nxt = text[next_start:next_start + 1]
    return nxt.isalpha() and nxt.islower()


def tidy_spans(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Fix the boundaries the statistical splitter gets wrong around quotes."""
    spans = [_trim(text, a, b) for a, b in spans]
    spans = [s for s in spans if s[0] < s[1]]
    out: list[list[int]] = []
    for a, b in spans:
        if out and all(ch in _LONE_CLOSERS or ch.isspace() for ch in text[a:b]):
            out[-1][1] = b  # a lone closing quote/bracket belongs to the sentence it closes
            continue
        if out and _speaker_tail(text, out[-1][0], out[-1][1], a):
            out[-1][1] = b  # '“Are you in?”' + 'he asked.': one sentence
            continue
        out.append([a, b])
    for i in range(len(out) - 1):
        a, b = out[i]
        # "... he said. “" + "Next sentence" -> the opening mark goes with the next sentence
        if b - a > 1 and text[b - 1] in _DANGLING_OPENERS and (text[b - 2].isspace() or text[b - 2] in ".!?"):
            if text[b - 1] == '"' and text[:b - 1].count('"') % 2 == 1:
                continue  # a straight quote that closes a quote opened earlier in the paragraph
            new_end = _trim(text, a, b - 1)[1]
            out[i][1] = new_end
            out[i + 1][0] = b - 1
    return [(a, b) for a, b in out if a < b]


def split_paragraphs_into_sentences(
    nlp: "Language", paragraphs: Iterable[str], batch_size: int = 256
) -> list[list[tuple[int, int]]]:
    """Sentence spans (offsets within each paragraph), one list per paragraph."""
    result = []
    for doc in nlp.pipe(paragraphs, batch_size=batch_size):
        spans = [(s.start_char, s.end_char) for s in doc.sents]
        result.append(tidy_spans(doc.text, spans))
    return result
