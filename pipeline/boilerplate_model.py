"""The learned paragraph model of the boilerplate stage: features and a shipped tree ensemble.

:func:`features` turns one page's paragraphs (and the verdicts of the named rules of
:mod:`pipeline.boilerplate`) into one numeric row per paragraph: the paragraph's own shape
(length, stopword, punctuation, digit and capital densities, title case, separators such as
``|``, dates and bylines, URLs), where it sits (relative position, share of the page's text
before it, distance to the page's densest prose), its neighbourhood (the same shape
averaged over windows of neighbours, runs of short link-like lines, title-case teaser runs)
the rules' opinion (which rule family fired, the page-tail marker) and the page's layout
(blocks of prose: the largest one and the first one after the headline, the distance to the
headline, how many content words a paragraph shares with the largest block and with the
headline and first paragraphs of the article). A second pass adds the first pass's
probabilities of the neighbours over windows of up to 25 paragraphs and the distance to the
nearest probable content (a smoothing over the sequence, like jusText's neighbour rule but
learned).

The model is a gradient-boosted tree ensemble fitted by ``eval/train_boilerplate.py`` on
real labelled pages (scikit-learn there only) and stored as plain JSON arrays in
``pipeline/models/boilerplate_model.json``; it is applied here with numpy, vectorised over
all paragraphs and trees (no scikit-learn at run time, no training at run time).
"""
from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["ARTICLE_FEATURES", "FEATURE_NAMES", "HTML_MODEL_PATH", "MODEL_PATH", "Model", "article_features",
           "base_features", "load_model", "second_pass_features", "title_index"]

MODEL_PATH = Path(__file__).resolve().parent / "models" / "boilerplate_model.json"
# the model of HTML pages: the same features plus `article_features` (what trafilatura kept)
HTML_MODEL_PATH = Path(__file__).resolve().parent / "models" / "boilerplate_model_html.json"

# rule families as the model sees them (the rule's name up to the first ":")
RULE_FAMILIES = (
    "short_fragment", "page_tail", "bare_url", "navigation", "cookie_notice", "comment_prompt",
    "subscribe_prompt", "copyright", "embed", "category_line", "read_more_link", "widget_heading",
    "byline", "dateline", "photo_credit", "page_header", "trailing_fragment",
)

_WORD = re.compile(r"[^\W_]+(?:['’.\-][^\W_]+)*")
_PUNCT = re.compile(r"[.,;:!?]")
_SEPARATORS = re.compile(r"[|·•»«›‹/>\\]|\s[-–—]\s")
_DIGIT = re.compile(r"\d")
_MONTH = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b|\b\d{1,2}\s+"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b|\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|"
    r"\b\d{1,2}:\d{2}\s*(?:am|pm)?\b|\b(?:19|20)\d{2}\b", re.IGNORECASE)
_RELATIVE_TIME = re.compile(r"\b\d+\s+(?:seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)\s+ago\b",
                            re.IGNORECASE)
_BYLINE_START = re.compile(r"^(?:by|posted by|written by|from|author)\b", re.IGNORECASE)
_COMMENT_WORDS = re.compile(
    r"\b(?:reply|replies|comments?|posted|wrote|says?:|permalink|report abuse|flag|like|recommend|log ?in|"
    r"sign ?in|register|share|tweet|email|print|subscribe|advertisement|sponsored|copyright|privacy|terms)\b",
    re.IGNORECASE)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|my|me|we|our|you|your)\b", re.IGNORECASE)
_QUOTE = re.compile(r"[\"“”]")

# own shape of one paragraph (the order is the order of the columns)
_OWN = (
    "log_chars", "log_words", "stop_ratio", "letter_ratio", "terminal", "ends_question", "is_bullet",
    "url_share", "titlecase_ratio", "punct_density", "comma_per_word", "digit_ratio", "upper_ratio",
    "separator_per_word", "has_date", "relative_time", "byline_start", "mean_word_len", "log_sentences",
    "comment_words", "first_person", "quote", "all_caps", "short", "prose", "heading_shape",
    "repeated_in_page",
)
# own shape columns that are also averaged over neighbour windows
_WINDOWED = ("log_words", "stop_ratio", "terminal", "titlecase_ratio", "separator_per_word", "short", "prose",
             "punct_density", "url_share")
_WINDOWS = (1, 3, 8)


def _own_features(text: str, lf, is_prose: bool, is_heading: bool, repeated: bool) -> list[float]:
    stripped = text.strip()
    n_chars = max(len(stripped), 1)
    words = _WORD.findall(stripped)
    n_words = len(words)
    nw = max(n_words, 1)
    letters = lf.n_letters or 1
    upper = sum(1 for c in stripped if c.isupper())
    sentences = len(re.findall(r"[.!?…][\"'”’)]*(?:\s|$)", stripped))
    return [
        math.log1p(lf.n_chars), math.log1p(n_words), lf.n_stopwords / nw, lf.n_letters / n_chars,
        float(lf.terminal), float(lf.ends_question), float(lf.is_bullet), lf.url_share, lf.titlecase_ratio,
        len(_PUNCT.findall(stripped)) / n_chars, stripped.count(",") / nw, len(_DIGIT.findall(stripped)) / n_chars,
        upper / letters, len(_SEPARATORS.findall(stripped)) / nw, float(bool(_MONTH.search(stripped))),
        float(bool(_RELATIVE_TIME.search(stripped))), float(bool(_BYLINE_START.match(stripped))),
        (sum(len(w) for w in words) / n_words) if n_words else 0.0, math.log1p(sentences),
        len(_COMMENT_WORDS.findall(stripped)) / nw, len(_FIRST_PERSON.findall(stripped)) / nw,
        float(bool(_QUOTE.search(stripped))), float(lf.n_letters > 3 and upper / letters > 0.8),
        float(n_words <= 5), float(is_prose), float(is_heading), float(repeated),
    ]


def _window_mean(col: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean of `col` over the k paragraphs before and the k after each paragraph (0 off the page)."""
    n = len(col)
    c = np.concatenate((np.zeros((1,) + col.shape[1:]), np.cumsum(col, axis=0)))
    idx = np.arange(n)
    lo = np.maximum(idx - k, 0)
    hi = np.minimum(idx + k + 1, n)
    shape = (n,) + (1,) * (col.ndim - 1)  # `col` may be a matrix: each column apart
    before = (c[idx] - c[lo]) / np.maximum(idx - lo, 1).reshape(shape)
    after = (c[hi] - c[idx + 1]) / np.maximum(hi - idx - 1, 1).reshape(shape)
    return before, after


def _run_lengths(flags: np.ndarray) -> np.ndarray:
    """For each position, the length of the run of equal flags it is in (0 where the flag is 0)."""
    n = len(flags)
    out = np.zeros(n)
    i = 0
    while i < n:
        j = i
        while j < n and flags[j] == flags[i]:
            j += 1
        if flags[i]:
            out[i:j] = j - i
        i = j
    return out


def base_features(doc) -> tuple[np.ndarray, list[str]]:
    """The first-pass rows of a :class:`pipeline.boilerplate.Document` whose rules have run
    (``doc.reasons`` filled), and the column names."""
    n = len(doc)
    names = list(_OWN)
    counts: dict[str, int] = {}
    for t in doc.norm:
        if t:
            counts[t] = counts.get(t, 0) + 1
    own = np.array([
        _own_features(doc.paragraphs[i], doc.features[i], doc.is_prose(i), doc.is_heading_shape(i),
                      counts.get(doc.norm[i], 0) > 1)
        for i in range(n)
    ], dtype=float).reshape(n, len(_OWN))
    cols = [own]
    # position on the page
    chars = np.array([f.n_chars for f in doc.features], dtype=float)
    total = chars.sum() or 1.0
    before = (np.cumsum(chars) - chars) / total
    idx = np.arange(n, dtype=float)
    rel = idx / max(n - 1, 1)
    prose = own[:, _OWN.index("prose")]
    words = np.array([f.n_words for f in doc.features], dtype=float)
    densest = int(np.argmax(words)) if n else 0
    prose_idx = np.flatnonzero(prose)
    first_prose = prose_idx[0] if len(prose_idx) else n
    last_prose = prose_idx[-1] if len(prose_idx) else -1
    cols.append(np.column_stack([
        rel, before, (idx - densest) / max(n, 1), np.abs(idx - densest) / max(n, 1),
        np.full(n, math.log1p(n)), np.full(n, math.log1p(total)), chars / total,
        (idx < first_prose).astype(float), (idx > last_prose).astype(float),
        np.full(n, prose.mean() if n else 0.0),
    ]))
    names += ["rel_pos", "chars_before", "from_longest", "abs_from_longest", "log_n_paragraphs", "log_page_chars",
              "char_share", "before_first_prose", "after_last_prose", "page_prose_share"]
    # neighbourhood
    windowed = own[:, [_OWN.index(name) for name in _WINDOWED]]
    means = {k: _window_mean(windowed, k) for k in _WINDOWS}  # all columns at once
    for j, name in enumerate(_WINDOWED):
        for k in _WINDOWS:
            b, a = means[k]
            cols.append(np.column_stack([b[:, j], a[:, j]]))
            names += [f"{name}_before{k}", f"{name}_after{k}"]
    short = own[:, _OWN.index("short")]
    titled = ((own[:, _OWN.index("titlecase_ratio")] >= 0.6) & (own[:, _OWN.index("terminal")] == 0)
              & (own[:, _OWN.index("log_words")] <= math.log1p(14))).astype(float)
    cols.append(np.column_stack([np.log1p(_run_lengths(short)), np.log1p(_run_lengths(titled)),
                                 np.log1p(_run_lengths(1.0 - prose))]))
    names += ["short_run", "titlecase_run", "nonprose_run"]
    # the rules' opinion
    fam = np.zeros((n, len(RULE_FAMILIES) + 2))
    for i, reason in enumerate(doc.reasons):
        if reason is not None:
            head = reason.split(":", 1)[0]
            if head in RULE_FAMILIES:
                fam[i, RULE_FAMILIES.index(head)] = 1.0
            fam[i, -2] = 1.0
    tail = doc.tail
    if tail is not None:
        fam[tail[0]:, -1] = 1.0
    cols.append(fam)
    names += [f"rule_{f}" for f in RULE_FAMILIES] + ["rule_any", "after_tail_marker"]
    fired = fam[:, -2]
    for k in (1, 3):
        b, a = _window_mean(fired, k)
        cols.append(np.column_stack([b, a]))
        names += [f"rule_any_before{k}", f"rule_any_after{k}"]
    page_cols, page_names = _page_features(doc, prose, words)
    cols.append(page_cols)
    names += page_names
    tail_cols, tail_names = _tail_features(doc)
    cols.append(tail_cols)
    names += tail_names
    return np.hstack(cols) if n else np.zeros((0, len(names))), names


BLOCK_GAP = 2  # non-prose lines bridged inside a block of prose (headings, captions between paragraphs)


def _prose_blocks(prose: np.ndarray, words: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int, float]]]:
    """Blocks of prose paragraphs (runs of prose with gaps of at most BLOCK_GAP other lines):
    the block index of each paragraph (-1 outside any block) and (first, last, prose words) of each."""
    n = len(prose)
    block_of = np.full(n, -1, dtype=np.int64)
    blocks: list[tuple[int, int, float]] = []
    idx = np.flatnonzero(prose)
    if len(idx):
        start = prev = int(idx[0])
        total = words[start]
        for j in idx[1:]:
            j = int(j)
            if j - prev - 1 > BLOCK_GAP:
                blocks.append((start, prev, float(total)))
                start, total = j, 0.0
            total += words[j]
            prev = j
        blocks.append((start, prev, float(total)))
        for b, (first, last, _w) in enumerate(blocks):
            block_of[first:last + 1] = b
    return block_of, blocks


def _page_features(doc, prose: np.ndarray, words: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Where a paragraph sits relative to the page's main text: the densest block of prose
    (the one with the most prose words), the headline, and how much its content words share
    with that block (teasers of other stories share few)."""
    n = len(prose)
    names = ["in_main_block", "before_main_block", "after_main_block", "main_block_share", "own_block_share",
             "log_block_count", "main_overlap", "log_content_words", "is_title", "from_title", "has_title",
             "lead_overlap", "in_lead_block"]
    if n == 0:
        return np.zeros((0, len(names))), names
    block_of, blocks = _prose_blocks(prose, words)
    total_words = float(words.sum()) or 1.0
    idx = np.arange(n, dtype=float)
    cols = np.zeros((n, len(names)))
    if blocks:
        main = max(range(len(blocks)), key=lambda b: (blocks[b][2], -b))
        first, last, main_words = blocks[main]
        cols[:, 0] = (block_of == main).astype(float)
        cols[:, 1] = np.clip(first - idx, 0, None) / n
        cols[:, 2] = np.clip(idx - last, 0, None) / n
        cols[:, 3] = main_words / total_words
        own = np.array([blocks[b][2] if b >= 0 else 0.0 for b in block_of])
        cols[:, 4] = own / total_words
        cols[:, 5] = math.log1p(len(blocks))
        # content words of the main block (counts, so a paragraph inside it is compared with the rest)
        cw = doc.content_words
        counts: dict[str, int] = {}
        for j in range(first, last + 1):
            if prose[j]:
                for w in cw[j]:
                    counts[w] = counts.get(w, 0) + 1
        for i in range(n):
            ws = cw[i]
            if ws:
                inside = first <= i <= last and prose[i]
                shared = sum(1 for w in ws if counts.get(w, 0) - (1 if inside else 0) > 0)
                cols[i, 6] = shared / len(ws)
            else:
                cols[i, 6] = 1.0
    else:
        cols[:, 1] = 1.0
        cols[:, 6] = 1.0
    cols[:, 7] = np.log1p([len(w) for w in doc.content_words])
    title = title_index(doc)
    if title is not None:
        cols[title, 8] = 1.0
        cols[:, 9] = (idx - title) / n
        cols[:, 10] = 1.0
    # the page's topic: content words of the headline and the first LEAD_PARAGRAPHS prose
    # paragraphs of the main block (a teaser of another story shares few of them, however
    # many teasers repeat each other)
    # (the lead: the first block of prose after the headline, else the page's first block;
    # not the largest block, which on some pages is a list of teasers)
    lead = [title] if title is not None else []
    if blocks:
        after = [b for b in blocks if title is None or b[1] > title]
        lead_first, lead_last, _w = after[0] if after else blocks[0]
        lead += [j for j in range(lead_first, lead_last + 1) if prose[j] and j != title][:LEAD_PARAGRAPHS]
        cols[:, 12] = ((idx >= lead_first) & (idx <= lead_last)).astype(float)
    lead_counts: dict[str, int] = {}
    for j in lead:
        for w in doc.content_words[j]:
            lead_counts[w] = lead_counts.get(w, 0) + 1
    lead_set = set(lead)
    for i in range(n):
        ws = doc.content_words[i]
        if ws and lead_counts:
            own = 1 if i in lead_set else 0
            cols[i, 11] = sum(1 for w in ws if lead_counts.get(w, 0) - own > 0) / len(ws)
        else:
            cols[i, 11] = 1.0
    return cols, names


LEAD_PARAGRAPHS = 3


def _tail_features(doc) -> tuple[np.ndarray, list[str]]:
    """Where a paragraph sits relative to the page-tail marker and to any tail-marker phrase
    (also one the page-tail rule did not take): the marker's kind, how far after it, how much
    article prose came before it, how many of its content words occur in that prose (the
    page-tail override's test, :meth:`Document.body_overlap`) and whether the article resumes
    there (:attr:`Document.resumed_article`). Lets the model tell the article going on below
    a "Comments" link or an inline "Related" box from the page's real tail."""
    n = len(doc)
    names = ["tail_comments", "tail_other", "from_tail", "tail_overlap", "tail_resumed", "log_prose_before_tail",
             "after_any_marker", "log_from_marker", "marker_comments", "log_markers_before"]
    cols = np.zeros((n, len(names)))
    if n == 0:
        return cols, names
    cols[:, 3] = -1.0
    tail = doc.tail
    if tail is not None:
        marker, kind = tail
        after = slice(marker, n)
        cols[after, 0 if kind == "comments" else 1] = 1.0
        cols[after, 2] = (np.arange(marker, n) - marker) / n
        cols[:, 5] = math.log1p(doc.prose_words_before(marker))
        resumed = doc.resumed_article
        for i in range(marker + 1, n):
            cols[i, 3] = doc.body_overlap(i, marker)
            cols[i, 4] = float(i in resumed)
    last, count, last_kind = -1, 0, None
    for i in range(n):
        if last >= 0:
            cols[i, 6] = 1.0
            cols[i, 7] = math.log1p(i - last)
            cols[i, 8] = float(last_kind == "comments")
        cols[i, 9] = math.log1p(count)
        kind = doc.marker_kind(i)
        if kind:
            last, last_kind, count = i, kind, count + 1
    return cols, names


def second_pass_features(first: np.ndarray, proba: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The first-pass rows plus the first-pass probabilities of the neighbours."""
    n = len(proba)
    cols = [first, proba.reshape(n, 1)]
    names = ["p"]
    for k in (1, 2, 4, 10, 25):
        b, a = _window_mean(proba, k)
        cols.append(np.column_stack([b, a]))
        names += [f"p_before{k}", f"p_after{k}"]
    # how far the nearest probable content lies before and after (jusText-like context)
    sure = proba >= 0.5
    idx = np.arange(n)
    last_sure = np.maximum.accumulate(np.where(sure, idx, -1)) if n else np.zeros(0, dtype=int)
    prev_sure = np.concatenate(([-1], last_sure[:-1])) if n else last_sure
    next_sure = (np.minimum.accumulate(np.where(sure, idx, n)[::-1])[::-1]) if n else np.zeros(0, dtype=int)
    next_after = np.concatenate((next_sure[1:], [n])) if n else next_sure
    dist_before = np.where(prev_sure >= 0, idx - prev_sure, n + 1)
    dist_after = np.where(next_after < n, next_after - idx, n + 1)
    cols.append(np.column_stack([np.log1p(dist_before), np.log1p(dist_after)]))
    names += ["p_dist_before", "p_dist_after"]
    page = np.full((n, 1), proba.mean() if n else 0.0)
    cols.append(page)
    names.append("p_page_mean")
    # share of the page's probable content before/after (where the article block lies)
    c = np.cumsum(proba)
    total = c[-1] if n else 0.0
    cols.append(np.column_stack([(c - proba) / (total or 1.0), (total - c) / (total or 1.0)]))
    names += ["p_mass_before", "p_mass_after"]
    return np.hstack(cols), names


# ------------------------------------------------------------- an extractor's article beside the page

ARTICLE_FEATURES = ("in_article", "in_article_near1", "in_article_near3", "page_in_article", "no_article",
                    "article_so_far")
_TOKEN = re.compile(r"\w+")  # tokens as the shared extraction scorer counts them


def shingle_shares(paragraphs: Sequence[str], text: str) -> tuple[np.ndarray, np.ndarray]:
    """Share of each paragraph's 4-token shingles found in `text` (a paragraph of one to
    three tokens: 1 when its whole token sequence is there), and its token counts."""
    toks = _TOKEN.findall(text)
    grams = {tuple(toks[i:i + 4]) for i in range(len(toks) - 3)}
    joined = " " + " ".join(toks) + " "
    shares, counts = [], []
    for paragraph in paragraphs:
        own = _TOKEN.findall(paragraph)
        counts.append(len(own))
        if not own:
            shares.append(0.0)
        elif len(own) < 4:
            shares.append(float(f" {' '.join(own)} " in joined))
        else:
            shingles = [tuple(own[i:i + 4]) for i in range(len(own) - 3)]
            shares.append(sum(g in grams for g in shingles) / len(shingles))
    return np.asarray(shares, dtype=float), np.asarray(counts, dtype=float)


def _centred_mean(col: np.ndarray, k: int) -> np.ndarray:
    """Mean of `col` over each paragraph and its k neighbours on either side."""
    c = np.concatenate(([0.0], np.cumsum(col)))
    idx = np.arange(len(col))
    lo, hi = np.maximum(idx - k, 0), np.minimum(idx + k + 1, len(col))
    return (c[hi] - c[lo]) / (hi - lo)


def article_features(paragraphs: Sequence[str], article: str) -> tuple[np.ndarray, list[str]]:
    """Columns that tell how much of each paragraph of a whole page an extractor's article
    text holds (trafilatura's, `pipeline.ingest`): the paragraph's share of 4-token shingles
    found in it, the same averaged over 1 and 3 neighbours on either side, the share of the
    page's tokens found in it, whether the extractor found nothing, and the share of the
    page's paragraphs up to this one that it holds."""
    n = len(paragraphs)
    if n == 0:
        return np.zeros((0, len(ARTICLE_FEATURES))), list(ARTICLE_FEATURES)
    share, tokens = shingle_shares(paragraphs, article)
    page = float((share * tokens).sum() / max(tokens.sum(), 1.0))
    cols = [share, _centred_mean(share, 1), _centred_mean(share, 3), np.full(n, page),
            np.full(n, float(not article.strip())), np.cumsum(share > 0.5) / n]
    return np.column_stack(cols), list(ARTICLE_FEATURES)


# ----------------------------------------------------------------------------- the model


class TreeEnsemble:
    """A binary gradient-boosted tree ensemble in flat arrays, applied with numpy.

    Nodes of all trees are concatenated; ``roots`` are the first node of each tree. A node is
    a leaf when ``left == -1``; its ``value`` is added to the raw score (log-odds).
    """

    def __init__(self, obj: dict):
        self.feature = np.asarray(obj["feature"], dtype=np.int64)
        self.threshold = np.asarray(obj["threshold"], dtype=float)
        self.left = np.asarray(obj["left"], dtype=np.int64)
        self.right = np.asarray(obj["right"], dtype=np.int64)
        self.value = np.asarray(obj["value"], dtype=float)
        self.missing_left = np.asarray(obj.get("missing_left", [1] * len(self.left)), dtype=bool)
        self.roots = np.asarray(obj["roots"], dtype=np.int64)
        self.baseline = float(obj["baseline"])
        self.depth = int(obj["depth"])
        self.is_leaf = self.left < 0

    def raw(self, x: np.ndarray) -> np.ndarray:
        n = x.shape[0]
        if n == 0:
            return np.zeros(0)
        node = np.broadcast_to(self.roots, (n, len(self.roots))).copy()
        rows = np.arange(n)[:, None]
        for _ in range(self.depth):
            leaf = self.is_leaf[node]
            if leaf.all():
                break
            v = x[rows, self.feature[node]]
            go_left = np.where(np.isnan(v), self.missing_left[node], v <= self.threshold[node])
            nxt = np.where(go_left, self.left[node], self.right[node])
            node = np.where(leaf, node, nxt)
        return self.baseline + self.value[node].sum(axis=1)

    def proba(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.raw(x)))


class Model:
    """The two passes and the decision threshold (probability of *content*)."""

    def __init__(self, obj: dict):
        self.first = TreeEnsemble(obj["first"])
        self.second = TreeEnsemble(obj["second"])
        self.threshold = float(obj["threshold"])
        # a paragraph claimed by a soft rule is kept only from this probability on
        self.override_threshold = float(obj.get("override_threshold", self.threshold))
        self.feature_names: list[str] = list(obj["feature_names"])
        self.hard_rules: frozenset[str] = frozenset(obj.get("hard_rules", ()))
        self.meta = obj.get("meta", {})
        # a model of HTML pages reads the extractor's article beside the page
        self.reads_article = tuple(self.feature_names[-len(ARTICLE_FEATURES):]) == ARTICLE_FEATURES

    def content_proba(self, doc, article: str | None = None) -> np.ndarray:
        x, names = base_features(doc)
        if self.reads_article:
            if article is None:
                raise ValueError("this boilerplate model reads an HTML page's extracted article; none was given")
            extra, extra_names = article_features(doc.paragraphs, article)
            x, names = np.hstack([x, extra]), names + extra_names
        if names != self.feature_names:
            raise ValueError("the boilerplate model was fitted on other features; retrain it "
                             "(python -m eval.train_boilerplate)")
        p1 = self.first.proba(x)
        x2, _ = second_pass_features(x, p1)
        return self.second.proba(x2)


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> Model | None:
    """The shipped model (cached per process; `HTML_MODEL_PATH` for HTML pages), or None
    when the file is absent."""
    p = Path(path) if path else MODEL_PATH
    if not p.exists():
        return None
    return Model(json.loads(p.read_text("utf-8")))


def title_index(doc) -> int | None:
    """The headline as `page_header` sees it: the longest kept heading-shaped line before
    the first body paragraph (None without body text or such a line)."""
    first = doc.first_body
    if first is None:
        return None
    leading = [j for j in range(first) if doc.reasons[j] is None and doc.is_heading_shape(j)]
    return max(leading, key=lambda j: (doc.features[j].n_words, -j)) if leading else None
