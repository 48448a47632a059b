"""Corpus-level template paragraphs, in the spirit of cc_net's paragraph deduplication.

A paragraph that recurs word for word (after :func:`pipeline.text.normalize_key`) in many
*distinct* documents is site furniture: a footer, a newsletter box, a standard
disclaimer. Single-page rules cannot see that; counting across the corpus can.

How it keeps working as the corpus grows
----------------------------------------
:class:`TemplateCounter` keeps, for every normalized paragraph, a 64-bit hash and the
number of distinct documents it occurs in (each document counts once per paragraph,
however often it repeats it), plus the ids of the documents already counted. It is
therefore:

* incremental: ``update(doc_id, paragraphs)`` for each new document only; a document
  seen before is skipped, so re-running over the whole raw folder counts nothing twice;
* mergeable: counters built on disjoint batches add up (:meth:`TemplateCounter.merge`);
* persistent: :meth:`to_json` / :meth:`from_json` (plain JSON, no pickle), a few bytes
  per distinct paragraph.

Verdicts can change as the corpus grows (a footer becomes a template once it has been
seen ``min_docs`` times): re-classify documents with the current counter each run.

A paragraph is a template when it occurs in at least ``min_docs`` documents and in at
least ``min_share`` of all counted documents, and has at least ``min_words`` words (so
that "He said." or a bare "Reuters" is left to the per-page rules).

Caveat: feed the counter with *distinct* documents (status ``ok``, not syndicated copies
marked ``duplicate``), otherwise the paragraphs of a story syndicated five times would
look like a template.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from pipeline.text import exact_digest, normalize_key

__all__ = ["TemplateCounter", "template_key", "template_paragraphs", "DEFAULT_MIN_DOCS", "DEFAULT_MIN_SHARE"]

DEFAULT_MIN_DOCS = 5
DEFAULT_MIN_SHARE = 0.0
DEFAULT_MIN_WORDS = 3
_FORMAT = 1


def template_key(text: str) -> str:
    """The normalized form two copies of a template paragraph share."""
    return normalize_key(text)


def _hash(key: str) -> str:
    return hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()


class TemplateCounter:
    """Document frequencies of normalized paragraphs (by hash), incremental and mergeable."""

    def __init__(self, min_docs: int = DEFAULT_MIN_DOCS, min_share: float = DEFAULT_MIN_SHARE,
                 min_words: int = DEFAULT_MIN_WORDS):
        if min_docs < 2:
            raise ValueError("min_docs must be at least 2: a template recurs across documents")
        self.min_docs = min_docs
        self.min_share = min_share
        self.min_words = min_words
        self.counts: Counter[str] = Counter()
        self.docs: set[str] = set()
        self._max: int | None = None  # the highest count, cached until the counts change
        # digest of a paragraph's exact text -> its hash (None: too short), kept between runs:
        # normalizing every kept paragraph of the corpus at each publish cost ~0.5 s at
        # 2,225 articles; the exact text's digest costs a few microseconds
        self.by_text: dict[str, str | None] = {}

    @property
    def n_docs(self) -> int:
        return len(self.docs)

    def _hash_of(self, text: str) -> str | None:
        key = template_key(text)
        if len(key.split()) < self.min_words:
            return None
        return _hash(key)

    def update(self, doc_id: str, paragraphs: Iterable[str]) -> bool:
        """Count one document's paragraphs; False (and nothing counted) if it was counted before."""
        if doc_id in self.docs:
            return False
        self.docs.add(doc_id)
        hashes = {h for h in map(self._hash_of, paragraphs) if h is not None}
        self.counts.update(hashes)
        self._max = None
        return True

    def would_cross(self, documents: Mapping[str, Sequence[str]]) -> bool:
        """Whether counting these documents (doc_id -> its paragraphs; those counted before
        are skipped, as `update` skips them) would make some paragraph a template that is
        not one now, or change the bar itself (`min_share` grows with the documents)."""
        new = {d: ps for d, ps in documents.items() if d not in self.docs}
        if not new:
            return False
        if self.min_share > 0:
            return True
        added: Counter[str] = Counter()
        for paragraphs in new.values():
            added.update({h for h in map(self._hash_of, paragraphs) if h is not None})
        return any(not self._reaches(self.counts.get(h, 0)) and self._reaches(self.counts.get(h, 0) + k)
                   for h, k in added.items())

    def templates_among(self, texts: Sequence[str], forget: bool = True) -> list[bool]:
        """`is_template` of each text, with each text's hash remembered between runs
        (`by_text`); with `forget`, remembered hashes of texts not among `texts` are
        forgotten (pass False when `texts` are only some of the corpus's)."""
        digests = [exact_digest(t) for t in texts]
        live = set(digests)
        for stale in [d for d in self.by_text if d not in live] if forget else ():
            del self.by_text[stale]
        if not self._reaches(self.max_count()):
            return [False] * len(texts)
        out = []
        for digest, text in zip(digests, texts):
            if digest in self.by_text:
                h = self.by_text[digest]
            else:
                h = self.by_text[digest] = self._hash_of(text)
            out.append(self._reaches(self.counts.get(h, 0) if h is not None else 0))
        return out

    def count(self, text: str) -> int:
        """In how many counted documents the paragraph occurs."""
        h = self._hash_of(text)
        return self.counts.get(h, 0) if h is not None else 0

    def max_count(self) -> int:
        if self._max is None:
            self._max = max(self.counts.values(), default=0)
        return self._max

    def _reaches(self, n: int) -> bool:
        """Whether a paragraph found in `n` counted documents is a template."""
        return n >= self.min_docs and n >= self.min_share * self.n_docs

    def is_template(self, text: str) -> bool:
        # when no paragraph reaches the bar, none is looked up (a corpus without a site
        # template: every publish asks about every kept paragraph)
        return self._reaches(self.max_count()) and self._reaches(self.count(text))

    __call__ = is_template  # usable directly as the `templates` predicate of boilerplate.classify

    def merge(self, other: "TemplateCounter") -> "TemplateCounter":
        """Add the counts of a counter built on other documents (their ids must not overlap)."""
        overlap = self.docs & other.docs
        if overlap:
            raise ValueError(f"{len(overlap)} documents counted in both counters, e.g. {sorted(overlap)[0]}")
        self.docs |= other.docs
        self.counts.update(other.counts)
        self._max = None
        return self

    def to_json(self) -> str:
        return json.dumps({
            "format": _FORMAT, "min_docs": self.min_docs, "min_share": self.min_share,
            "min_words": self.min_words, "docs": sorted(self.docs),
            "counts": dict(sorted(self.counts.items())),
            "by_text": dict(sorted(self.by_text.items())),
        }, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str) -> "TemplateCounter":
        obj = json.loads(data)
        if obj.get("format") != _FORMAT:
            raise ValueError(f"unknown template counter format {obj.get('format')!r}")
        out = cls(obj["min_docs"], obj["min_share"], obj["min_words"])
        out.docs = set(obj["docs"])
        out.counts = Counter({k: int(v) for k, v in obj["counts"].items()})
        out.by_text = dict(obj.get("by_text") or {})  # absent in files written before it existed
        return out


def template_paragraphs(
    doc_ids: Sequence[str], texts: Sequence[str],
    min_docs: int = DEFAULT_MIN_DOCS, min_share: float = DEFAULT_MIN_SHARE, min_words: int = DEFAULT_MIN_WORDS,
) -> set[str]:
    """Normalized keys (:func:`template_key`) of the paragraphs that are templates in this
    batch: one row per paragraph, `doc_ids[i]` the document of `texts[i]`."""
    counter = TemplateCounter(min_docs, min_share, min_words)
    by_doc: dict[str, list[str]] = {}
    for did, text in zip(doc_ids, texts):
        by_doc.setdefault(did, []).append(text)
    for did, paras in by_doc.items():
        counter.update(did, paras)
    return {template_key(t) for t in set(texts) if counter.is_template(t)}
