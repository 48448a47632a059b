"""Repeated paragraphs.

Within a document (a scraper that doubled the opening, a repeated headline, a pull
quote reprinted in the body) the first full copy is kept and the others are marked
`duplicate` pointing at it. Across documents, a kept paragraph whose normalized text
already appeared in another document gets `near_duplicate_of`; it stays `kept`, since
it is still part of its own article.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from rapidfuzz.distance import LCSseq

from pipeline.text import normalize_key

MIN_CONTAINED_WORDS = 8  # a shorter paragraph inside a longer one may be coincidence
MIN_NEAR_WORDS = 5  # near-repeats need at least this many words in both copies
NEAR_REPEAT_RATIO = 0.8  # similarity (difflib ratio) of a near-repeat: characters up to
NEAR_CHAR_LIMIT = 300  # this many characters of normalized text, words beyond
NEAR_CONTAINED_SHARE = 0.9  # share of a paragraph's words found, in order, in a longer one
# a near-repeat has the same numbers, in the same order, as its first copy: lines of one
# pattern with other figures ("Posted by: A at May 30, 2005 12:57", "38 Castle ... 113g",
# "Labour : 419 seats ...") are the rows of a list, a table or a comment thread, not copies
# (eval.webpages, training part, out of fold: near-repeats cost all three sets recall at no
# gain in precision before this; mean F1 of the three sets 0.8792 -> 0.8823)
_NUMBER = re.compile(r"\d+")
# near-repeats and near-contained copies are looked for among the NEAR_WINDOW live paragraphs
# nearest to a paragraph (before it for near-repeats, on either side for pull quotes): the
# search is quadratic, and a whole web page with a long comment thread can have thousands of
# paragraphs. A news article has far fewer.
NEAR_WINDOW = 400


@dataclass(frozen=True)
class Repeat:
    index: int  # position of the paragraph this one repeats
    reason: str


def within_document(texts: Sequence[str], eligible: Sequence[bool]) -> list[Repeat | None]:
    """For each paragraph, the earlier (or containing) copy it repeats, or None.

    Only `eligible` paragraphs (not already boilerplate) take part. An exact repeat
    points at the first copy (`exact_repeat`); a paragraph of at least
    MIN_CONTAINED_WORDS words whose text appears inside a longer paragraph of the same
    document (a pull quote) points at that paragraph (`contained_repeat`). Then the
    near-repeats: a later paragraph whose text (characters for short ones, else words)
    matches an earlier one's with a difflib
    ratio of at least NEAR_REPEAT_RATIO and has the same numbers in the same order (a headline
    repeated with a changed word or spelling, a re-scraped paragraph with an edit; not the rows
    of a list or table) points at the first copy (`near_repeat`); a paragraph of at least MIN_CONTAINED_WORDS words of which
    NEAR_CONTAINED_SHARE of the words occur, in order and in runs of at least two
    words, in one longer paragraph (a pull quote
    with its punctuation or a word changed) points at that paragraph (`near_contained_repeat`).
    """
    keys = [normalize_key(t) for t in texts]
    first: dict[str, int] = {}
    out: list[Repeat | None] = [None] * len(texts)
    for i, key in enumerate(keys):
        if not eligible[i] or not key:
            continue
        if key in first:
            out[i] = Repeat(first[key], "exact_repeat")
        else:
            first[key] = i
    for i, key in enumerate(keys):
        if out[i] is not None or not eligible[i] or len(key.split()) < MIN_CONTAINED_WORDS:
            continue
        padded = f" {key} "
        for j, other in enumerate(keys):
            if j != i and eligible[j] and out[j] is None and len(other) > len(key) and padded in f" {other} ":
                out[i] = Repeat(j, "contained_repeat")
                break
    _near_repeats(keys, eligible, out)
    # point every repeat at a copy that is itself kept (a repeated pull quote -> the body)
    for i, rep in enumerate(out):
        seen = {i}
        while rep is not None and out[rep.index] is not None and rep.index not in seen:
            seen.add(rep.index)
            rep = Repeat(out[rep.index].index, rep.reason)
        out[i] = rep
    return out


def _trigrams(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[k:k + 3]) for k in range(len(words) - 2)}


def _numbers(key: str) -> list[str]:
    return _NUMBER.findall(key)


def _near_repeats(keys: list[str], eligible: Sequence[bool], out: list[Repeat | None]) -> None:
    words = [k.split() for k in keys]
    live = [i for i in range(len(keys)) if eligible[i] and out[i] is None and len(words[i]) >= MIN_NEAR_WORDS]
    numbers = {i: _numbers(keys[i]) for i in live}
    # near-repeats of an earlier paragraph of similar length
    for pos, i in enumerate(live):
        for j in live[max(0, pos - NEAR_WINDOW):pos]:
            if out[j] is not None:
                continue
            if numbers[i] != numbers[j]:
                continue  # the same pattern with other figures: rows of a list or table, not a copy
            a, b = words[j], words[i]
            if min(len(a), len(b)) < NEAR_REPEAT_RATIO * max(len(a), len(b)):
                continue  # difflib's ratio cannot reach the bar
            ka, kb = keys[j], keys[i]
            if len(ka) <= NEAR_CHAR_LIMIT and len(kb) <= NEAR_CHAR_LIMIT:
                a, b = ka, kb  # short texts: characters, so "Neighbor"/"Neighbour" count as near
            # difflib's matching blocks are a common subsequence: 2 * LCS / total length bounds
            # its ratio from above, and rapidfuzz computes it in a fraction of the time
            if 2 * LCSseq.similarity(a, b) < NEAR_REPEAT_RATIO * (len(a) + len(b)):
                continue
            if SequenceMatcher(None, a, b, autojunk=False).ratio() >= NEAR_REPEAT_RATIO:
                out[i] = Repeat(j, "near_repeat")
                break
    # pull quotes with small changes inside a longer paragraph
    grams = {i: _trigrams(words[i]) for i in live}  # cheap prefilter: a shared trigram
    for pos, i in enumerate(live):
        if out[i] is not None or len(words[i]) < MIN_CONTAINED_WORDS:
            continue
        for j in live[max(0, pos - NEAR_WINDOW):pos + NEAR_WINDOW + 1]:
            if j == i or out[j] is not None or len(words[j]) <= len(words[i]):
                continue
            if not grams[i] & grams[j]:
                continue
            if LCSseq.similarity(words[i], words[j]) < NEAR_CONTAINED_SHARE * len(words[i]):
                continue  # the blocks counted below are a common subsequence: at most this long
            blocks = SequenceMatcher(None, words[i], words[j], autojunk=False).get_matching_blocks()
            if sum(b.size for b in blocks if b.size >= 2) >= NEAR_CONTAINED_SHARE * len(words[i]):
                out[i] = Repeat(j, "near_contained_repeat")
                break


def across_documents(
    paragraph_ids: Sequence[str], doc_ids: Sequence[str], texts: Sequence[str], kept: Sequence[bool]
) -> list[str | None]:
    """`near_duplicate_of` for each paragraph: the first paragraph of another document
    (in input order) with the same normalized text."""
    first: dict[str, tuple[str, str]] = {}
    out: list[str | None] = [None] * len(texts)
    for i, (pid, did, text) in enumerate(zip(paragraph_ids, doc_ids, texts)):
        if not kept[i]:
            continue
        key = normalize_key(text)
        if len(key.split()) < 5:
            continue
        if key in first:
            other_pid, other_did = first[key]
            if other_did != did:
                out[i] = other_pid
        else:
            first[key] = (pid, did)
    return out
