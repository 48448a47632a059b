"""Claims: which sentences are checkable assertions, who made them, and what they count.

A sentence is a claim when it is a sentence of at least two words (not a heading) that is
attributed to a source (in the sentence, or inherited inside a multi-sentence direct
quote) — a question too, when someone is said to ask it ('“Why should families pay
twice?” Harlow asked.'; PolNeAR counts these as attributions) — or an assertion (a verb and at least five words) whose `checkworthiness`
reaches CLAIM_THRESHOLD. `check_worthy` says which claims reach the threshold, so an
attributed statement without numbers or names is published too (issue #16).

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
# an attributed sentence is a claim with at least this many words ("“Not once.”" inside a
# quotation; 3 before: on PolNeAR train the two-word rows are right as often as the others)
MIN_ATTRIBUTED_WORDS = 2


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
    check_worthy: bool = False  # checkworthiness >= CLAIM_THRESHOLD
    speaker_as_written: str | None = None  # the speaker span in the sentence ("he"), None when inherited


@dataclass
class SentenceAnalysis:
    sent: SentenceInput
    attribution: Attribution
    quantities: list[Quantity]
    entities: list[tuple[str, str, int, int]]  # text, label, start, end (sentence-relative)
    features: dict[str, float]
    is_claim: bool  # an assertion reaching the threshold on its own (before document-level attribution)
    hedged: bool
    negated: bool
    lemmas: list[str] = field(default_factory=list)
    has_quotes: bool = False
    titles: list[tuple[str, str]] = field(default_factory=list)  # ("president", "Alexander Lukashenko")
    declarative: bool = False  # not a heading, not a question, with some words: may be a claim when attributed
    question: bool = False  # a question (not a heading, with some words): a claim only when attributed
    assertion: bool = False  # declarative, with a verb and at least five words: a claim when check-worthy


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
    declarative = not sent.is_heading and not is_question and n_tokens >= MIN_ATTRIBUTED_WORDS
    question = not sent.is_heading and is_question and n_tokens >= MIN_ATTRIBUTED_WORDS
    assertion = declarative and has_verb and n_tokens >= 5
    is_claim = assertion and score >= CLAIM_THRESHOLD
    lemmas = sorted({t.lemma_.lower() for t in doc if t.is_alpha and not t.is_stop and len(t) > 2})
    return SentenceAnalysis(
        sent=sent, attribution=att, quantities=quantities, entities=ents, features=features,
        is_claim=is_claim, hedged=hedged, negated=is_negated(doc, att), lemmas=lemmas,
        has_quotes=bool(quoted_ranges(doc.text)), titles=_person_titles(doc),
        declarative=declarative, assertion=assertion, question=question,
    )


def _person_titles(doc: "Doc") -> list[tuple[str, str]]:
    """Title words written before a person's name: "Belarusian President Alexander
    Lukashenko" -> ("president", "Alexander Lukashenko") and, for each capitalized word
    before the title, ("belarusian president", "Alexander Lukashenko"); also "X, the
    spokesman ..."."""
    out = []
    for ent in doc.ents:
        if ent.label_ != "PERSON":
            continue
        window = doc[max(0, ent.start - 4):ent.start]
        for k, tok in enumerate(window):
            # the title stands right before the name (other title words between: "Prime Minister")
            if tok.lower_ in TITLE_WORDS and tok.pos_ in {"PROPN", "NOUN"} \
                    and all(t.lower_ in TITLE_WORDS or t.is_space for t in window[k + 1:]):
                title = tok.lower_.rstrip(".")
                out.append((title, ent.text))
                for mod in window[:k]:
                    if mod.text[:1].isupper() and mod.is_alpha and mod.lower_ not in TITLE_WORDS:
                        out.append((f"{mod.lower_} {title}", ent.text))
        for child in ent.root.children:
            if child.dep_ == "appos" and child.pos_ == "NOUN" and child.lower_ in TITLE_WORDS:
                out.append((child.lower_, ent.text))
                for mod in child.children:
                    if mod.dep_ in {"amod", "compound"} and mod.text[:1].isupper() and mod.is_alpha:
                        out.append((f"{mod.lower_} {child.lower_}", ent.text))
    return out


_DETERMINERS = frozenset("the this that these those".split())


# titles that name one role ("the Belarusian president" of "Belarusian leader Alexander Lukashenko")
_ROLE_FAMILIES = (frozenset({"president", "leader"}), frozenset({"spokesman", "spokeswoman", "spokesperson"}),
                  frozenset({"chairman", "chairwoman", "chair"}))


def _same_role(title: str, head: str) -> bool:
    return title == head or any(title in f and head in f for f in _ROLE_FAMILIES)


def _titled_person(words: list[str], titles: Sequence[tuple[str, str]]) -> str | None:
    """The person a definite description names ("the Belarusian president"): the latest
    person the document gave that title (or one of the same role: president / leader)
    with the most of the description's modifiers; a description with modifiers never
    goes to a person titled with other ones only ("Russian President Vladimir Putin" is
    not "the Belarusian president")."""
    head, mods = words[-1], words[:-1]
    tset = set(titles)
    best, best_score = None, (-1, False)
    for title, person in reversed(titles):
        if " " in title or not _same_role(title, head):
            continue
        score = (sum((f"{m} {title}", person) in tset for m in mods), title == head)
        qualified = any(t.endswith(" " + title) and p == person for t, p in tset)
        if mods and score[0] == 0 and qualified:
            continue  # titled with other modifiers only
        if score > best_score:
            best, best_score = person, score
    return best


def _resolve(att: Attribution, history: list[tuple[str, str | None]], names: list[str],
             titles: Sequence[tuple[str, str]] = (), orgs: Sequence[str] = ()) -> tuple[str | None, str | None]:
    """Speaker text and type after document-level normalization and resolution.

    `names` are the names a written name may be the short form of (persons, and
    organizations written as a proper name); `orgs` the organizations named so far."""
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
        words = [w for w in low.replace("’s", "").replace("'s", "").split() if w not in _DETERMINERS]
        if not words:
            return speaker, "OTHER"
        head, mods = words[-1], words[:-1]
        for prev, prev_label in reversed(history):
            prev_words = prev.lower().split()
            if head in prev_words and prev.lower() != low and all(m in prev_words for m in mods):
                return prev, prev_label
        # "the president" -> the last person introduced as "President ..." in the document
        person = _titled_person(words, titles)
        if person is not None:
            return fullest_form(person, names), "PERSON"
        # "the ministry" -> the last organization named with that word
        for org in reversed(orgs):
            org_words = org.lower().split()
            if head in org_words and org.lower() != low and all(m in org_words for m in mods):
                return org, "ORG"
        return speaker, label if label in SPEAKER_TYPES else "OTHER"
    if label in {"GPE", "NORP"}:  # a country is not the short form of "the Ministry of Defense Belarus"
        return speaker, label
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
    # a written name extends to a person's fuller name, or to an organization's proper name
    # ("Pravda" -> "Ukrainska Pravda"), never to a description ("the Ministry of Defense Belarus")
    names = sorted({text for a in analyses for text, label, _s, _e in a.entities
                    if label == "PERSON" or label == "ORG" and all(w[:1].isupper() for w in text.split())}, key=len)
    gpe = {text for a in analyses for text, label, _s, _e in a.entities if label in {"GPE", "NORP"}}
    resolved: list[tuple[str | None, str | None, Attribution, bool]] = []
    history: list[tuple[str, str | None]] = []
    titles: list[tuple[str, str]] = []
    orgs: list[str] = []
    for a in analyses:
        titles.extend(a.titles)
        orgs.extend(text for text, label, _s, _e in a.entities if label == "ORG" and len(text.split()) > 1)
        att = a.attribution
        if att.speaker in gpe and att.speaker_label not in {"GPE", "NORP"}:
            att = replace(att, speaker_label="GPE")  # "Belarus" tagged ORG here, GPE elsewhere
        speaker, stype = _resolve(att, history, names, titles, orgs)
        if speaker is not None and speaker.lower() not in PRONOUNS:
            history.append((speaker, stype))
        resolved.append((speaker, stype, a.attribution, True))
    # a quotation running over several sentences (and paragraphs, when the next one opens
    # with a quotation mark again) is said by the one speaker attributed in it
    for group in quotation_groups([a.sent for a in analyses]):
        own = {resolved[i][0] for i in group if resolved[i][0] is not None and resolved[i][3]
               and resolved[i][2].quote_type == "direct" and i not in group.inside}
        if len(own) != 1:
            continue
        k = next(i for i in group if resolved[i][0] in own and resolved[i][3])
        sp, st, att, _own = resolved[k]
        for i in group:
            if resolved[i][0] is None or i in group.inside:  # wholly inside: its own cue is quoted
                resolved[i] = (sp, st, replace(att, quote_type="direct", content_verb_i=None), False)
    # a quotation that opens its sentence with no speaker of its own, after a sentence that
    # introduces it ('Trump said:') or quotes the same speaker: that speaker's, one or two
    # sentences back (the previous paragraph included)
    # (a speaker found wholly inside the quotation, "And I always say ...", is the quotation's
    # words, not its speaker)
    person_types: dict[str, str] | None = None
    for group in quotation_groups([a.sent for a in analyses], singles=True):
        first = group[0]
        if any(resolved[i][0] is not None and i not in group.inside for i in group) \
                or not _opens_with_quote(analyses[first].sent.text):
            continue
        for j in (first - 1, first - 2):
            if j < 0 or resolved[j][0] is None:
                continue
            sp, st, att, own = resolved[j]
            if person_types is None:  # the document's vote, for a name the parse tagged ORG here ("Grimm said")
                person_types = _speaker_types(analyses, [(r[0], r[1]) for r in resolved])
            if analyses[j].sent.text.rstrip().endswith(":") or att.quote_type == "direct" \
                    or j == first - 1 and own and (att.speaker_label in {"PERSON", None}
                                                   or person_types.get(sp) == "PERSON"):
                for i in group:
                    resolved[i] = (sp, st, replace(att, quote_type="direct", content_verb_i=None), False)
            break
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
    types = _speaker_types(analyses, [(sp, st) for sp, st, _att, _own in resolved])
    out = []
    for speaker, stype, att, own in resolved:
        stype = types.get(speaker, stype)
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


class QuoteGroup(list):
    """Indices of consecutive sentences one quotation runs over; `inside` those wholly
    within it (opened in an earlier sentence, not closed in this one)."""

    def __init__(self, items=(), inside=()):
        super().__init__(items)
        self.inside = set(inside)


_OPEN_MARKS, _CLOSE_MARKS = "“«„", "”»"


def _quote_state(text: str, open_before: bool) -> tuple[bool, bool, bool]:
    """(open after the sentence, a quotation mark seen, a quotation closed in it) from
    double quotation marks (“ ” « » „, straight " and the doubled apostrophe '' some
    newspapers print for both), given whether a quotation was open before it. The
    sentence splitter often leaves the mark that opens the next sentence's quotation at
    the end of this one ("... do so. ''"): such a sentence closes nothing for it."""
    state, seen, closed = open_before, False, False
    stripped = len(text) - len(text.lstrip())
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        width = 2 if text.startswith("''", i) else 1
        if ch in _OPEN_MARKS:
            if not (state and i == stripped):  # a new paragraph of the same quotation reopens it
                state = True
        elif ch in _CLOSE_MARKS:
            closed = closed or state
            state = False
        elif ch == '"' or width == 2:
            prev = text[i - 1] if i else " "
            nxt = text[i + width] if i + width < n else " "
            closer = not prev.isspace() and (nxt.isspace() or nxt in ".,;:!?)")
            if state and i == stripped and not closer:
                pass  # continuation mark at the head of a paragraph
            else:
                closed = closed or state
                state = False if (state or closer) else True
        else:
            i += 1
            continue
        seen = True
        i += width
    return state, seen, closed


def _opens_with_quote(text: str) -> bool:
    t = text.lstrip()
    return t[:1] in _OPEN_MARKS + '"' or t.startswith("''")


def quotation_groups(sents: Sequence[SentenceInput], singles: bool = False) -> list[QuoteGroup]:
    """Runs of two or more consecutive sentences of one document that one quotation spans:
    it opens in the first, is still open at the start of each next one and closes in the
    last (a new paragraph continues it only when it opens with a quotation mark, the news
    convention for a quotation over several paragraphs). A quotation never closed gives
    no run: where it ends is unknown. With `singles`, a sentence that opens a quotation
    (closed in it, or never closed) is a run of its own too."""
    groups: list[QuoteGroup] = []
    state, current, inside, prev_para = False, [], [], None

    def unterminated():
        if singles and current:
            groups.append(QuoteGroup(current[:1], ()))

    for i, sent in enumerate(sents):
        if sent.paragraph_id != prev_para and state and not _opens_with_quote(sent.text):
            unterminated()
            state, current, inside = False, [], []
        prev_para = sent.paragraph_id
        before = state
        state, seen, closed = _quote_state(sent.text, before)
        if before:
            current.append(i)
            if state and not closed:
                inside.append(i)  # open before and after, closed nowhere in it: wholly quoted
        elif state:
            current, inside = [i], []
        elif singles and seen and _opens_with_quote(sent.text):
            current, inside = [i], []  # a quotation that opens and closes in this sentence
        if not state and current:
            if len(current) > 1 or singles:
                groups.append(QuoteGroup(current, inside))
            current, inside = [], []
    unterminated()
    return groups


_TYPE_PRIORITY = {"PERSON": 4, "ORG": 3, "GPE": 2, "NORP": 1}


def _speaker_types(analyses: Sequence[SentenceAnalysis],
                   speakers: Sequence[tuple[str | None, str | None]]) -> dict[str, str]:
    """One `speaker_type` per resolved speaker of a document: the label the document's
    named-entity mentions of that exact name carry most often, else the most frequent
    type among its attributions (OTHER only when nothing else is known; a tie goes to
    PERSON, then ORG, GPE, NORP). "Viktor Khrenin" tagged ORG in one sentence and PERSON
    in three is a PERSON in every row."""
    names = {sp for sp, _t in speakers if sp is not None}
    votes: dict[str, dict[str, int]] = {}
    for a in analyses:
        for text, label, _s, _e in a.entities:
            if text in names and label in SPEAKER_TYPES:
                votes.setdefault(text, {}).setdefault(label, 0)
                votes[text][label] += 2  # a label on the name itself outweighs one read from a sentence
    for (sp, st), a in zip(speakers, analyses):
        if sp is not None and st in SPEAKER_TYPES:
            votes.setdefault(sp, {}).setdefault(st, 0)
            votes[sp][st] += 1
        written = a.attribution.speaker
        if sp is not None and written and " " not in written and written != sp and sp.split()[-1:] == [written] \
                and not written.isupper() and len(sp.split()) in {2, 3}:
            # a surname alone for a fuller name ("Khrenin said"): a person
            votes.setdefault(sp, {}).setdefault("PERSON", 0)
            votes[sp]["PERSON"] += 2
    return {sp: max(v, key=lambda t: (v[t], _TYPE_PRIORITY[t])) for sp, v in votes.items()}


def document_claims(analyses: Sequence[SentenceAnalysis]) -> list[ClaimRow]:
    """Claim rows of one document's sentences (in document order): every declarative
    sentence or question with a (resolved) speaker, and every assertion that is check-worthy."""
    rows = []
    for a, r in zip(analyses, document_attributions(analyses)):
        features = dict(a.features, attribution=float(r.speaker is not None))
        score = checkworthiness(features)
        worthy = score >= CLAIM_THRESHOLD
        if not ((r.speaker is not None and (a.declarative or a.question)) or (worthy and a.assertion)):
            continue
        s = a.sent
        rows.append(
            ClaimRow(
                claim_id=ids.claim_id(s.sentence_id), sentence_id=s.sentence_id, doc_id=s.doc_id,
                paragraph_id=s.paragraph_id, text=s.text, char_start=s.char_start,
                char_end=s.char_start + len(s.text), checkworthiness=score,
                speaker=r.speaker, speaker_type=r.speaker_type, cue=r.cue, quote_type=r.quote_type,
                hedged=a.hedged, negated=a.negated, content_lemmas=" ".join(a.lemmas),
                check_worthy=worthy, speaker_as_written=r.surface,
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
