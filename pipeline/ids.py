"""Deterministic identifiers.

A document's id is the hex SHA-256 of its raw bytes (the contract). Every other id
is derived from its parent id and its position, so the same input bytes give the
same ids on every run and every machine, independent of file names, run order or
timestamps.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable


def doc_id(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def child_id(prefix: str, parent: str, *parts: object) -> str:
    """`<prefix>_<24 hex>` from the parent id and the child's position.

    96 bits keep the collision risk negligible at billions of rows while keeping
    ids short enough to read in a BI tool.
    """
    key = "\x1f".join([parent, *map(str, parts)])
    return f"{prefix}_{hashlib.sha256(key.encode('utf-8')).hexdigest()[:24]}"


def paragraph_id(doc: str, char_start: int, char_end: int) -> str:
    return child_id("p", doc, char_start, char_end)


def sentence_id(doc: str, char_start: int, char_end: int) -> str:
    return child_id("s", doc, char_start, char_end)


def claim_id(sentence: str) -> str:
    return child_id("c", sentence)


def cluster_id(member_claim_ids: Iterable[str]) -> str:
    return child_id("k", "|".join(sorted(member_claim_ids)))
