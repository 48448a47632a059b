"""Paragraph-level boilerplate detection for scraped news pages.

``classify(paragraphs)`` returns one :class:`ParagraphVerdict` per paragraph text:
``reason`` is ``None`` for content to keep, otherwise the name of the rule that
fired; ``is_heading`` marks kept title / section-heading lines.

The design follows datatrove's filters: many small named rules, each
``rule(index, doc) -> reason | None`` where ``doc`` is a :class:`Document` (the
paragraphs, the config and cached per-line features). They are listed in
:data:`RULES` and applied in that order; the first reason wins. Rules run one
after the other over the whole document, so a later rule (``trailing_fragment``)
can look at the verdicts of earlier ones (``doc.reasons``).

Rule families
-------------
* **Fragments** (``short_fragment``): empty lines, lone symbols, lines without letters.
* **Page tail** (``page_tail:<kind>``): a marker line such as "Comments",
  "Related Posts", "Popular posts from this blog", "You may also like", "More from
  X", "Most read", "Trending" starts the page tail: it and everything after it is
  boilerplate. A marker only counts after substantial body text, and only when it
  is late in the document (second half for unambiguous markers such as "Related
  Posts", last quarter for bare words such as "Related" or "Trending"), or when
  what follows it looks like tail material (prompts, short link-like lines,
  teasers that repeat their headline, truncated excerpts).
  A marker phrase that does not start a tail is a stray widget heading
  (``widget_heading``). Ordinary headings that merely contain such words
  ("Related developments") are not markers.
* **Phrase families**, matched on the *whole* normalised short paragraph, never
  on substrings of long prose: ``navigation`` (skip to content, scroll top,
  share/follow/print buttons, menus, breadcrumbs, advertisement labels),
  ``cookie_notice``, ``comment_prompt``, ``subscribe_prompt`` (newsletter, login,
  paywall), ``copyright``, ``bare_url`` (only URLs), ``embed`` (tweet
  attributions, "View this post on Instagram"), ``category_line`` ("Tags:",
  "Categorized in:" with nothing or only short labels), ``read_more_link``
  ("Read more: <headline>"), ``byline`` and ``dateline``. Sentence-like prompts
  ("You must be logged in to post a comment.") use a search, capped by a word
  count so long prose is never hit.
* **Line quality in context** (C4 / Gopher / jusText features: word count,
  stopwords, terminal punctuation, bullets, URL share): a short line without
  terminal punctuation before body text is a heading (kept, ``is_heading=True``);
  the same kind of line after the last body paragraph is a
  ``trailing_fragment`` (only when the document has body text at all). Bullet
  lines are body.

Everything tunable lives in :class:`BoilerplateConfig`.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Callable, Sequence

__all__ = [
    "BoilerplateConfig",
    "EXTRACTED_RULES",
    "ParagraphVerdict",
    "LineFeatures",
    "Document",
    "RULES",
    "classify",
    "rule_document",
    "MODEL_REASON",
    "line_features",
    "normalize",
]


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class BoilerplateConfig:
    """All thresholds of the boilerplate rules."""

    # fragments
    short_fragment_max_chars: int = 20  # a line without letters up to this length is a fragment
    # phrase families only look at short paragraphs ...
    max_phrase_words: int = 12
    # ... sentence-like prompts (login/subscribe/comment/copyright) at slightly longer ones
    max_prompt_words: int = 35
    max_cookie_words: int = 120
    # bare URLs: at most this many non-URL words, or at least this share of chars in URLs
    bare_url_max_other_words: int = 2
    bare_url_min_url_share: float = 0.6
    # category/tag lines: each label at most this many words
    category_label_max_words: int = 4
    # bylines / datelines
    byline_max_words: int = 12
    # line quality
    body_min_words: int = 4
    body_min_stopwords: int = 1
    long_paragraph_words: int = 30  # long lines count as prose even without terminal punctuation
    heading_max_words: int = 20
    heading_min_titlecase_ratio: float = 0.5  # a short line ending in "?" is a heading if title-cased
    # page tail
    tail_marker_max_words: int = 8
    tail_min_body_chars_before: int = 400
    tail_late_position: float = 0.75  # any marker at/after this share of the paragraphs -> tail
    tail_strong_marker_position: float = 0.5  # an unambiguous marker ("Related Posts") from here on
    tail_min_taillike_share: float = 0.5  # or: this share of what follows looks like tail material
    teaser_min_extra_chars: int = 20
    # topical coherence: a prose paragraph after a marker whose content words are mostly
    # absent from the article body before the marker is an unrelated teaser
    teaser_max_body_overlap: float = 0.35
    # page header: short heading-shaped lines before the title (the longest leading heading)
    header_max_words: int = 6
    # photo credits / captions
    credit_max_words: int = 14
    # the learned paragraph model (pipeline.boilerplate_model) after the rules
    use_model: bool = True
    # whether the model may keep a paragraph that a soft rule claimed (the model's hard rules
    # and site templates always stand); off: every rule's verdict stands and the model only
    # removes more
    model_overrides_rules: bool = False
    # whether the model may keep a paragraph the page-tail rule claimed (the rule that loses
    # the most article text: on a blog page "Comments (3)" often sits above the post), only
    # from `override_threshold` on and only when at least `tail_override_min_overlap` of its
    # content words occur in the article's prose before the marker (`Document.body_overlap`):
    # article text that follows a "Comments" link, not the off-topic teasers of a real tail;
    # or, after a comments marker, whatever the overlap when the page has fewer than
    # `tail_override_max_words_before` words of kept prose before it (a "Comments (3)" link
    # above the post, not a comment section after an article).
    # (eval.webpages training part, out of fold: mean F1 of the three sets 0.8836 without,
    # 0.8897 with the overlap alone, 0.8980 with both, 0.9069 with no condition; 0.25 the best
    # of 0.25/0.3/0.4/0.5, lower values not tried: the teasers of seed article_003 reach 0.2;
    # 600 the best of 200/400/600; the word condition for every kind of marker, 0.9056, lets
    # the model keep well-formed teasers after "You may also like" on a short page)
    model_overrides_tail: bool = True
    tail_override_min_overlap: float = 0.25
    tail_override_max_words_before: int = 600
    # ... or, after a marker of another kind than comments, when the paragraph is part of the
    # article resuming below an inline widget ("Recommended", "Related Coverage", "Read more"
    # boxes inside the article): a run of at least `tail_resume_min_paragraphs` prose
    # paragraphs, none a teaser or off-topic (`_off_topic`, judged only after
    # `tail_override_max_words_before` words of article), of at least `tail_resume_min_words`
    # words together, with more of the page after it (`Document.resumed_article`).
    # (eval.webpages training part, out of fold, with exact repeats only: mean F1 of the three
    # sets 0.8880 -> 0.8927 with 2 / 60, the same without the condition that more of the page
    # follows, 0.8933 when the off-topic test waits for 600 words of article, 0.8935 when a run
    # also bridges one non-prose line (not taken); 0.8921 with 3 / 60; 0.8905-0.8884 when each
    # paragraph must also share 0.1-0.2 of its words with the article; 0.8971 with no condition
    # at all, which keeps the teasers of seed article_003)
    tail_resume_min_paragraphs: int = 2
    tail_resume_min_words: int = 60
    # ... or, after a comments marker, when the model's probability reaches
    # `tail_override_min_proba` and the paragraph is not tail-like by the page-tail rule's own
    # test (`_is_taillike`: not prose, a marker, a teaser, off-topic after a strong marker, a
    # prompt); None: never. (eval.webpages training part, the real stage with the out-of-fold
    # probabilities of the shipped model's training run, eval/train_boilerplate.py --cache,
    # site-template guard on: mean F1 of the three sets 0.8819 without, 0.8825 with 0.7
    # (dragnet 0.899 -> 0.900, the others unchanged); after any kind of marker 0.8830 with 0.5
    # or 0.7, 0.8826 with 0.9, but that keeps well-formed teasers after "You may also like"
    # on a short page (test_tail_catches_long_well_formed_teasers). The probability alone,
    # tail-like or not, any marker: 0.8858 with 0.5, but the off-topic teasers after
    # "Comments" in seed article_003 reach 0.99; every one of them is tail-like.)
    tail_override_min_proba: float | None = 0.7
    # rule families (the reason up to the first ":") whose verdict the model may override
    # whatever `model_overrides_rules` says: a paragraph one of them claimed is kept from
    # `override_threshold` on. (eval.webpages training part, the real stage with the
    # out-of-fold probabilities of the shipped model's training run, mean F1 of the three
    # sets 0.8504 with none; each soft family alone: dateline 0.8521, cookie_notice and byline
    # 0.8508, the others 0.8504-0.8506; taken: a gain of at least 0.001 with no set worse.
    # Every soft rule, the page tail unconditionally too: 0.8573, but that keeps the off-topic
    # teasers of seed article_003. With the model refitted with the tail-marker features,
    # eval/stage_oof.py, site-template guard and tail_override_min_proba 0.7: dateline 0.8825;
    # + byline + cookie_notice 0.8834; + bare_url + photo_credit + embed too (the soft families
    # whose claims are at most 0.6 boilerplate by the labels' tokens) 0.8839, dragnet 0.900 ->
    # 0.902, readability 0.849 -> 0.851, cleaneval 0.898 either way; not taken: the model then
    # keeps the plain furniture lines of tests/test_boilerplate.py ("Image: Getty Images",
    # "Reject non-essential cookies", a bare "Source: <url>", bylines) between body paragraphs.)
    model_overrides_families: tuple[str, ...] = ("dateline",)
    # the names of the rules to run (None: all of RULES); see EXTRACTED_RULES
    only_rules: tuple[str, ...] | None = None

    def for_extracted(self) -> "BoilerplateConfig":
        """The config for text an HTML extractor (trafilatura) already cut to the article:
        only :data:`EXTRACTED_RULES`, no model."""
        return replace(self, use_model=False, only_rules=EXTRACTED_RULES)

    def for_html_pages(self) -> "BoilerplateConfig":
        """The config for the whole text of an HTML page judged with its extracted article
        (the HTML model): the model may override any soft rule. Chosen on the training pages
        of eval.webpages through the real stage with the out-of-fold probabilities of the
        HTML model's training run (eval/train_boilerplate.py --html --cache): mean F1 of the
        three sets 0.8922 -> 0.8986 (dragnet 0.914 -> 0.921, cleaneval 0.898 -> 0.900,
        readability 0.866 -> 0.875); override threshold 0.5 / 0.6 / 0.7 instead of the
        model's 0.4: 0.8984 / 0.8976 / 0.8969. (The seed articles that keep the text path
        from this policy are text files.)"""
        return replace(self, model_overrides_rules=True)


# Rules that still run on an extractor's output (`BoilerplateConfig.for_extracted`): the
# extractor already removed the page's furniture by its markup, and the other rules, tuned
# on naive page dumps, mostly remove article text from its output. Chosen on the training
# part of eval.webpages (HTML path, mean F1 of the three sets: every rule 0.847, none 0.893,
# these 0.894; page_tail alone cost 0.003).
EXTRACTED_RULES = ("short_fragment", "comment_prompt", "widget_heading", "copyright_line")


@dataclass(frozen=True)
class ParagraphVerdict:
    reason: str | None  # None = keep; else the name of the rule that fired
    is_heading: bool  # a heading/title line rather than body text


# --------------------------------------------------------------------------- features

_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it its
    itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them themselves
    then there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself yourselves said says may might
    must shall since though still yet per""".split()
)

_WORD_RE = re.compile(r"[^\W_]+(?:['’.\-][^\W_]+)*")
_URL_RE = re.compile(
    r"(?:https?://|www\.)\S+|\bpic\.twitter\.com/\S+|\b(?:t\.co|bit\.ly|youtu\.be)/\S+",
    re.IGNORECASE,
)
_BULLET_RE = re.compile(r"^\s*(?:[-–—•*·▪►‣◦]\s+|\d{1,2}[.)]\s+)")
_CLOSERS = "\"'”’»)]}*_ \t"
_TERMINALS = ".!?…;"
_QUOTE_MAP = str.maketrans({"‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"'})


def normalize(text: str) -> str:
    """Lower-case, collapse whitespace, strip surrounding symbols and trailing counts.

    ``"» Related Posts:"`` -> ``"related posts"``, ``"Comments (12)"`` -> ``"comments"``.
    """
    t = unicodedata.normalize("NFKC", text).translate(_QUOTE_MAP).lower()
    t = re.sub(r"\s+", " ", t).strip()
    t = re.sub(r"\s*[(\[]\d+[)\]]$", "", t)
    t = re.sub(r"^[\W_]+", "", t)
    t = re.sub(r"[\W_]+$", "", t)
    return t


@dataclass(frozen=True)
class LineFeatures:
    """C4/Gopher-style features of one paragraph."""

    n_chars: int
    n_words: int
    n_stopwords: int
    n_letters: int
    terminal: bool  # ends in sentence punctuation (closing quotes/brackets ignored)
    ends_question: bool
    is_bullet: bool
    url_share: float  # share of non-space characters inside URLs
    titlecase_ratio: float  # share of non-stopword words starting upper-case


def line_features(text: str) -> LineFeatures:
    stripped = text.strip()
    words = _WORD_RE.findall(stripped)
    content = [w for w in words if w.lower() not in _STOPWORDS and w[0].isalpha()]
    tail = stripped.rstrip(_CLOSERS)
    non_space = len(re.sub(r"\s", "", stripped)) or 1
    url_chars = sum(len(m.group(0)) for m in _URL_RE.finditer(stripped))
    return LineFeatures(
        n_chars=len(stripped),
        n_words=len(words),
        n_stopwords=sum(1 for w in words if w.lower() in _STOPWORDS),
        n_letters=sum(1 for c in stripped if c.isalpha()),
        terminal=bool(tail) and tail[-1] in _TERMINALS,
        ends_question=tail.endswith("?"),
        is_bullet=bool(_BULLET_RE.match(stripped)),
        url_share=min(1.0, url_chars / non_space),
        titlecase_ratio=(sum(1 for w in content if w[0].isupper()) / len(content)) if content else 0.0,
    )


# --------------------------------------------------------------------------- document context


@dataclass
class Document:
    """What a rule sees: the paragraphs, the config, cached features and earlier verdicts."""

    paragraphs: Sequence[str]
    config: BoilerplateConfig
    reasons: list[str | None] = field(default_factory=list)
    templates: Callable[[str], bool] | None = None  # corpus-level template predicate

    def __post_init__(self) -> None:
        if not self.reasons:
            self.reasons = [None] * len(self.paragraphs)

    def __len__(self) -> int:
        return len(self.paragraphs)

    @cached_property
    def features(self) -> list[LineFeatures]:
        return [line_features(p) for p in self.paragraphs]

    @cached_property
    def norm(self) -> list[str]:
        return [normalize(p) for p in self.paragraphs]

    @cached_property
    def lower(self) -> list[str]:
        """Lower-cased text with whitespace collapsed and quotes straightened (symbols kept)."""
        return [re.sub(r"\s+", " ", unicodedata.normalize("NFKC", p).translate(_QUOTE_MAP)).strip().lower()
                for p in self.paragraphs]

    def is_prose(self, i: int) -> bool:
        """Body-like by line quality alone: enough words and stopwords, and a sentence or bullet."""
        f, c = self.features[i], self.config
        if f.n_words < c.body_min_words or f.n_stopwords < c.body_min_stopwords:
            return False
        return f.terminal or f.is_bullet or f.n_words >= c.long_paragraph_words

    def is_heading_shape(self, i: int) -> bool:
        """Short, has letters, no sentence punctuation (or a title-cased question), not a bullet."""
        f, c = self.features[i], self.config
        if f.n_letters == 0 or f.is_bullet or f.n_words == 0 or f.n_words > c.heading_max_words:
            return False
        if not f.terminal:
            return True
        return f.ends_question and f.titlecase_ratio >= c.heading_min_titlecase_ratio

    @cached_property
    def last_body(self) -> int | None:
        """Index of the last kept prose paragraph; read once all non-context rules have run.

        Only ``trailing_fragment`` uses it, and it only changes heading-shaped lines, which
        never count as body here, so caching is safe.
        """
        body = [j for j, r in enumerate(self.reasons)
                if r is None and self.is_prose(j) and not self.is_heading_shape(j)]
        return body[-1] if body else None

    @cached_property
    def content_words(self) -> list[frozenset[str]]:
        """Lower-cased content words (no stopwords, 3+ letters) of each paragraph."""
        return [frozenset(w.lower() for w in _WORD_RE.findall(p)
                          if len(w) >= 3 and w.lower() not in _STOPWORDS and not w.isdigit())
                for p in self.paragraphs]

    def marker_kind(self, i: int) -> str | None:
        """The kind of page-tail marker paragraph `i` is ("comments", "related", ...), if it
        is one (short, and a tail-marker phrase)."""
        return _is_marker(self, i)

    def body_overlap(self, i: int, upto: int) -> float:
        """Share of paragraph i's content words that occur in the prose before index `upto`
        (1.0 when it has none): low for a teaser of an unrelated story."""
        words = self.content_words[i]
        if not words:
            return 1.0
        return len(words & self._body_words(upto)) / len(words)

    def _body_words(self, upto: int) -> frozenset[str]:
        cache = self.__dict__.setdefault("_body_cache", {})
        if upto not in cache:
            body: set[str] = set()
            for j in range(upto):
                if self.reasons[j] is None and self.is_prose(j):
                    body |= self.content_words[j]
            cache[upto] = frozenset(body)
        return cache[upto]

    def prose_words_before(self, upto: int) -> int:
        """Words of the kept prose paragraphs before index `upto`."""
        return sum(self.features[j].n_words for j in range(upto) if self.reasons[j] is None and self.is_prose(j))

    def body_coherence(self, upto: int) -> float:
        """The article's coherence with itself: mean :meth:`body_overlap` of its prose
        paragraphs (from the second on) before `upto`; 0.0 with fewer than three."""
        prose = [j for j in range(upto) if self.reasons[j] is None and self.is_prose(j)]
        if len(prose) < 3:
            return 0.0
        return sum(self.body_overlap(j, j) for j in prose[1:]) / (len(prose) - 1)

    @cached_property
    def first_body(self) -> int | None:
        """Index of the first kept prose paragraph (read by the context rules only)."""
        body = [j for j, r in enumerate(self.reasons)
                if r is None and self.is_prose(j) and not self.is_heading_shape(j)]
        return body[0] if body else None

    @cached_property
    def tail(self) -> tuple[int, str] | None:
        """(index, kind) of the page-tail marker, or None."""
        return _find_tail(self)

    @cached_property
    def resumed_article(self) -> frozenset[int]:
        """Paragraphs after the tail marker where the article resumes (read once the rules
        have run; see :func:`_resumed_article`)."""
        return _resumed_article(self)


Rule = Callable[[int, Document], "str | None"]


def _short(doc: Document, i: int, limit: int | None = None) -> bool:
    return 0 < doc.features[i].n_words <= (limit if limit is not None else doc.config.max_phrase_words)


def _any_full(patterns: Sequence[re.Pattern[str]], text: str) -> bool:
    return any(p.fullmatch(text) for p in patterns)


def _compile(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


# --------------------------------------------------------------------------- fragments


def short_fragment(i: int, doc: Document) -> str | None:
    """Empty lines, lone symbols and short lines without any letter ("•", "***", "1/5")."""
    text = doc.paragraphs[i].strip()
    if len(text) <= 1:
        return "short_fragment"
    if doc.features[i].n_letters == 0 and len(text) <= doc.config.short_fragment_max_chars:
        return "short_fragment"
    return None


# --------------------------------------------------------------------------- corpus templates


def site_template(i: int, doc: Document) -> str | None:
    """A paragraph that recurs across many documents of the corpus (a site footer), as told
    by the caller's predicate, e.g. :meth:`pipeline.templates.TemplateCounter.is_template`."""
    if doc.templates is not None and doc.templates(doc.paragraphs[i]):
        return "site_template"
    return None


# --------------------------------------------------------------------------- page tail

_TAIL_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(p))
    for kind, p in (
        ("comments", r"(?:\d+ )?(?:reader |user )?comments?(?: \d+)?"),
        ("comments", r"(?:leave|post|add|write) (?:a|your) (?:comment|reply|response)"),
        ("comments", r"join the (?:conversation|discussion|debate)"),
        ("comments", r"(?:show|view|load|read|see) (?:all |the )?comments"),
        ("comments", r"discussion"),
        ("related", r"related(?: (?:posts?|articles?|stories|story|news|content|coverage|links|reading|topics|videos?|items))?"),
        ("related", r"see also"),
        ("related", r"more (?:related )?(?:stories|articles|news|posts|coverage|videos)(?: (?:on|about) .{1,40})?"),
        ("popular", r"(?:most )?popular(?: (?:posts|stories|articles|news|now|today|this week))?(?: (?:from|on) .{1,40})?"),
        ("popular", r"most (?:read|viewed|shared|commented|watched|recent)(?: (?:stories|articles|news|posts))?"),
        ("popular", r"trending(?: (?:now|stories|news|articles|topics|today))?"),
        ("popular", r"(?:top|latest) (?:stories|news|headlines|articles|posts)"),
        ("popular", r"editor'?s'? (?:picks?|choice)"),
        ("recommended", r"recommended(?: (?:for you|stories|articles|reading|videos|posts))?"),
        ("recommended", r"you (?:may|might|will|could) (?:also )?(?:like|enjoy|be interested in|have missed)"),
        ("recommended", r"(?:read|watch) (?:more|next|this next)"),
        ("recommended", r"(?:also read|don't miss|must read|what to read next|up next|in case you missed it)"),
        ("recommended", r"more from .{1,60}"),
        ("recommended", r"(?:more|other) (?:in|on) (?:this )?(?:section|topic|category)"),
        ("recommended", r"(?:more|other|latest|top) (?:on|about) (?:this|the) (?:story|topic|subject|issue)"),
        ("recommended", r"elsewhere (?:on|in|at|from) .{1,40}|(?:also )?(?:on|from) (?:around )?(?:the|our) (?:site|web|network)"),
        ("recommended", r"(?:in )?other news|(?:more|other) (?:top )?(?:stories|headlines|news)(?: (?:for you|today|now))?"),
        ("recommended", r"(?:around|from) the web|(?:sponsored|partner|promoted) (?:stories|links|content)"),
        ("recommended", r"(?:what|stories) (?:to read|you missed)(?: next)?|(?:next|more) (?:up|stories)"),
        ("popular", r"(?:top|latest|popular|trending|featured|most (?:read|popular)) (?:now|today|this week)"),
        ("popular", r"(?:most )?popular (?:in|on) .{1,40}|(?:top|main) stories(?: (?:in|on) .{1,40})?"),
        ("comments", r"have your say|(?:your|reader) (?:comments|views|reactions?)|what do you think"),
    )
)


# Bare one-word markers can be ordinary section words; everything else is unambiguous.
_WEAK_MARKERS = frozenset({"related", "discussion", "popular", "trending", "recommended", "see also", "read more"})


def tail_marker_kind(text: str) -> str | None:
    """Kind of page-tail marker the (already normalised) line is, if any."""
    for kind, pattern in _TAIL_MARKERS:
        if pattern.fullmatch(text):
            return kind
    return None


def _is_marker(doc: Document, i: int) -> str | None:
    if not _short(doc, i, doc.config.tail_marker_max_words):
        return None
    return tail_marker_kind(doc.norm[i])


def _is_strong_marker(doc: Document, i: int) -> bool:
    return bool(_is_marker(doc, i)) and doc.norm[i] not in _WEAK_MARKERS


def _is_teaser(doc: Document, i: int) -> bool:
    """A teaser repeats the headline line before it, or is a long excerpt cut mid-sentence."""
    c, f = doc.config, doc.features[i]
    if i > 0 and doc.norm[i - 1] and _short(doc, i - 1, c.heading_max_words):
        prev, cur = doc.norm[i - 1], doc.norm[i]
        if cur.startswith(prev) and len(cur) >= len(prev) + c.teaser_min_extra_chars:
            return True
    return f.n_words >= c.long_paragraph_words and not f.terminal


_TAILLIKE_RULES: tuple[Rule, ...] = ()  # filled in below, once the phrase rules exist


def _off_topic(doc: Document, i: int, upto: int) -> bool:
    """Paragraph i shares few content words with the body before `upto`: fewer than
    ``teaser_max_body_overlap`` of them, and less than half of the body's own coherence
    (an article whose paragraphs share nothing gives no evidence either way)."""
    overlap = doc.body_overlap(i, upto)
    return overlap < doc.config.teaser_max_body_overlap and overlap < 0.5 * doc.body_coherence(upto)


def _is_taillike(doc: Document, i: int, marker: int | None = None) -> bool:
    if _is_marker(doc, i) or _is_teaser(doc, i) or not doc.is_prose(i):
        return True
    if marker is not None and _is_strong_marker(doc, marker) and _off_topic(doc, i, marker):
        return True  # well-formed prose about something else: a teaser of another story
    return any(rule(i, doc) for rule in _TAILLIKE_RULES)


def _find_tail(doc: Document) -> tuple[int, str] | None:
    c = doc.config
    nonempty = [i for i, p in enumerate(doc.paragraphs) if p.strip()]
    if not nonempty:
        return None
    body_chars = 0
    for rank, i in enumerate(nonempty):
        kind = _is_marker(doc, i)
        if kind and body_chars >= c.tail_min_body_chars_before:
            after = [j for j in nonempty if j > i]
            position = rank / len(nonempty)
            share = (sum(_is_taillike(doc, j, i) for j in after) / len(after)) if after else 1.0
            strong = _is_strong_marker(doc, i) and position >= c.tail_strong_marker_position
            if strong or position >= c.tail_late_position or share >= c.tail_min_taillike_share:
                return i, kind
        if doc.is_prose(i):
            body_chars += doc.features[i].n_chars
    return None


def _resumed_article(doc: Document) -> frozenset[int]:
    """After a tail marker of another kind than comments: the runs of at least
    ``tail_resume_min_paragraphs`` prose paragraphs (blank lines bridged) that are neither
    teasers nor off-topic (judged only after ``tail_override_max_words_before`` words of
    article), with ``tail_resume_min_words`` words or more together, and followed
    by more of the page: the article going on below an inline widget, not the page's tail (a
    run that ends the page is what a list of well-formed teasers looks like). Empty without
    such a marker."""
    if doc.tail is None or doc.tail[1] == "comments":
        return frozenset()
    marker, c = doc.tail[0], doc.config
    last = max(j for j, p in enumerate(doc.paragraphs) if p.strip())
    # the off-topic test needs an article before the marker to compare with (a short intro
    # or a teaser above the article is none)
    topical = doc.prose_words_before(marker) >= c.tail_override_max_words_before
    out: set[int] = set()
    run: list[int] = []
    for j in range(marker + 1, len(doc) + 1):
        if j < len(doc) and run and not doc.paragraphs[j].strip():
            continue
        if j < len(doc) and doc.is_prose(j) and not _is_teaser(doc, j) \
                and not (topical and _off_topic(doc, j, marker)):
            run.append(j)
            continue
        if len(run) >= c.tail_resume_min_paragraphs and run[-1] < last \
                and sum(doc.features[k].n_words for k in run) >= c.tail_resume_min_words:
            out.update(run)
        run = []
    return frozenset(out)


def page_tail(i: int, doc: Document) -> str | None:
    """The tail marker and everything after it ("Comments", "Related Posts", teasers, ...)."""
    tail = doc.tail
    if tail is not None and i >= tail[0]:
        return f"page_tail:{tail[1]}"
    return None


def widget_heading(i: int, doc: Document) -> str | None:
    """A tail-marker phrase that did not start a tail: a stray widget title ("Related Posts")."""
    return "widget_heading" if _is_marker(doc, i) else None


# --------------------------------------------------------------------------- phrase families

_NAVIGATION = _compile(
    r"(?:skip|jump) to (?:the )?(?:main )?(?:content|navigation|search|footer|menu|article)",
    r"skip (?:navigation|nav|links|to \w+)|search(?: (?:the )?[\w ]{1,30})?",
    r"(?:scroll|back|go|return) (?:to )?(?:the )?top(?: of (?:the )?page)?",
    r"share(?: (?:this|it|the))?(?: (?:article|story|post|page|video|link))?(?: (?:on|via|with|by|to) [\w &]{1,60})?",
    r"(?:save|bookmark|gift|email|e-mail|send|forward|recommend)(?: (?:this|the))? (?:article|story|post|page|link)(?: (?:to|with) (?:a )?(?:friend|colleague)s?)?(?: for later)?",
    r"(?:save|read) (?:for|it) later|(?:download|get) (?:our|the) (?:free )?(?:app|apps)(?: .{0,30})?",
    r"(?:follow|find|like|join) us (?:on|at) .{1,60}",
    r"(?:click|tap) (?:here )?to (?:share|tweet|print|email|copy).{0,40}",
    r"copy (?:the )?link(?: to clipboard)?|link copied",
    r"follow(?: us)?(?: (?:on|at) [\w ,&]{1,40})?|follow (?:the )?[\w ]{1,30} on (?:twitter|x|facebook|instagram|telegram|google news)",
    r"print(?: (?:this|the))?(?: (?:article|page|story|post))?",
    r"(?:main |open |close |toggle )?(?:menu|navigation)(?: toggle)?|toggle navigation",
    r"search(?: for)?|close|home|home ?page|sections|more|previous|next|load more(?: \w+)?|show more|view all|see all|loading",
    r"(?:previous|next|prev) (?:article|post|story|page|slide)",
    r"continue reading(?: the main story| below| here)?",
    r"listen to (?:this )?(?:article|story)(?: \d+ min(?:ute)?s?)?",
    r"(?:advertisement|advertising|advert|ad|ads|sponsored|sponsored content|promoted(?: content| stories)?|paid (?:content|post|partner content))",
    r"(?:advertisement|ad) (?:- )?(?:scroll|continue) (?:down )?(?:to|reading).{0,30}",
    r"(?:story|article) continues? (?:below|after)(?: (?:this )?(?:advertisement|ad))?",
    r"ad feedback|report (?:this )?ad|remove ads",
    r"(?:about us|contact us|contact|terms of (?:use|service)|terms and conditions|accessibility|sitemap|site map|careers|advertise with us)",
    r"(?:about|contact|advertise (?:with|on)|work (?:for|with)|jobs at|careers at|help (?:&|and)|write for) (?:us|the [\w ]{1,30}|[\w ]{1,30})",
    r"(?:terms|t) ?(?:&|and) ?(?:c|cs|conditions)|help(?: (?:&|and) (?:faqs?|support|contact))?|faqs?|(?:help|contact) (?:centre|center|desk|us)",
    r"(?:editorial|complaints|corrections|ethics|standards|policies|guidelines|company info|code of (?:practice|conduct))(?: (?:policy|standards|info))?",
    r"accessibility (?:help|statement)|(?:privacy|cookie) (?:help|info)|(?:rss|feeds?|podcasts?|newsletters?|apps?)(?: (?:feeds?|&|and) [\w ]{1,20})?",
)
_WIDGET_WORDS = frozenset(
    "facebook twitter x email e-mail mail whatsapp linkedin pinterest reddit telegram print share "
    "copy link tweet messenger flipboard pocket sms threads bluesky instagram youtube tiktok "
    "save gift url".split()
)
_BREADCRUMB_SEP = re.compile(r"\s*(?:»|›|>|/|\|)\s*")
_MENU_SEP = re.compile(r"\s{2,}|\s*[|·•/»›>]\s*")


def _is_menu_row(doc: Document, i: int) -> bool:
    """A row of menu/section links: 4+ capitalised items, no sentence, hardly any stopwords,
    either separated ("News · Sport · Weather", double spaces) or 6+ bare capitalised words."""
    f = doc.features[i]
    if f.terminal or f.n_words < 4:
        return False
    raw = unicodedata.normalize("NFKC", doc.paragraphs[i]).strip()
    items = [p for p in _MENU_SEP.split(raw) if p.strip()]
    if len(items) >= 4 and all(len(p.split()) <= 3 and p[:1].isupper() for p in items):
        return True
    words = raw.split()
    return len(words) >= 6 and f.n_stopwords == 0 and all(w[:1].isupper() or w == "&" for w in words)


def navigation(i: int, doc: Document) -> str | None:
    """Menu, share/follow/print buttons, back-to-top, advertisement labels, breadcrumbs."""
    if not _short(doc, i):
        return None
    text = doc.norm[i]
    if _any_full(_NAVIGATION, text):
        return "navigation"
    tokens = re.findall(r"[\w-]+", text)
    if tokens and all(t in _WIDGET_WORDS or t in ("comment", "comments") for t in tokens) \
            and any(t in _WIDGET_WORDS for t in tokens):  # a row of share buttons; "Comments" alone is a prompt
        return "navigation"
    if _URL_RE.search(doc.paragraphs[i]):
        return None
    if _is_menu_row(doc, i):
        return "navigation"
    parts = [p for p in _BREADCRUMB_SEP.split(doc.lower[i]) if p]
    if len(parts) >= 3 and all(len(p.split()) <= 3 and re.search(r"[^\W\d_]", p) for p in parts) \
            and not doc.features[i].terminal:
        return "navigation"
    return None


_COOKIE_SHORT = _compile(
    r"privacy (?:preferences|policy|settings|center|centre|notice|choices)",
    r"cookies?(?: (?:policy|settings|preferences|consent|notice|declaration))?",
    r"(?:manage|customi[sz]e|update) (?:cookies|preferences|consent|cookie settings|privacy settings)",
    r"(?:accept|reject|allow|decline|refuse|deny)(?: all)?(?: cookies)?|i (?:agree|accept)|got it|save (?:and|&) (?:exit|close)",
    r"(?:ok|okay|yes)?,? ?(?:i )?(?:agree|accept|consent|understand)(?: (?:and|&) (?:continue|close|proceed))?|(?:accept|agree) (?:and|&) (?:continue|close|proceed)",
    r"(?:accept|reject|allow|decline|refuse|deny|block) (?:all |only )?(?:non-?essential|optional|necessary|essential|strictly necessary|tracking)(?: cookies)?",
    r"(?:manage|change|review|set|view) (?:my |your )?(?:choices|consent|options|preferences|privacy|cookies|settings)",
    r"(?:cookie|privacy|consent) (?:choices|options|banner|manager)|(?:more|further) (?:options|information)|learn more",
    r"do not sell(?: or share)? my (?:personal )?(?:info|information|data)",
    r"we (?:care about|value) your privacy",
)
_COOKIE_WORD = re.compile(r"\bcookies?\b")
_COOKIE_CUE = re.compile(r"\b(?:consent|accept|agree|privacy|browsing|browser|preferences|choices|opt[- ]?out|personali[sz]\w*|tracking|essential|partners|experience|device)\b")
_COOKIE_SELF = re.compile(r"\b(?:our (?:web)?site|this (?:web)?site|we use|we and our|our partners|you|your|by continuing|by clicking|by using|this site)\b")


def cookie_notice(i: int, doc: Document) -> str | None:
    """Cookie/privacy banners: a paragraph about cookies addressed to the reader, or a banner button."""
    if _short(doc, i) and _any_full(_COOKIE_SHORT, doc.norm[i]):
        return "cookie_notice"
    if not _short(doc, i, doc.config.max_cookie_words):
        return None
    text = doc.lower[i]
    if _COOKIE_WORD.search(text) and _COOKIE_CUE.search(text) and _COOKIE_SELF.search(text):
        return "cookie_notice"
    return None


_COMMENT_SHORT = _compile(
    r"(?:\d+ )?comments?(?: \d+)?",
    r"(?:leave|post|add|write|submit|share) (?:a|your) (?:comment|reply|response|thoughts)(?: below)?",
    r"(?:view|show|hide|load|read|see) (?:all |more |the )?(?:\d+ )?(?:comments|replies)",
    r"join the (?:conversation|discussion|debate)",
    r"be the first to comment(?: on this (?:article|story|post))?",
    r"(?:there (?:are|is) )?no comments(?: yet)?(?: on this (?:article|story|post))?",
    r"there (?:are|is) (?:\d+ )?(?:comments? )?(?:on|for) this (?:article|story|post)",
    r"comments? (?:are|is|have been|has been) (?:closed|disabled|turned off|moderated)",
    r"(?:cancel )?reply|reply to this comment|report (?:this )?comment|report|flag|like|replies|load more(?: comments| replies)?",
    r"(?:be the first to|sign in to|log in to|register to|click to) (?:leave|post|add|write|make|read|see|view|join)\b.{0,40}",
    r"have your say|(?:show|hide) (?:\d+ )?repl(?:y|ies)|sort by:? .{0,20}|newest|oldest|most liked",
)
_COMMENT_SENTENCE = _compile(
    r"\byou must (?:be|become)\b.{0,80}\b(?:log ?in|logged in|sign(?:ed)? in|subscriber|registered|member)\b.{0,80}\bcomments?\b",
    r"^(?:please )?(?:log ?in|sign in|register|subscribe)\b.{0,30}\bto (?:post|leave|add|view|read|join|write)\b.{0,30}\bcomments?\b",
    r"\bcomments? (?:are|is) (?:closed|disabled|moderated)\b",
)


def comment_prompt(i: int, doc: Document) -> str | None:
    """"Comments", "Leave a comment", "There are no comments", "You must be logged in to comment"."""
    if _short(doc, i) and _any_full(_COMMENT_SHORT, doc.norm[i]):
        return "comment_prompt"
    if _short(doc, i, doc.config.max_prompt_words) and any(p.search(doc.lower[i]) for p in _COMMENT_SENTENCE):
        return "comment_prompt"
    return None


_SUBSCRIBE_SHORT = _compile(
    r"subscribe(?: (?:now|today|here|for free|for \S+))?",
    r"subscribe to (?:our|the|my) [\w' ]{1,40}",
    r"sign up(?: (?:now|today|for free|here))?",
    r"sign up (?:for|to) (?:our|the|my) [\w' ]{0,40}(?:newsletters?|alerts|updates|briefings?|emails?)(?: .{0,40})?",
    r"(?:get|receive) (?:our|the) [\w' ]{0,30}newsletters?(?: .{0,40})?",
    r"(?:log ?in|login|sign ?in|register|sign up|subscribe|my account)(?: ?(?:/|or|\||and|&) ?(?:log ?in|login|sign ?in|register|sign up|subscribe|create an account))*",
    r"create (?:an|a free|your) account",
    r"already (?:a subscriber|a member|have an account|registered).{0,40}",
    r"become a (?:subscriber|member|patron|supporter)(?: today| now)?",
    r"newsletters?(?: sign ?up)?|e-?mail newsletters?",
    r"(?:newsletter|briefing|bulletin|alerts?|sign up|subscribe)\s*[:|-]\s*.{1,80}",
    r"subscribe (?:for|from) .{1,30}|(?:try|start) (?:\w+ )?(?:free|trial).{0,30}",
    r"(?:support|donate to|fund) (?:our|independent|quality|local) journalism.{0,40}",
    r"(?:this (?:article|story|content) is )?(?:for|available to|exclusive to) (?:subscribers|members|premium members) only",
    r"unlock (?:this|full|unlimited) .{0,40}|subscriber exclusive|premium|paywall",
)
_SUBSCRIBE_TOPIC = re.compile(r"\b(?:subscri\w*|sign (?:up|in)|log ?in|logged in|register\w*|newsletters?|account|inbox|e-?mails?|alerts|briefing|bulletin|digest)\b")
_SUBSCRIBE_CUE = re.compile(
    r"(?:^|\b)(?:you must|please|to continue reading|to keep reading|to read (?:this|the (?:full|rest))|to unlock|"
    r"unlimited access|delivered to your inbox|straight to your inbox|in your inbox|our newsletter|"
    r"enter your e-?mail|your e-?mail address|sign up (?:now|today|for free|here)|subscribe (?:now|today|for))\b|"
    r"\b(?:sign up (?:to|for) (?:our|the|a|free)|join our|subscribe to get|get (?:our|the|breaking|the latest)|never miss|"
    r"sent (?:straight )?to your|delivered (?:free|daily|weekly|every|each)|for just|per (?:week|month)|a (?:week|month)|free trial)\b"
)


def subscribe_prompt(i: int, doc: Document) -> str | None:
    """Newsletter, login and paywall prompts."""
    if _short(doc, i) and _any_full(_SUBSCRIBE_SHORT, doc.norm[i]):
        return "subscribe_prompt"
    if _short(doc, i, doc.config.max_prompt_words):
        text = doc.lower[i]
        if _SUBSCRIBE_TOPIC.search(text) and _SUBSCRIBE_CUE.search(text):
            return "subscribe_prompt"
    return None


_COPYRIGHT = re.compile(
    r"\ball (?:content|material|text|images)\b.{0,20}\bcopyright\b|\bregistered (?:office|in (?:england|scotland|wales)|company|address)\b|"
    r"\bis not responsible for the content of (?:external|other) (?:sites|websites|links)\b|\bexternal linking\b|"
    r"\b(?:is|are) (?:published|owned|operated) by [A-Za-z].{0,60}\b(?:ltd|limited|inc|llc|plc|group|media)\b|"
    r"\b(?:our|the) (?:privacy|cookie) (?:notice|policy|statement) (?:explains|sets out|describes)\b|©|\(c\)\s*(?:\d{4}|copyright)|^copyright\b|\bcopyright\s*(?:\(c\)\s*)?\d{4}|\ball rights reserved\b"
)


def copyright_line(i: int, doc: Document) -> str | None:
    """"© Copyright X 2024. All rights reserved.", "(c) 2023 Example Media"."""
    if _short(doc, i, doc.config.max_prompt_words) and _COPYRIGHT.search(doc.lower[i]):
        return "copyright"
    return None


def bare_url(i: int, doc: Document) -> str | None:
    """Paragraphs that are (almost) only URLs: unexpanded tweet/video embeds, link dumps."""
    text = doc.paragraphs[i]
    if not _URL_RE.search(text):
        return None
    rest = _WORD_RE.findall(_URL_RE.sub(" ", text))
    c = doc.config
    if len(rest) <= c.bare_url_max_other_words or doc.features[i].url_share >= c.bare_url_min_url_share:
        return "bare_url"
    return None


_EMBED = _compile(
    r"[-—–]+ ?[^()]{1,60}\(@\w{1,15}\) (?:[a-z]+ \d{1,2}, \d{4}|\d{1,2} [a-z]+ \d{4})",
    r"(?:a post shared by|view this post on instagram|view this profile on instagram).{0,80}",
    r"(?:this|the) (?:content|embed|video|tweet|post) (?:is not|isn't|cannot be) (?:available|displayed|shown|loaded).{0,60}",
    r"(?:watch|view) (?:on|in) (?:youtube|twitter|x|instagram|tiktok|facebook)",
)


def embed(i: int, doc: Document) -> str | None:
    """Social-media embed remnants: tweet attributions, "View this post on Instagram"."""
    if not _short(doc, i, doc.config.max_prompt_words):
        return None
    text = re.sub(r"\s+", " ", _URL_RE.sub(" ", doc.lower[i])).strip()
    return "embed" if _any_full(_EMBED, text) else None


_CATEGORY_HEAD = re.compile(
    r"^(?:(?:categori[sz]ed|filed|posted|listed|published) (?:in|under)|"
    r"(?:tags?|tagged(?: with| as)?|topics?|categories|category|labels?|keywords|sections?|more about|related topics|"
    r"more on (?:this|the) (?:story|topic|subject)|more (?:about|on) this)\s*:)"
    r"\s*:?\s*"
)
_LABEL_SEP = re.compile(r"\s*(?:[,;|•·/#]|\s{2,})\s*")


def category_line(i: int, doc: Document) -> str | None:
    """"Categorized in:", "Tags: Russia, Belarus", "Filed under: World" (nothing or only short labels)."""
    text = re.sub(r"[ \t]+", " ", unicodedata.normalize("NFKC", doc.paragraphs[i]).strip().lower())
    m = _CATEGORY_HEAD.match(text)
    if not m:
        return None
    rest = text[m.end():].strip()
    if not rest:
        return "category_line"
    labels = [lab for lab in _LABEL_SEP.split(rest) if lab]
    limit = doc.config.category_label_max_words
    if all(len(lab.split()) <= limit and lab.rstrip(_CLOSERS)[-1:] not in _TERMINALS for lab in labels):
        return "category_line"
    return None


_READ_MORE = re.compile(  # also "Also read - headline"
    r"(?:read more|read also|also read|see also|related|related (?:article|story|coverage|content|reading|link)|"
    r"more|recommended|don't miss|must read|read next|read|watch|listen|click here)"
    r"\s*(?:[:|»>›]|\s[-–—])\s*\S.*"
)


def read_more_link(i: int, doc: Document) -> str | None:
    """Inline promo links: "READ MORE: Putin warns ...", "Related: ..."."""
    if _short(doc, i, doc.config.max_prompt_words):
        text = re.sub(r"^[^\w(]+", "", doc.lower[i])
        if _READ_MORE.fullmatch(text):
            return "read_more_link"
    return None


_NAME = r"[A-Z][\w.'’-]*"
_BYLINE = re.compile(
    rf"^(?:By|BY|Written by|Posted by|Reporting by|Words by|Story by)\s+{_NAME}(?:\s+{_NAME}){{0,3}}"
    rf"(?:\s*(?:,|and|&)\s*{_NAME}(?:\s+{_NAME}){{0,3}})*(?:\s*[|,–—-]\s*[^.!?]{{0,40}})?$"
)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATELINE = _compile(
    rf"(?:published|updated|last updated|posted|first published|modified|date)(?: on| at)?:? .{{0,60}}(?:\d|{_MONTH}).{{0,60}}",
    r"\d+ (?:min|mins|minute|minutes) (?:read|listen)|reading time:? .{0,30}",
    rf"(?:mon|tues|wednes|thurs|fri|satur|sun)day,? (?:\d{{1,2}} {_MONTH}|{_MONTH} \d{{1,2}}),? \d{{4}}(?:,? \d{{1,2}}:\d{{2}}.{{0,20}})?",
    rf"(?:{_MONTH} \d{{1,2}}|\d{{1,2}} {_MONTH}),? \d{{4}}(?:,? (?:at )?\d{{1,2}}[:.]\d{{2}}.{{0,20}})?",
    r"\d{1,2}[/.]\d{1,2}[/.]\d{2,4}(?:,? \d{1,2}:\d{2}.{0,20})?",
)


_AGENCY = r"(?:getty(?: images)?|reuters|afp|ap(?: photo)?|pa(?: media| wire)?|epa|shutterstock|alamy|bloomberg|xinhua|anadolu)"
_CREDIT = _compile(
    r"(?:image|images|photo|photos|photograph|picture|pictures|pic|video|graphic|illustration|footage)"
    r"(?: (?:source|caption|credit|copyright))?\s*[:,|-]\s*.{1,100}",
    r"\(?(?:photo|image|picture|photograph)s? (?:by|from|courtesy(?: of)?|credit)\b.{1,80}\)?",
    rf"(?:credit|source|copyright)\s*[:,]\s*.{{1,60}}|{_AGENCY}(?:\s*/\s*[\w .'-]{{1,40}})?",
    rf".{{1,60}}/\s*{_AGENCY}",
)


def photo_credit(i: int, doc: Document) -> str | None:
    """Photo credits and caption labels: "Image: Getty Images", "(Photo by X/Reuters)", "Image source, AFP"."""
    if _short(doc, i, doc.config.credit_max_words) and _any_full(_CREDIT, doc.lower[i].strip("() ")):
        return "photo_credit"
    return None


_ROLE_BYLINE = re.compile(
    rf"^{_NAME}(?:\s+{_NAME}){{1,3}}\s*[|,–—-]\s*(?:[\w ]{{0,30}}\b(?:reporter|correspondent|editor|desk|writer|"
    rf"columnist|contributor|producer|analyst|staff|journalist|bureau)s?)$", re.IGNORECASE
)


def byline(i: int, doc: Document) -> str | None:
    """"By Jane Doe", "By Jane Doe and John Roe, Reuters"."""
    text = doc.paragraphs[i].strip()
    if _short(doc, i, doc.config.byline_max_words) and not doc.features[i].terminal \
            and (_BYLINE.match(text) or _ROLE_BYLINE.match(text)):
        return "byline"
    return None


def dateline(i: int, doc: Document) -> str | None:
    """"Published October 17, 2022", "Updated: 10/17/2022 10:30", "5 min read"."""
    if _short(doc, i, doc.config.byline_max_words) and _any_full(_DATELINE, doc.norm[i]):
        return "dateline"
    return None


# --------------------------------------------------------------------------- context rules


def page_header(i: int, doc: Document) -> str | None:
    """Short heading-shaped lines before the title (site name, section label): the title
    is the longest kept heading-shaped line before the first body paragraph; what
    precedes it with at most ``header_max_words`` words is page header. Without body text
    nothing is removed."""
    first = doc.first_body
    if first is None or i >= first or not doc.is_heading_shape(i):
        return None
    leading = [j for j in range(first) if doc.reasons[j] is None and doc.is_heading_shape(j)]
    title = max(leading, key=lambda j: (doc.features[j].n_words, -j))
    if i < title and doc.features[i].n_words <= doc.config.header_max_words:
        return "page_header"
    return None


def trailing_fragment(i: int, doc: Document) -> str | None:
    """A heading-shaped line after the last body paragraph (leftover link/widget text at the end).

    Without any body paragraph there is no context to judge by (e.g. a caller looking at
    only the first few lines for a title), so nothing is removed.
    """
    if doc.is_heading_shape(i) and doc.last_body is not None and i > doc.last_body:
        return "trailing_fragment"
    return None


# --------------------------------------------------------------------------- pipeline

RULES: tuple[Rule, ...] = (
    short_fragment,
    site_template,
    page_tail,
    bare_url,
    navigation,
    cookie_notice,
    comment_prompt,
    subscribe_prompt,
    copyright_line,
    embed,
    category_line,
    read_more_link,
    widget_heading,  # after the prompt families, so "Leave a comment" stays a comment_prompt
    byline,
    dateline,
    photo_credit,
    page_header,  # context: needs the verdicts of all rules above
    trailing_fragment,  # context: needs the verdicts of all rules above
)

_TAILLIKE_RULES = (navigation, cookie_notice, comment_prompt, subscribe_prompt, copyright_line, bare_url, embed)


def rule_document(
    paragraphs: list[str], config: BoilerplateConfig = BoilerplateConfig(),
    templates: Callable[[str], bool] | None = None,
) -> Document:
    """The :class:`Document` after the named rules ran (``doc.reasons`` filled).

    Rules run in :data:`RULES` order, each over the whole document, on paragraphs that
    no earlier rule has claimed (first reason wins).
    """
    doc = Document(list(paragraphs), config, templates=templates)
    rules = RULES if config.only_rules is None else tuple(r for r in RULES if r.__name__ in config.only_rules)
    for rule in rules:
        for i in range(len(doc)):
            if doc.reasons[i] is None:
                doc.reasons[i] = rule(i, doc)
    return doc


MODEL_REASON = "model:boilerplate"


def _keep_headings_between_kept_text(doc: Document, reasons: list[str | None], title: int | None) -> None:
    """Undo the model's drop of a heading-shaped line whose nearest non-heading neighbours
    (before it: or the headline) are both kept: a section heading inside the article.
    (Out of fold on the training pages of eval/train_boilerplate.py: mean F1 0.9100 -> 0.9111
    with the override policy, 0.8836 -> 0.8847 without.)"""
    n = len(doc)
    for j in range(n):
        if reasons[j] != MODEL_REASON or not doc.is_heading_shape(j):
            continue
        before = next((k for k in range(j - 1, -1, -1) if k == title or not doc.is_heading_shape(k)), None)
        after = next((k for k in range(j + 1, n) if not doc.is_heading_shape(k)), None)
        if before is not None and after is not None and reasons[before] is None and reasons[after] is None:
            reasons[j] = None


def _overridable(i: int, reason: str, doc: Document, hard: frozenset[str]) -> bool:
    """Whether the model may keep paragraph i, which the rule `reason` claimed (see
    `model_overrides_rules` and `model_overrides_tail` of :class:`BoilerplateConfig`)."""
    family, config = reason.split(":", 1)[0], doc.config
    if family in hard or reason == "site_template":
        return False
    if config.model_overrides_rules or family in config.model_overrides_families:
        return True
    if family == "page_tail":
        if not config.model_overrides_tail or doc.tail is None:
            return False
        marker = doc.tail[0]
        return (reason == "page_tail:comments"
                and doc.prose_words_before(marker) < config.tail_override_max_words_before) \
            or doc.body_overlap(i, marker) >= config.tail_override_min_overlap \
            or i in doc.resumed_article
    return False


def _sure_tail_override(i: int, reason: str, doc: Document, proba: float) -> bool:
    """Whether the model keeps paragraph i of the page tail by its probability alone (see
    `tail_override_min_proba` of :class:`BoilerplateConfig`)."""
    sure = doc.config.tail_override_min_proba
    if sure is None or proba < sure or reason != "page_tail:comments" or doc.tail is None:
        return False
    return not _is_taillike(doc, i, doc.tail[0])


def classify(
    paragraphs: list[str], config: BoilerplateConfig = BoilerplateConfig(),
    templates: Callable[[str], bool] | None = None, article_text: str | None = None,
) -> list[ParagraphVerdict]:
    """One verdict per paragraph text, same order.

    `article_text`, for the paragraphs of a whole HTML page (`pipeline.pagetext`), is the
    article an extractor cut from it (trafilatura's, `pipeline.ingest`): the page is then
    judged by the HTML model (`boilerplate_model.HTML_MODEL_PATH`), which also reads how
    much of each paragraph that article holds.

    `templates`, if given, tells which paragraphs are corpus-level templates (rule
    ``site_template``), e.g. ``TemplateCounter.is_template`` of :mod:`pipeline.templates`.

    The named rules run first (:func:`rule_document`). Then, with ``config.use_model``, the
    learned paragraph model (:mod:`pipeline.boilerplate_model`) gives each paragraph a
    probability of being article text: a paragraph claimed by one of the model's *hard*
    rules stays boilerplate with that rule's reason; a paragraph claimed by another rule
    that the model may override (``model_overrides_rules``: any soft rule; by default only
    the page tail, under the conditions of ``model_overrides_tail``) is kept only when the
    model's probability reaches ``override_threshold`` (else it keeps the rule's reason);
    other rules' verdicts stand; a paragraph no rule claimed is boilerplate when the probability is
    below ``threshold``, with the reason :data:`MODEL_REASON`. A page the model would empty
    of everything the rules kept keeps the rules' verdict. Kept heading-shaped lines are then
    flagged ``is_heading``.
    """
    doc = rule_document(paragraphs, config, templates)
    reasons = list(doc.reasons)
    if config.use_model and len(doc):
        from pipeline.boilerplate_model import HTML_MODEL_PATH, load_model, title_index

        model = load_model() if article_text is None else load_model(str(HTML_MODEL_PATH))
        if model is not None:
            proba = model.content_proba(doc, article_text) if model.reads_article else model.content_proba(doc)
            title = title_index(doc)
            for i, reason in enumerate(reasons):
                if i == title:
                    continue  # the page's headline stays, whatever the model says
                if reason is not None and not _overridable(i, reason, doc, model.hard_rules):
                    if _sure_tail_override(i, reason, doc, proba[i]):
                        reasons[i] = None
                    continue
                if proba[i] < (model.threshold if reason is None else model.override_threshold):
                    reasons[i] = reason or MODEL_REASON
                else:
                    reasons[i] = None
            _keep_headings_between_kept_text(doc, reasons, title)
            if all(r is not None for r in reasons) and any(r is None for r in doc.reasons):
                # the model judges a paragraph against the rest of its page; where it would
                # remove every paragraph the rules kept (a short article, a one-line item)
                # it had no article text to compare with, and the rules' verdict stands
                reasons = list(doc.reasons)
    return [
        ParagraphVerdict(reason=reason, is_heading=reason is None and doc.is_heading_shape(i))
        for i, reason in enumerate(reasons)
    ]


def model_features(paragraphs: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """First-pass rows of a page given as paragraph texts (the rules run first)."""
    from pipeline.boilerplate_model import base_features

    return base_features(rule_document(list(paragraphs), BoilerplateConfig(use_model=False)))
