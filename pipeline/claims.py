"""Claims: which sentences are checkable assertions, who made them, and what they count.

A sentence is a claim when it is an assertion (not a heading, not a question, with a
finite verb and at least five words) whose `checkworthiness` reaches CLAIM_THRESHOLD.

`checkworthiness` is the calibrated probability that a sentence is a check-worthy
factual claim, from `pipeline.checkworthiness`: a linear model over the sentence's word
1-3-grams, character 2-5-grams, POS-tag 1-3-grams and function-word/POS patterns
(hashed, as scikit-learn's HashingVectorizer) plus these features of the parsed
sentence (x_f in 0..1):
  quantity      1 if it holds a counted / measured number (pipeline.quantities)
  named_entity  1 if it names a person, organization, place, group, product, event, law ...
  entity_count  min(number of such names, 3) / 3
  date          1 if it holds a DATE or TIME entity
  attribution   1 if it has a source (after document-level resolution for claim rows)
  long_enough   1 if it has at least 8 words
  hedged        1 if it has a hedge (may, might, reportedly, allegedly, ...)
  opinion       1 if it opens with "I think", "I believe", "in my opinion", ...
`analyze` adds the text part of the margin to the features (`text_margin`), so the
score of a claim row is recomputed with its document-level attribution without the text.
Trained on the ClaimBuster 2.5xNCS labels by `eval/checkworthiness.py` (5-fold CV ROC
AUC 0.941; the former 8-feature logistic regression scored 0.822), Platt-calibrated on
out-of-fold scores, shipped as `pipeline/models/checkworthiness.npz`; debate speech, not
news. CLAIM_THRESHOLD is the calibrated probability with the best F1 on the same labels
(out-of-fold), the rule of the former threshold.

Attribution comes from `pipeline.attribution`; quantities from
`pipeline.quantities`. Document-level context then fills the gaps a single sentence
cannot: a surname becomes the fullest name used in the same document, a pronoun or
"the ministry" becomes the most recent compatible named speaker, and a direct quote
running over several sentences gives each of them its speaker
(`document_attributions`, for every sentence, claim or not).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from pipeline import checkworthiness as _cw
from pipeline import ids
from pipeline.attribution import PERSON_PRONOUNS, PRONOUNS, Attribution, attribute, fullest_form, quoted_ranges
from pipeline.entities import NAMED_LABELS, TITLE_WORDS, extend_person_entities
from pipeline.quantities import Quantity, extract_quantities

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language
    from spacy.tokens import Doc

HEDGE_LEMMAS = frozenset(
    """may might could possibly probably likely unlikely perhaps reportedly allegedly apparently appear seem
    possibility possible potentially presumably suspect rumor rumour""".split()
)
SPEAKER_TYPES = frozenset({"PERSON", "ORG", "GPE", "NORP"})
DATE_LABELS = frozenset({"DATE", "TIME"})
OPINION_STARTS = ("i think", "i believe", "i feel", "in my opinion", "we think", "we believe")

# The best-F1 threshold of the calibrated out-of-fold check-worthiness on ClaimBuster, as
# printed by eval/checkworthiness.py (precision 0.763, recall 0.830; the former 8-feature
# score at its threshold 0.26: precision 0.633, recall 0.674). Kept equal to the value
# recorded in the model file (tests/test_checkworthiness.py).
CLAIM_THRESHOLD = 0.34


@dataclass(frozen=True)
class SentenceInput:
    sentence_id: str
    doc_id: str
    paragraph_id: str
    text: str
    char_start: int  # offset of the sentence in documents.text
    is_heading: bool = False


@dataclass
class ClaimRow:
    claim_id: str
    sentence_id: str
    doc_id: str
    paragraph_id: str
    text: str
    char_start: int
    char_end: int
    checkworthiness: float
    speaker: str | None
    speaker_type: str | None
    cue: str | None
    quote_type: str
    hedged: bool
    negated: bool
    content_lemmas: str = ""


@dataclass
class SentenceAnalysis:
    sent: SentenceInput
    attribution: Attribution
    quantities: list[Quantity]
    entities: list[tuple[str, str, int, int]]  # text, label, start, end (sentence-relative)
    features: dict[str, float]
    is_claim: bool
    hedged: bool
    negated: bool
    lemmas: list[str] = field(default_factory=list)
    has_quotes: bool = False
    titles: list[tuple[str, str]] = field(default_factory=list)  # ("president", "Alexander Lukashenko")


def checkworthiness(features: dict[str, float]) -> float:
    """Calibrated check-worthiness from the sentence features (and `text_margin`, when set)."""
    return round(_cw.probability(features), 6)


def _main_verb(doc: "Doc", att: Attribution):
    if att.content_verb_i is not None and 0 <= att.content_verb_i < len(doc):
        return doc[att.content_verb_i]
    roots = [t for t in doc if t.dep_ == "ROOT"]
    return roots[0] if roots else None


def is_negated(doc: "Doc", att: Attribution) -> bool:
    verb = _main_verb(doc, att)
    if verb is None:
        return False
    for child in verb.children:
        if child.dep_ == "neg":
            return True
        if child.dep_ in {"nsubj", "nsubjpass", "dobj"} and any(
            g.dep_ == "det" and g.lower_ in {"no", "neither"} for g in child.children
        ):
            return True
        if child.lower_ in {"never", "neither", "nor"}:
            return True
    return False


def is_hedged(doc: "Doc") -> bool:
    return any(t.lemma_.lower() in HEDGE_LEMMAS or t.lower_ in HEDGE_LEMMAS for t in doc)


def analyze(doc: "Doc", sent: SentenceInput) -> SentenceAnalysis:
    extend_person_entities(doc)
    att = attribute(doc)
    quantities = extract_quantities(doc)
    ents = [(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents]
    named = [e for e in ents if e[1] in NAMED_LABELS]
    hedged = is_hedged(doc)
    text = doc.text.strip()
    lower = text.lower()
    n_tokens = sum(1 for t in doc if not t.is_punct and not t.is_space)
    has_verb = any(t.pos_ in {"VERB", "AUX"} for t in doc)
    features = {
        "quantity": float(bool(quantities)),
        "named_entity": float(bool(named)),
        "entity_count": min(len(named), 3) / 3,
        "date": float(any(e[1] in DATE_LABELS for e in ents)),
        "attribution": float(att.cue is not None),
        "long_enough": float(n_tokens >= 8),
        "hedged": float(hedged),
        "opinion": float(lower.startswith(OPINION_STARTS)),
        _cw.TEXT_MARGIN: _cw.text_margin(doc),
    }
    score = checkworthiness(features)
    is_question = text.rstrip("\"”’)").endswith("?")
    is_claim = (
        not sent.is_heading and not is_question and has_verb and n_tokens >= 5 and score >= CLAIM_THRESHOLD
    )
    lemmas = sorted({t.lemma_.lower() for t in doc if t.is_alpha and not t.is_stop and len(t) > 2})
    return SentenceAnalysis(
        sent=sent, attribution=att, quantities=quantities, entities=ents, features=features,
        is_claim=is_claim, hedged=hedged, negated=is_negated(doc, att), lemmas=lemmas,
        has_quotes=bool(quoted_ranges(doc.text)), titles=_person_titles(doc),
    )


def _person_titles(doc: "Doc") -> list[tuple[str, str]]:
    """Title words written before a person's name: "Belarusian President Alexander
    Lukashenko" -> ("president", "Alexander Lukashenko"); also "X, the spokesman ..."."""
    out = []
    for ent in doc.ents:
        if ent.label_ != "PERSON":
            continue
        for tok in doc[max(0, ent.start - 3):ent.start]:
            if tok.lower_ in TITLE_WORDS and tok.pos_ in {"PROPN", "NOUN"}:
                out.append((tok.lower_.rstrip("."), ent.text))
        for child in ent.root.children:
            if child.dep_ == "appos" and child.pos_ == "NOUN" and child.lower_ in TITLE_WORDS:
                out.append((child.lower_, ent.text))
    return out


def _resolve(att: Attribution, history: list[tuple[str, str | None]], names: list[str],
             titles: Sequence[tuple[str, str]] = ()) -> tuple[str | None, str | None]:
    """Speaker text and type after document-level normalization and resolution."""
    speaker, label = att.speaker, att.speaker_label
    if speaker is None:
        return None, None
    low = speaker.lower()
    if low in PRONOUNS:
        wanted = {"PERSON"} if low in PERSON_PRONOUNS else ({"ORG", "GPE", "NORP"} if low == "it" else None)
        for prev, prev_label in reversed(history):
            if wanted is None or prev_label in wanted:
                return prev, prev_label
        return speaker, "OTHER"
    if att.needs_resolution:
        head = low.split()[-1]
        for prev, prev_label in reversed(history):
            if head in prev.lower().split() and prev.lower() != low:
                return prev, prev_label
        # "the president" -> the last person introduced as "President ..." in the document
        for title, person in reversed(titles):
            if title == head:
                return fullest_form(person, names), "PERSON"
        return speaker, label if label in SPEAKER_TYPES else "OTHER"
    full = fullest_form(speaker, names)
    return full, (label if label in SPEAKER_TYPES else ("PERSON" if full != speaker else "OTHER"))


@dataclass(frozen=True)
class ResolvedAttribution:
    """The attribution of one sentence after document-level resolution.

    `speaker` is normalized (fullest name in the document, pronoun / definite
    description resolved); `surface` is the speaker as written in the sentence (None
    when the speaker was inherited from a neighbouring sentence of the same quote).
    """
    speaker: str | None
    speaker_type: str | None
    cue: str | None
    quote_type: str
    surface: str | None = None
    surface_start: int | None = None  # sentence-relative offsets of `surface`
    surface_end: int | None = None
    inherited: bool = False  # speaker taken from a neighbouring sentence of the same direct quote
    phrase_start: int | None = None  # the whole subject phrase (appositions included), if any
    phrase_end: int | None = None


def document_attributions(analyses: Sequence[SentenceAnalysis]) -> list[ResolvedAttribution]:
    """One resolved attribution per sentence of one document (in document order),
    whether or not the sentence is a claim."""
    names = sorted({text for a in analyses for text, label, _s, _e in a.entities if label in {"PERSON", "ORG"}}, key=len)
    resolved: list[tuple[str | None, str | None, Attribution, bool]] = []
    history: list[tuple[str, str | None]] = []
    titles: list[tuple[str, str]] = []
    for a in analyses:
        titles.extend(a.titles)
        speaker, stype = _resolve(a.attribution, history, names, titles)
        if speaker is not None and speaker.lower() not in PRONOUNS:
            history.append((speaker, stype))
        resolved.append((speaker, stype, a.attribution, True))
    # direct quotes running over several sentences of one paragraph share their speaker
    for i, a in enumerate(analyses):
        if resolved[i][0] is not None or not a.has_quotes:
            continue
        for j in (i + 1, i - 1, i + 2, i - 2):
            if 0 <= j < len(analyses) and analyses[j].sent.paragraph_id == a.sent.paragraph_id:
                sp, st, att, _own = resolved[j]
                if sp is not None and att.quote_type == "direct":
                    resolved[i] = (sp, st, replace(att, quote_type="direct", content_verb_i=None), False)
                    break
    out = []
    for speaker, stype, att, own in resolved:
        if speaker is None:
            out.append(ResolvedAttribution(None, None, None, "none"))
            continue
        out.append(ResolvedAttribution(
            speaker, stype, att.cue, att.quote_type,
            att.speaker if own else None, att.speaker_start if own else None, att.speaker_end if own else None,
            inherited=not own,
            phrase_start=att.phrase_start if own else None, phrase_end=att.phrase_end if own else None,
        ))
    return out


def document_claims(analyses: Sequence[SentenceAnalysis]) -> list[ClaimRow]:
    """Claim rows of one document's sentences (in document order)."""
    rows = []
    for a, r in zip(analyses, document_attributions(analyses)):
        if not a.is_claim:
            continue
        features = dict(a.features, attribution=float(r.speaker is not None))
        s = a.sent
        rows.append(
            ClaimRow(
                claim_id=ids.claim_id(s.sentence_id), sentence_id=s.sentence_id, doc_id=s.doc_id,
                paragraph_id=s.paragraph_id, text=s.text, char_start=s.char_start,
                char_end=s.char_start + len(s.text), checkworthiness=checkworthiness(features),
                speaker=r.speaker, speaker_type=r.speaker_type, cue=r.cue, quote_type=r.quote_type,
                hedged=a.hedged, negated=a.negated, content_lemmas=" ".join(a.lemmas),
            )
        )
    return rows


@dataclass
class ClaimsOutput:
    claims: list[ClaimRow]
    quantities: list[dict]
    entities: list[dict]


def extract_claims(nlp: "Language", sentences: Iterable[SentenceInput], batch_size: int = 256) -> ClaimsOutput:
    """Run the full spaCy pipeline over the sentences and build the three claim tables.

    `sentences` must be grouped by document and in document order.
    """
    sentences = list(sentences)
    analyses_by_doc: dict[str, list[SentenceAnalysis]] = {}
    for sent, doc in zip(sentences, nlp.pipe((s.text for s in sentences), batch_size=batch_size)):
        analyses_by_doc.setdefault(sent.doc_id, []).append(analyze(doc, sent))
    out = ClaimsOutput([], [], [])
    for analyses in analyses_by_doc.values():
        by_sentence = {a.sent.sentence_id: a for a in analyses}
        for row in document_claims(analyses):
            out.claims.append(row)
            a = by_sentence[row.sentence_id]
            for n, q in enumerate(a.quantities):
                out.quantities.append(
                    {"claim_id": row.claim_id, "ordinal": n, "doc_id": row.doc_id, "value": float(q.value),
                     "unit": q.unit, "qualifier": q.qualifier, "text": q.text,
                     "char_start": row.char_start + q.start, "char_end": row.char_start + q.end}
                )
            for n, (text, label, start, end) in enumerate(e for e in a.entities if e[1] in NAMED_LABELS):
                out.entities.append(
                    {"claim_id": row.claim_id, "ordinal": n, "doc_id": row.doc_id, "text": text, "label": label,
                     "char_start": row.char_start + start, "char_end": row.char_start + end}
                )
    return out


def iter_batches(items: Sequence, size: int) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
