"""Repeated paragraphs.

Within a document (a scraper that doubled the opening, a repeated headline, a pull
quote reprinted in the body) the first full copy is kept and the others are marked
`duplicate` pointing at it. Across documents, a kept paragraph whose normalized text
already appeared in another document gets `near_duplicate_of`; it stays `kept`, since
it is still part of its own article.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.text import normalize_key

MIN_CONTAINED_WORDS = 8  # a shorter paragraph inside a longer one may be coincidence


@dataclass(frozen=True)
class Repeat:
    index: int  # position of the paragraph this one repeats
    reason: str


def within_document(texts: Sequence[str], eligible: Sequence[bool]) -> list[Repeat | None]:
    """For each paragraph, the earlier (or containing) copy it repeats, or None.

    Only `eligible` paragraphs (not already boilerplate) take part. An exact repeat
    points at the first copy (`exact_repeat`); a paragraph of at least
    MIN_CONTAINED_WORDS words whose text appears inside a longer paragraph of the same
    document (a pull quote) points at that paragraph (`contained_repeat`).
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
    # point every repeat at a copy that is itself kept (a repeated pull quote -> the body)
    for i, rep in enumerate(out):
        seen = {i}
        while rep is not None and out[rep.index] is not None and rep.index not in seen:
            seen.add(rep.index)
            rep = Repeat(out[rep.index].index, rep.reason)
        out[i] = rep
    return out


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
