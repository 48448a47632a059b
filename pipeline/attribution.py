"""Who said it: speaker, cue and quote type from a dependency parse.

Patterns covered (each a small function over one parsed sentence):
- a reporting verb with a subject, pre- or postposed: "X said (that) ...",
  "..., X said.", "X told NBC ...", "X wrote on Twitter ...";
- "according to X";
- appositions are cut from the speaker: "Valeriy Revenko, head of ..., wrote" gives
  "Valeriy Revenko";
- a participle or coordinated verb shares its head's subject ("The DNC released a
  statement, saying ...", "Trump went to Ohio and said ..."); an inverted speaker
  ('"...," said Rubio'); a noun modified by a participle ("voters saying ...");
- stance verbs mined from PolNeAR train (MINED_CUE_VERBS: "X blasted Y", "polls show",
  "X declined to comment"), which need an explicit nominal subject;
- the possessor of a statement noun ("His refusal to ...", "hawks' warnings that");
- a name before a colon (headlines "Warren: Trump Is a Failure", transcripts "TAPPER:"),
  cue "colon";
- a title with a named apposition gives the name ("Ms. Merkel's spokesman, Steffen
  Seibert" -> "Steffen Seibert"); `phrase_start`/`phrase_end` keep the whole phrase;
- a relative-pronoun subject speaks for the noun it refers to ("Christian Pardo, who
  said ...", "Curiel, who declined to comment"); PolNeAR marks the pronoun itself, kept
  as `written_start`/`written_end`;
- "according to X" outranks a speaker inside the content it reports ("Kasich said ...,
  according to press reports"); of two parsed subjects the nearest to the verb speaks;
- a headline verb the tagger took for a noun ("Glenn Beck Blasts Drudge", "Trump
  Just Announced ...") or an auxiliary ("Clinton blasts Trump over ...");
- a common-noun speaker right after the verb that follows a quote ('"...," added a
  South Carolina Democrat'); a participle after a preposition speaks with the main
  verb's subject ("Trump landed in hot water by saying ..."); a participle's object or
  the name before it is not its speaker ("..., telling MSNBC ...");
- cue verbs right less than 80 % of the time as rules on PolNeAR train (show, claim,
  agree, hope, ...) are left to the learned model;
- subjects the parse hides: a name tagged as a verb or adverb ("Trump subsequently
  defended", "Jolly said"), a root noun with the main verb hung on it ("Beruff, a Scott
  ally, called ..."), an adjective or a passive controlling an infinitive ("voters were
  more likely to say", "The Fed is expected to announce", "was quoted as saying"), a verb
  conjoined with a passive ("was forced into ... and said");
- a speaker set off by commas inside the statement ("The contrast, said Doyle, would be
  ..."), a document speaking for its issuer ("the campaign released a statement saying
  ..."), an "as" clause framing the sentence ("as Western Journalism reported, ..."),
  phrasal speech verbs ("shot back", "weighed in", "spoke out");
- cue verbs that report nothing are skipped: credit lines ("Costa reported from
  Washington."), "precincts reporting", "All told", a phone call ("No one called");
- when none of these finds a speaker, a learned cue model (logistic regression trained
  on PolNeAR train by `eval/train_cue_model.py`, stored as JSON weights in
  `pipeline/models/cue_model.json`, applied in pure Python) scores every verb with a
  subject (own, shared, relative, passive, agent, object-controlled, or the noun a
  participle modifies; a quantifier too: "many think", "most of them say") and every noun with a possessor ("Warren believes ...",
  "Republicans fear ...", "his announcement") and keeps the best one above its
  threshold; the speaker is cut by the same span logic. Without the file the rules work
  alone;
- pronoun and definite-description speakers ("he told NBC", "the ministry said",
  "the president said") are resolved later, at document level, by
  `pipeline.claims.document_attributions`.
`quote_type` is `direct` when the sentence carries quoted words outside of which the
cue stands, `indirect` for reported speech without quotes, `none` without a cue.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING



if TYPE_CHECKING:  # pragma: no cover
    from spacy.tokens import Doc, Span, Token

REPORTING_VERBS = frozenset(
    """say tell reveal claim announce tweet report state add confirm disclose write note warn
    explain insist argue assure deny accuse clarify caution stress emphasize emphasise acknowledge
    admit predict estimate declare mention indicate allege maintain describe urge vow pledge promise
    reply respond answer testify complain boast concede contend assert observe remark suggest
    post inform brief quote cite announce threaten continue""".split()
)
# verbs that report speech only with a clause or a quote ("declared that ...", not "declared war")
CLAUSE_ONLY_VERBS = frozenset(
    """declare maintain note warn insist argue predict estimate indicate describe accuse suggest post promise
    threaten pledge vow acknowledge admit deny urge observe remark concede contend assert complain boast
    explain add answer reply respond continue""".split()
)
# cue verbs whose rule predictions are right less than 70 % of the time on PolNeAR train
# (>= 8 predictions): left to the learned cue model, which sees their context
RULE_PRECISION_UNDER_07 = frozenset("talk echo highlight press promote signal maintain testify quote allege".split()) | \
    frozenset("show claim agree hope respond oppose refer worry prefer remember wonder apologize applaud".split())
REPORTING_VERBS = REPORTING_VERBS - RULE_PRECISION_UNDER_07
# Verbs that attribute a statement, stance or mental state to their subject ("X blasted Y",
# "X vowed to ...", "polls show ..."), mined from PolNeAR *train* with
# `eval/polnear_cue_lexicon.py` (>= 8 occurrences with a nominal subject, the subject
# being the gold source in >= 50 % of them), minus verbs too general for news claims
# (list, name, order, offer, release, publish, side, pivot, knock, imagine, resist, aim).
# Unlike REPORTING_VERBS they need an explicit nominal subject.
MINED_CUE_VERBS = frozenset(
    """decry blast denounce thank vow rail lament praise reference express cite point mock reiterate defend
    conclude blame question criticize recall voice discuss slam decline condemn tout dismiss wonder ask refuse
    comment promote chant portray invoke propose issue reject joke call deem envision endorse compare plead show
    apologize hint hope prefer fear signal press recommend refer echo email congratulate disavow
    highlight imply oppose agree talk worry remember applaud lash criticise""".split()
) - REPORTING_VERBS - RULE_PRECISION_UNDER_07
PRONOUNS = frozenset("he she they it we i you him her them his their its".split())
PERSON_PRONOUNS = frozenset("he she him her his".split())
# nouns of statement or stance whose possessor is the source: "His refusal to ...",
# "budget hawks' warnings that ...", "Clinton's statement"
STATEMENT_NOUNS = frozenset(
    """warning insistence suggestion vow pledge claim demand""".split()
)  # nouns that carry a position of their own ("speech", "plan", "position" do not: < 0.3 precision on train;
#    nor "criticism", "refusal", "assertion", "accusation", "allegation", "denial": < 0.5 on train, often
#    the object of someone else's statement: "forced Trump to respond to Romney's accusations")
_SUBJECT_DEPS = ("nsubj",)
_CUT_DEPS = frozenset({"appos", "relcl", "acl", "punct", "cc", "conj", "advcl", "prep"})
_KEEP_PREP_HEADS = frozenset({"ministry", "department", "service", "office", "council", "minister", "head", "president",
                              "spokesman", "spokeswoman", "spokesperson", "chief", "secretary", "commander", "agency",
                              "committee", "bureau", "embassy", "government", "army", "command"})


@dataclass(frozen=True)
class Attribution:
    speaker: str | None
    speaker_start: int | None  # char offsets of the speaker within the sentence
    speaker_end: int | None
    speaker_label: str | None  # spaCy entity label inside the speaker, if any
    cue: str | None
    quote_type: str
    content_verb_i: int | None = None  # token index of the reported clause's verb
    # the whole subject phrase the speaker was cut from, appositions included
    # ("the director of the FBI, James B. Comey,"), sentence-relative char offsets
    phrase_start: int | None = None
    phrase_end: int | None = None
    # the subject as written when the speaker was resolved from it inside the sentence:
    # a relative pronoun ("an official who spoke ..." -> "who"), sentence-relative offsets
    written_start: int | None = None
    written_end: int | None = None

    @property
    def needs_resolution(self) -> bool:
        return self.speaker is not None and (
            self.speaker.lower() in PRONOUNS or self.speaker.lower().startswith(("the ", "this ", "that "))
        )


NO_ATTRIBUTION = Attribution(None, None, None, None, None, "none")


def quoted_ranges(text: str) -> list[tuple[int, int]]:
    """Character ranges between quotation marks.

    Curly pairs (“…”, ‘…’, «…», „…“) and alternating straight quotes (`"`, and the
    doubled apostrophe `''` of some newspapers). A closing mark with no opener means the
    quote began in an earlier sentence; an opener with no closer means it goes on into
    the next one: both ranges run to the sentence edge. A straight mark is a closer
    rather than an opener when it is the first mark of the sentence, follows a word or
    punctuation and is followed by a space or punctuation ('... reality," Clinton
    tweeted').
    """
    if '"' not in text and "''" not in text and not any(c in text for c in "“”«»„‘’"):
        return []
    ranges: list[tuple[int, int]] = []
    start: int | None = None
    seen_mark = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        width = 2 if text.startswith("''", i) else 1
        if ch == '"' or width == 2:
            j = i + width
            if start is None:
                prev = text[i - 1] if i else " "
                nxt = text[j] if j < n else " "
                closer = (not prev.isspace() and prev not in "([{-–—") and (nxt.isspace() or nxt in ".,;:!?)")
                if closer and not seen_mark:
                    ranges.append((0, j))
                else:
                    start = i
            else:
                ranges.append((start, j))
                start = None
            seen_mark = True
            i = j
            continue
        if start is not None and text[start] == "„" and ch == "“":
            ranges.append((start, i + 1))
            start = None
        elif ch in "“«„‘" and start is None:
            start = i
        elif ch == "“" and start is not None and text[start] == "“" and not text[i - 1].isspace() \
                and (i + 1 == n or text[i + 1].isspace() or text[i + 1] in ".,;:!?)"):
            # an opening mark typed as the closer ('“It's unusual,“ said Larry Noble')
            ranges.append((start, i + 1))
            start = None
        elif ch in "”»’":
            if start is not None and (ch != "’" or text[start] == "‘"):
                ranges.append((start, i + 1))
                start = None
            elif start is None and ch != "’" and not ranges:
                ranges.append((0, i + 1))
        if ch in "“«„”»":
            seen_mark = True
        i += 1
    if start is not None:
        ranges.append((start, len(text)))
    # single curly quotes double as apostrophes: keep only ranges of several words; a
    # quotation that opens the sentence between double marks is one however short
    # ("''It's embarrassing,'' Mr. Rubel said.", "“Absolutely not,” she said.")
    return [(a, b) for a, b in ranges if len(text[a:b].split()) >= 3 or _double_marked(text, a, b)]


def _double_marked(text: str, a: int, b: int) -> bool:
    """A short quotation that opens the sentence, between double marks, its words closed by
    a comma, "!" or "?" ('“Absolutely not,” she said.'): not a scare quote."""
    if text[:a].strip() or not any(ch.isalnum() for ch in text[a:b]):
        return False
    if not (text[a] in '"“«„' or text.startswith("''", a)):
        return False
    inner = text[a:b - 2] if text[max(a, b - 2):b] == "''" else text[a:b - 1] if text[b - 1] in '"”»“' else ""
    return inner.rstrip()[-1:] in {",", "!", "?"}


def _inside(ranges: list[tuple[int, int]], pos: int) -> bool:
    return any(a <= pos < b for a, b in ranges)


def _speaker_tokens(head: "Token") -> list["Token"]:
    """The noun phrase of a subject, without appositions, clauses and trailing material."""
    keep = [head]
    stack = [c for c in head.children]
    while stack:
        tok = stack.pop()
        if tok.dep_ in _CUT_DEPS and not (tok.dep_ == "prep" and head.lemma_.lower() in _KEEP_PREP_HEADS):
            continue
        keep.append(tok)
        stack.extend(tok.children)
    keep.sort(key=lambda t: t.i)
    # keep the contiguous run that contains the head
    run = [t for t in keep if abs(t.i - head.i) <= len(keep)]
    while run and run[0].dep_ == "det" and run[0].lower_ in {"a", "an"}:
        run = run[1:]
    while run and (run[-1].is_punct or run[-1].dep_ == "case"):
        run = run[:-1]
    # a mis-parsed punctuation subject ("its co - chairman": "-" as nsubj) leaves nothing:
    # keep the head and its compounds rather than fail the document
    return run or sorted([head] + [c for c in head.children if c.dep_ in {"compound", "appos", "poss"}],
                         key=lambda t: t.i)


def _speaker_from(tokens: list["Token"], doc: "Doc", head: "Token | None" = None) -> tuple[str, int, int, str | None]:
    """Speaker text, offsets and entity label of a subject phrase.

    With the phrase's head: a title with a named apposition gives the name ("Ms. Merkel's
    spokesman, Steffen Seibert" -> "Steffen Seibert"); a named entity is preferred only
    when it contains the head ("Colonel Valeri Revenko" -> PERSON), so "A spokesman for
    Mr. Clinton" stays the spokesman, not Clinton.
    """
    if head is not None and head.pos_ in {"NOUN", "PROPN"} and head.ent_type_ != "PERSON":
        for child in head.children:
            if child.dep_ == "appos" and child.ent_type_ == "PERSON":
                for ent in doc.ents:
                    if ent.start <= child.i < ent.end and ent.label_ == "PERSON":
                        return ent.text, ent.start_char, ent.end_char, "PERSON"
    start, end = tokens[0].idx, tokens[-1].idx + len(tokens[-1].text)
    label = None
    for ent in doc.ents:
        if ent.start_char >= start and ent.end_char <= end and ent.label_ in {"PERSON", "ORG", "GPE", "NORP"}:
            if head is not None and not ent.start <= head.i < ent.end:
                continue
            if ent.label_ == "PERSON":
                return ent.text, ent.start_char, ent.end_char, "PERSON"
            label = label or ent.label_
    text = doc[tokens[0].i:tokens[-1].i + 1].text  # = doc.text[start:end], without joining the whole doc
    if text.endswith(("'s", "’s")):
        text, end = text[:-2], end - 2
    return text, start, end, label


def _content_verb(verb: "Token") -> int | None:
    for child in verb.children:
        if child.dep_ in {"ccomp", "xcomp"}:
            return child.i
    if verb.dep_ in {"parataxis"} or (verb.dep_ == "ccomp" and verb.head.i != verb.i):
        return verb.head.i
    return None


def _reports_speech(verb: "Token", quotes: list[tuple[int, int]], offset: int) -> bool:
    """A clause complement, a quote, or the verb standing after the reported content."""
    if any(c.dep_ in {"ccomp", "parataxis"} for c in verb.children) or verb.dep_ in {"parataxis", "ccomp"}:
        return True
    if quotes:
        return True
    return not any(c.dep_ in {"dobj", "attr", "acomp"} for c in verb.children) and any(
        c.dep_ == "punct" and c.i < verb.i for c in verb.children
    )


def _depth(tok: "Token") -> int:
    d = 0
    while tok.head.i != tok.i and d < 50:
        tok, d = tok.head, d + 1
    return d


def _postposed_speaker(verb: "Token", doc: "Doc", sent: "Doc | Span") -> tuple[str, int, int, str | None] | None:
    """"..., Kenneth Yalowitz, a former U.S. ambassador to Belarus, told ...": the small
    model often parses such a speaker as a conjunct of the previous noun. Take the
    nearest named entity to the left that opens a comma-delimited segment ending at
    the verb (optionally with one apposition between commas)."""
    sent_start = sent.start if hasattr(sent, "start") else 0
    if verb.i == sent_start or doc[verb.i - 1].text not in {",", "”", '"'} and not doc[verb.i - 1].ent_type_:
        return None
    for ent in reversed([e for e in doc.ents if e.end <= verb.i and e.start >= sent_start]):
        if ent.label_ not in {"PERSON", "ORG", "GPE", "NORP"} or verb.i - ent.end > 15:
            continue
        before = doc[ent.start - 1] if ent.start > sent_start else None
        if before is not None and before.text not in {",", '"', "''", "”", "’"}:
            continue
        between = doc[ent.end:verb.i]
        commas = [t for t in between if t.text == ","]
        if len(between) == 0 or (between[0].text == "," and between[-1].text == "," and len(commas) == 2):
            return ent.text, ent.start_char, ent.end_char, ent.label_
        return None
    return None


def _with_phrase(att: Attribution, head: "Token", offset: int) -> Attribution:
    sub = list(head.subtree)
    a, b = sub[0], sub[-1]
    while b.i > a.i and b.is_punct:
        b = b.doc[b.i - 1]
    return replace(att, phrase_start=a.idx - offset, phrase_end=b.idx + len(b.text) - offset)


def _inverted_or_modified_speaker(verb: "Token") -> list["Token"]:
    """'"...," said Rubio.' (a name right after the verb, parsed as its object) and
    "voters saying they want ..." (a participle modifying the noun that speaks)."""
    doc = verb.doc
    # not a participle: in "..., telling MSNBC his involvement ..." the name is the one told
    # nor "tell": in "Ramos, 58, told AFP ..." the name after the verb is the one told
    if verb.i + 1 < len(doc) and verb.i > 0 and doc[verb.i - 1].text in {",", "”", '"', "’", "'"} and verb.tag_ != "VBG" \
            and verb.lemma_.lower() != "tell":
        nxt = doc[verb.i + 1]
        if nxt.ent_type_ in {"PERSON", "ORG"} or (nxt.pos_ == "PROPN" and nxt.text[:1].isupper() and not nxt.ent_type_):
            head = nxt
            while head.head.i != head.i and head.head.i > verb.i and head.head.pos_ == "PROPN" \
                    and head.dep_ in {"compound", "flat"}:
                head = head.head
            return [head]
    if verb.tag_ == "VBG" and verb.dep_ == "acl" and verb.head.pos_ in {"NOUN", "PROPN"} and verb.head.i < verb.i:
        return _issuer(verb.head) or [verb.head]
    # '"...," added a South Carolina Democrat.': a common-noun phrase right after a verb
    # that follows the quote, ending the sentence or clause
    if verb.i + 1 < len(doc) and verb.i > 0 and doc[verb.i - 1].text in {",", "”", '"', "’", "'", "''"} \
            and verb.tag_ in {"VBD", "VBZ"} and verb.lemma_.lower() not in _TOLD_OBJECT_VERBS:
        for c in verb.children:
            if c.i > verb.i and c.dep_ in {"dobj", "nsubj", "attr"} and c.pos_ in {"NOUN", "PROPN"} \
                    and c.ent_type_ not in {"DATE", "TIME", "CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT"} \
                    and c.left_edge.i == verb.i + 1 and not any(g.dep_ in {"ccomp", "xcomp"} and g.i > verb.i for g in verb.children):
                end = c.right_edge.i + 1
                if end >= len(doc) or doc[end].is_punct:
                    return [c]
    return []


# verbs whose object right after them is the one addressed, not the speaker ("..., Ramos
# told The Daily Beast": the outlet is told)
_TOLD_OBJECT_VERBS = frozenset("tell inform brief assure".split())


def _capitalized_subject(subj: "Token") -> bool:
    """A subject the tagger took for a verb or adjective but that is a capitalized name
    ("Trump subsequently defended ...", "Trump" tagged VERB), not the sentence's first
    word alone when it is a common word."""
    return subj.text[:1].isupper() and subj.pos_ in {"VERB", "ADJ", "ADV", "X", "INTJ"} and subj.is_alpha \
        and subj.lower_ not in PRONOUNS and (bool(subj.ent_type_) or subj.i > subj.sent.start or
                                            any(c.dep_ == "compound" for c in subj.children) or
                                            subj.doc[subj.i + 1:subj.i + 2].text[:1].islower())


def _root_noun_subject(verb: "Token") -> list["Token"]:
    """The noun the parser made the root of the sentence, with the real main verb hung on
    it as a reduced relative: "Beruff, a Scott ally, called Florida's standards
    'strong.'" (`called` an `acl` of `Beruff`). Only a finite or past form after the noun,
    without a subject of its own."""
    head = verb.head
    if verb.dep_ == "acl" and verb.tag_ in {"VBD", "VBN", "VBZ"} and head.dep_ == "ROOT" and head.i < verb.i \
            and head.pos_ in {"PROPN", "NOUN"} and not any(c.dep_ in {"nsubj", "nsubjpass", "auxpass", "aux"}
                                                           for c in verb.children):
        return [head]
    return []


# phrasal verbs of speech in news ("Trump shot back", "Sanders weighed in", "she spoke out against")
_PHRASAL_CUES = frozenset({("shoot", "back"), ("fire", "back"), ("hit", "back"), ("chime", "in"), ("weigh", "in"),
                           ("speak", "out"), ("push", "back"), ("sound", "off")})


def _phrasal_cue(verb: "Token") -> bool:
    lemma = verb.lemma_.lower()
    return any((lemma, c.lower_) in _PHRASAL_CUES for c in verb.children if c.dep_ in {"prt", "advmod", "prep"})


# documents that speak for whoever issued them: "the campaign released a statement saying ..."
_DOCUMENT_NOUNS = frozenset("""statement release memo letter video ad advertisement note editorial post tweet email
    message announcement communique notice flyer mailer""".split())
_ISSUING_VERBS = frozenset("""release issue put send post publish run air distribute circulate unveil launch tweet
    write sign""".split())


def _issuer(noun: "Token") -> list["Token"]:
    """The subject of the verb that issued a document noun, when the document "says"
    something: "Trump's campaign released a statement saying ...", "His office put out a
    statement saying ...", "Trump released a marketing video that said ..."."""
    if noun.lemma_.lower() not in _DOCUMENT_NOUNS or noun.dep_ != "dobj":
        return []
    verb = noun.head
    if verb.pos_ not in {"VERB", "AUX"} or verb.lemma_.lower() not in _ISSUING_VERBS:
        return []
    subjects = [c for c in verb.children if c.dep_ == "nsubj"] or _shared_subject(verb)
    return [t for t in subjects if t.pos_ in {"NOUN", "PROPN", "PRON"} and t.lower_ not in _RELATIVE_WORDS | {"it"}]


def _parenthetical_speaker(verb: "Token", subj: "Token") -> "Token | None":
    """A speaker set off by commas after the verb, inside the statement: "The contrast with
    Trump, said Doyle and others, would be clear ...", "Part of the problem, say experts like
    Paul Bauman, is ...". The parser takes the words before the comma for the subject; the
    noun phrase between "said" and the next comma (no verb in it) speaks."""
    doc = verb.doc
    if verb.tag_ not in {"VBD", "VBZ", "VBP"} or verb.i == 0 or doc[verb.i - 1].text != "," or subj.i > verb.i:
        return None
    if subj.right_edge.i >= verb.i - 1:  # the comma closes the subject's own apposition or clause
        return None
    end = next((k for k in range(verb.i + 1, min(len(doc), verb.i + 12)) if doc[k].text == ","), None)
    if end is None or end == verb.i + 1:
        return None
    span = doc[verb.i + 1:end]
    if any(t.pos_ in {"VERB", "AUX"} or t.is_punct and t.text not in {".", "-"} for t in span):
        return None
    roots = [t for t in span if not (verb.i < t.head.i < end) or t.head.i == t.i]
    if len(roots) != 1 or roots[0].pos_ not in {"PROPN", "NOUN"} or roots[0].ent_type_ in {"DATE", "TIME"}:
        return None
    if roots[0].head.i == verb.i and roots[0].dep_ in {"dobj", "dative", "iobj", "npadvmod"}:
        return None  # the one told ("told her supporters, ...")
    # the sentence goes on after the speaker: a verb follows the closing comma
    if not any(t.pos_ in {"VERB", "AUX"} for t in doc[end + 1:]):
        return None
    return roots[0]


def _mistagged_name_before(verb: "Token") -> list["Token"]:
    """A one-word name the tagger took for an adverb or a modal right before a finite
    reporting verb that has no subject: "Jolly said he would be cautious ...", "In
    particular, Will wrote, ...". The name opens the sentence or follows a comma or quote."""
    doc = verb.doc
    if verb.tag_ not in {"VBD", "VBZ"} or verb.i == 0:
        return []
    prev = doc[verb.i - 1]
    if not (prev.is_alpha and prev.text[:1].isupper() and prev.text[1:2].islower()) or prev.lower_ in PRONOUNS \
            or prev.pos_ in {"PROPN", "NOUN", "PRON", "DET", "CCONJ", "SCONJ", "ADP"} or prev.head.i != verb.i \
            or prev.tag_ in {"VBG", "VBN", "VBD", "VBZ", "VBP", "VB"}:  # "Having said that, ..."
        return []
    before = doc[prev.i - 1] if prev.i > verb.sent.start else None
    if before is not None and before.text not in {",", '"', "”", "''", "“"}:
        return []
    return [prev]


_CREDIT_LINE = ("reporting by", "writing by", "editing by", "contributed reporting", "contributed to this report",
                "reported from")


def _not_a_statement(verb: "Token", lemma: str, quotes: list[tuple[int, int]]) -> bool:
    """Uses of cue verbs that report nothing: a credit line ("Costa reported from
    Washington.", "(Reporting by ...; Writing by ...)"), "with 95 percent of precincts
    reporting", "tell" without anyone told or anything said ("All told, ...", "Only time will
    tell"), "call" without a predicate or a quotation (a phone call: "Obama called both
    candidates", "No one called")."""
    if lemma in {"report", "write", "edit"}:
        text = verb.sent.text.lower()
        if any(c in text for c in _CREDIT_LINE) and not quotes and not any(c.dep_ == "ccomp" for c in verb.children):
            return True
        if lemma == "report" and any(c.dep_ in {"nsubj", "nsubjpass"} and c.lemma_.lower() == "precinct"
                                     for c in verb.children) or (verb.dep_ == "acl" and verb.head.lemma_.lower() == "precinct"):
            return True
    if lemma == "tell" and verb.i > 0 and verb.doc[verb.i - 1].lower_ == "all" \
            and verb.doc[verb.i + 1:verb.i + 2].text == ",":
        return True  # "All told, ..."
    if quotes:
        return False
    deps = {c.dep_ for c in verb.children}
    if lemma == "tell" and not deps & {"dobj", "dative", "ccomp", "xcomp", "parataxis", "prep", "iobj", "agent"}:
        return True
    if lemma == "call" and not deps & {"oprd", "xcomp", "ccomp", "attr", "acomp", "prep", "prt", "parataxis"} \
            and verb.doc[verb.i + 1:verb.i + 2].text.lower() not in {"for", "on", "out", "into"} \
            and not any(ch in verb.sent.text for ch in "'\"“”‘’"):
        # no object, or only a person called ("Eric Trump called.", "Mr. Obama called Naghmeh
        # Abedini."); a common-noun object may hide a predicate ("call that wishful thinking")
        objects = [c for c in verb.children if c.dep_ == "dobj"]
        if not objects or all(o.pos_ == "PRON" or o.ent_type_ == "PERSON" for o in objects) and not any(
                c.i > verb.i and c.dep_ not in {"dobj", "punct", "cc", "conj", "advmod", "npadvmod"}
                for c in verb.children):
            return True
    return False


def _as_clause(verb: "Token") -> bool:
    """A reporting clause introduced by "as" frames the whole sentence: "Just a few weeks ago,
    as Western Journalism reported, Thor and Beck were discussing ..."; it outranks the
    verbs of the content it reports."""
    doc = verb.doc
    # not a concessive or temporal "even as" / "just as" ("even as he says his experience ...")
    return verb.dep_ == "advcl" and any(c.dep_ == "mark" and c.lower_ == "as" and c.i < verb.i and not (
        c.i > 0 and doc[c.i - 1].lower_ in {"even", "just"}) for c in verb.children) \
        and not any(c.dep_ in {"dobj", "ccomp", "xcomp", "parataxis"} for c in verb.children)


_PCOMP_PREPS = frozenset("by after before while in without when since".split())


def _shared_subject(verb: "Token") -> list["Token"]:
    """The subject a verb shares with the verb it depends on: a participle ("The DNC
    released a statement, saying ...") or a coordinated verb ("Trump went to Ohio and
    said ..."), not a verb whose own speaker stands before it ("..., Deyneko, revealed")."""
    head = verb.head
    if verb.dep_ == "pcomp" and verb.tag_ == "VBG" and head.lower_ == "as" and head.head.lemma_.lower() == "quote":
        # "Trump was quoted as saying ...": the one quoted; in the active "The Times quoted Trump
        # as saying ..." the outer source, the quoting paper, is the subject of "quoted"
        quoted = [c for c in head.head.children if c.dep_ == "nsubjpass"]
        return quoted[:1] or [c for c in head.head.children if c.dep_ == "nsubj"]
    if verb.dep_ == "pcomp" and verb.tag_ == "VBG" and head.lower_ in _PCOMP_PREPS and head.head.i != head.i \
            and head.head.pos_ in {"VERB", "AUX", "ADJ"}:
        # "Trump landed in hot water by saying ...", "After saying he was nervous, the man ...",
        # through a subjectless chain: "Sanders is likely to remind voters ... by mentioning ..."
        return _controller_subject(head.head, passive=False)
    if verb.dep_ == "xcomp" and verb.tag_ == "VB" and head.i < verb.i \
            and any(c.dep_ == "aux" and c.lower_ == "to" for c in verb.children):
        # an adjective of disposition ("voters were more likely to say", "he is quick to point
        # out", "he is correct to note") or a passive ("The Fed is expected to announce",
        # "Trump was prompted to say"); not a modal or intention verb ("I have to thank",
        # "I want to tell you"), nor "too close to call"
        if head.pos_ == "ADJ" and head.lemma_.lower() not in _NOT_DISPOSITION \
                and not any(c.lower_ in {"too", "enough"} for c in head.children):
            subjects = _controller_subject(head, via_xcomp=True)
            return [t for t in subjects if t.lower_ != "it"]
        if head.pos_ == "VERB" and any(c.dep_ == "auxpass" for c in head.children) \
                and not any(c.dep_ == "neg" for c in head.children):
            return [c for c in head.children if c.dep_ == "nsubjpass"]
        return []
    if head.i == verb.i or head.pos_ not in {"VERB", "AUX"} or verb.i < head.i:
        return []
    if verb.dep_ == "conj" and not any(c.dep_ in {"nsubj", "nsubjpass", "auxpass"} for c in verb.children) \
            and any(c.dep_ == "cc" for c in head.children if head.i < c.i < verb.i) \
            and not any(c.dep_ == "nsubj" for c in head.children):
        # "Mr. Trump was forced into damage control and said ...": the passive subject of the first
        passive = [c for c in head.children if c.dep_ == "nsubjpass"]
        if passive:
            return passive
    if verb.tag_ == "VBG" and verb.dep_ in {"advcl", "conj", "xcomp"} or (
            verb.dep_ == "conj" and any(c.dep_ == "cc" for c in head.children if head.i < c.i < verb.i)):
        # through a subjectless infinitive chain: "They continued to veer off script, saying ..."
        for _ in range(3):
            subjects = [c for c in head.children if c.dep_ in _SUBJECT_DEPS]
            if subjects or head.dep_ != "xcomp" or head.head.i == head.i or head.head.pos_ not in {"VERB", "AUX"}:
                return subjects
            head = head.head
    return []


_NOT_DISPOSITION = frozenset("close able unable hard easy fair difficult free ready possible impossible "
                             "important necessary due".split())


def _controller_subject(head: "Token", passive: bool = True, via_xcomp: bool = False) -> list["Token"]:
    """The subject of a governing verb or adjective, climbing through subjectless `xcomp`,
    `acomp` and conjoined heads ("appeared more likely to describe" -> the subject of
    "appeared"); a passive subject counts ("was pressed to explain"); a head with an
    object is object control ("forced Trump to respond"): nothing."""
    for _ in range(4):
        if head.pos_ not in {"VERB", "AUX", "ADJ"}:
            return []
        subjects = [c for c in head.children if c.dep_ in _SUBJECT_DEPS]
        if subjects:
            return subjects
        if via_xcomp and any(c.dep_ in {"dobj", "dative"} for c in head.children):
            return []
        if any(c.dep_ == "nsubjpass" for c in head.children):
            # "The decision was included ... without asking": the passive subject does not ask
            return [c for c in head.children if c.dep_ == "nsubjpass"] if passive else []
        if head.dep_ not in {"xcomp", "acomp", "conj"} or head.head.i == head.i or head.head.i > head.i:
            return []
        via_xcomp = head.dep_ == "xcomp"
        head = head.head
    return []


def _stranded_subject(verb: "Token") -> list["Token"]:
    """A speaker the parser hung on a clause before the verb instead of on the verb:
    "Sanders, meanwhile, who sits at zero endorsements, said ..." (`Sanders` the subject
    of a ccomp "sits"), "Large majorities of voters going to the polls said ..." (of a
    csubj "going"). Only for a verb with no subject of its own; the clause must not be
    introduced by a subordinator ("When Clinton spoke, ..."), and the subject must open
    the sentence."""
    for child in verb.children:
        if child.i > verb.i or child.dep_ not in {"ccomp", "csubj", "advcl"}:
            continue
        if any(m.i < child.i and (m.dep_ == "mark" or m.dep_ == "advmod" and m.lower_ in _WH_ADVERBS)
               for m in child.children):
            continue
        subj = next((c for c in child.children if c.dep_ == "nsubj" and c.i < child.i
                     and c.lower_ not in _RELATIVE_WORDS and c.pos_ in {"NOUN", "PROPN"}), None)
        if subj is not None and subj.left_edge.i == verb.sent.start:
            return [subj]
    return []


_RELATIVE_WORDS = frozenset({"who", "which", "that", "whom", "what"})
_WH_ADVERBS = frozenset({"when", "where", "while", "why", "how", "once", "whenever"})


def _relative_antecedent(verb: "Token", subj: "Token") -> "Token | None":
    """The noun a relative clause modifies when the clause's subject is a relative
    pronoun ("Christian Pardo, who said ..." -> Pardo), else None."""
    if subj.lower_ in {"who", "that", "which"} and verb.dep_ == "relcl" and verb.head.pos_ in {"NOUN", "PROPN"} \
            and subj.i < verb.i:
        return verb.head
    return None


_IRREGULAR = {"said": "say", "says": "say", "told": "tell", "tells": "tell", "wrote": "write", "writes": "write"}
_HEADLINE_ADVERBS = frozenset("just also now again finally reportedly officially publicly still".split())


def _verb_stem(word: str) -> str | None:
    """A reporting or stance verb a word is an inflection of ("Blasts" -> "blast"), else None."""
    w = word.lower()
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    forms = []
    if w.endswith("ies"):
        forms.append(w[:-3] + "y")
    if w.endswith("es"):
        forms.append(w[:-2])
    if w.endswith("s"):
        forms.append(w[:-1])
    if w.endswith("ed"):
        forms += [w[:-2], w[:-1], w[:-3] if len(w) > 4 and w[-3] == w[-4] else w[:-2]]
    return next((f for f in forms if f in REPORTING_VERBS or f in MINED_CUE_VERBS), None)


def _misparsed_verb_attribution(doc: "Doc | Span", quotes: list[tuple[int, int]], offset: int) -> Attribution | None:
    """A name followed by a reporting verb the tagger took for a noun, mostly in
    title-case headlines: "Glenn Beck Blasts Drudge for ...", "Trump calls for ...",
    "Donald Trump Tweets A ...". The name is a run of one to five capitalized nouns
    opening the sentence (or following a comma), optionally followed by an adverb
    ("Trump Just Announced"); the verb, an inflected form of a known cue verb, has not
    been parsed as a verb with a subject."""
    tokens = list(doc)
    sent_doc = doc.doc if hasattr(doc, "doc") else doc
    for k in range(1, len(tokens)):
        tok, prev = tokens[k], tokens[k - 1]
        if tok.text[-1:] not in {"s", "d"} or not (prev.text[:1].isupper() or prev.lower_ in _HEADLINE_ADVERBS):
            continue
        stem = _verb_stem(tok.text)
        if stem is None or _inside(quotes, tok.idx - offset) or (
                tok.pos_ in {"VERB", "AUX"} and any(c.dep_ in {"nsubj", "nsubjpass"} for c in tok.children)):
            continue
        end = k - 1 if tokens[k - 1].lower_ in _HEADLINE_ADVERBS and k >= 2 else k
        start = end
        while start > 0 and end - start < 5 and tokens[start - 1].pos_ in {"PROPN", "NOUN"} \
                and tokens[start - 1].text[:1].isupper():
            start -= 1
        run = tokens[start:end]
        if not run or (start > 0 and tokens[start - 1].text not in {",", ":", "-", "–", "—"}) \
                or not any(t.pos_ == "PROPN" or t.ent_type_ for t in run):
            continue
        sp, a, b, label = _speaker_from(run, sent_doc, run[-1])
        return Attribution(sp, a - offset, b - offset, label, stem, "direct" if quotes else "indirect", None,
                           run[0].idx - offset, run[-1].idx + len(run[-1].text) - offset)
    return None


_FRAME_OPENERS = frozenset('"“«„') | {"''"}
_NO_FRAME_SUBJECTS = frozenset("it this that which who there what these those".split())


def _quote_frame_attribution(doc: "Doc | Span", quotes: list[tuple[int, int]], offset: int) -> Attribution | None:
    """A verb whose subject introduces a quotation: the verb, a comma or colon, then the
    opening quotation mark ('Sanders responded, “It has.', 'The senator shot back: "No."').
    Any verb in that frame reports the quotation, whatever its lemma."""
    sent_doc = doc.doc if hasattr(doc, "doc") else doc
    for tok in doc:
        if tok.pos_ not in {"VERB", "AUX"} or _inside(quotes, tok.idx - offset):
            continue
        k = tok.i + 1
        while k < len(sent_doc) and k < doc[-1].i + 1 and sent_doc[k].dep_ in {"advmod", "prt"} and sent_doc[k].is_alpha:
            k += 1  # "said again,", "shot back:"
        if k + 1 > doc[-1].i or sent_doc[k].text not in {",", ":"}:
            continue
        mark = sent_doc[k + 1]
        after = sent_doc.text[mark.idx + len(mark.text):mark.idx + len(mark.text) + 1]
        if not (mark.text in _FRAME_OPENERS or mark.text[:1] in "“«„" or mark.text.startswith("''")) \
                or mark.text[:1] in "”»" or not after or after.isspace():
            continue  # an opening mark, the quotation right after it (a short one too: '“It has.')
        subj = next((c for c in tok.children if c.dep_ == "nsubj"), None)
        if subj is None and not any(c.dep_ in {"nsubjpass", "expl", "csubj"} for c in tok.children):
            # the subject parsed into the phrase before the verb ("the Observer, her adviser, Jake Sullivan,
            # said:"): the name or noun right before it, a comma between them at most
            j = tok.i - 1
            if j >= doc[0].i and sent_doc[j].text == ",":
                j -= 1
            if j >= doc[0].i and sent_doc[j].pos_ in {"PROPN", "NOUN"} and sent_doc[j].head.i < j:
                subj = sent_doc[j]
        if subj is None or subj.lower_ in _NO_FRAME_SUBJECTS or subj.pos_ not in {"NOUN", "PROPN", "PRON"}:
            continue
        sp, a, b, label = _speaker_from(_speaker_tokens(subj), sent_doc, subj)
        return _with_phrase(Attribution(sp, a - offset, b - offset, label, tok.lemma_.lower(), "direct", None), subj,
                            offset)
    return None


_COLON_LEADS = {"more", "from", "via", "and", "but", "-", "–", "—"}


def _colon_attribution(doc: "Doc | Span", quotes: list[tuple[int, int]], offset: int) -> Attribution | None:
    """A source named before a colon: headlines ("Trump: 'I'm the worst thing ...'",
    "Elizabeth Warren: Donald Trump Is a 'Proven Failure'"), transcripts ("TAPPER:"),
    and "More from the report: “...". The phrase before the colon (after a dash, if
    any) is a short noun phrase without a verb that names someone (a PERSON / ORG /
    GPE / NORP entity or a capitalized word) or is followed by a quotation."""
    tokens = list(doc)
    sent_doc = doc.doc if hasattr(doc, "doc") else doc
    colon = next((k for k, t in enumerate(tokens) if t.text == ":" and not _inside(quotes, t.idx - offset)), None)
    if colon is None or colon == 0:
        return None
    start = max((k + 1 for k in range(colon) if tokens[k].text in {"-", "–", "—"}), default=0)
    words = [t for t in tokens[start:colon] if not t.is_punct]
    while words and words[0].lower_ in _COLON_LEADS:
        words = words[1:]
    if not words or len(words) > 6 or any(t.pos_ in {"VERB", "AUX", "PRON"} and not t.is_upper for t in words):
        return None
    # a transcript label in capitals may be tagged as anything ("FALLIN:" as a number)
    if (words[-1].pos_ not in {"PROPN", "NOUN"} and not (words[-1].is_upper and len(words[-1]) >= 3)) \
            or not words[0].text[:1].isupper():
        return None
    quoted_after = any(a >= tokens[colon].idx - offset for a, _b in quotes)
    named = any(t.ent_type_ in {"PERSON", "ORG", "GPE", "NORP"} for t in words) or any(
        t.is_upper and len(t) >= 3 for t in words)
    # a headline opening with a capitalized name or source ("Trump: My immigration plans
    # ...", "Poll: ...", "Insiders: ..."): every word capitalized, at the sentence start
    headline = start == 0 and all(t.text[:1].isupper() for t in words)
    if not (named or quoted_after or headline):
        return None
    if words[-1].lower_ in {"note", "update", "editor", "correction", "photo", "video", "source", "byline", "email",
                            "read", "watch", "related", "advertisement", "q", "a", "transcript", "exclusive", "breaking",
                            "previously", "look", "reads", "boom", "wow", "listen", "example", "result"}:
        return None
    # what follows is a statement: a quotation, or at least three words with a verb
    # (not a section label "PREVIOUSLY:", a list of names, a tally "Clinton: 2,316.")
    after = [t for t in tokens[colon + 1:] if not t.is_punct]
    # a speaker label in capitals alone ("TAPPER:", "KATE BOULDUAN:"): the turn follows
    label_only = not after and all(t.is_upper and len(t) >= 2 for t in words) and words[-1].pos_ in {"NOUN", "PROPN"}
    # a verbless headline statement ("Lynch: No outside influence on FBI probe ..."), not a
    # list of names ("Iowa: Tim Albrecht, Brad Anderson, ...")
    verbless = headline and len(after) >= 4 and sum(t.pos_ in {"NOUN", "PROPN"} for t in after) >= 2 \
        and not any(t.like_num for t in after) and sum(t.text == "," for t in tokens[colon + 1:]) < 2
    if not quoted_after and not label_only and not verbless and (
            len(after) < 3 or not any(t.pos_ in {"VERB", "AUX"} for t in after)):
        return None
    sp, a, b, label = _speaker_from(words, sent_doc, words[-1])
    return Attribution(sp, a - offset, b - offset, label, "colon", "direct" if quoted_after else "indirect", None,
                       words[0].idx - offset, words[-1].idx + len(words[-1].text) - offset)


def attribute(doc: "Doc | Span") -> Attribution:
    """The attribution of one parsed sentence (the first applicable pattern, nearest the root)."""
    sent_doc = doc.doc if hasattr(doc, "doc") else doc
    offset = doc.start_char if hasattr(doc, "start_char") else 0
    text = doc.text
    quotes = quoted_ranges(text)
    candidates: list[tuple[int, Attribution]] = []
    tokens = list(doc)
    for tok in tokens:
        rel = tok.idx - offset
        if _inside(quotes, rel):
            continue
        # according to X
        if tok.lower_ == "according" and tok.i + 1 < len(sent_doc) and sent_doc[tok.i + 1].lower_ == "to":
            to = sent_doc[tok.i + 1]
            objs = [c for c in to.children if c.dep_ == "pobj"]
            if objs:
                sp, a, b, label = _speaker_from(_speaker_tokens(objs[0]), sent_doc, objs[0])
                qt = "direct" if quotes else "indirect"
                candidates.append((-1, _with_phrase(Attribution(sp, a - offset, b - offset, label, "according to", qt, tok.head.i), objs[0], offset)))
            continue
        if tok.pos_ not in {"VERB", "AUX"}:
            continue
        lemma = tok.lemma_.lower()
        lemma = {"hop": "hope"}.get(lemma, lemma) if tok.lower_.startswith("hope") else lemma
        if tok.pos_ == "AUX" and lemma not in REPORTING_VERBS \
                and lemma not in MINED_CUE_VERBS:
            lemma = _verb_stem(tok.text) or lemma  # a headline verb tagged AUX: "Clinton blasts Trump over ..."
        if _not_a_statement(tok, lemma, quotes):
            continue
        if lemma in MINED_CUE_VERBS or _phrasal_cue(tok):
            subjects = [c for c in tok.children if c.dep_ in _SUBJECT_DEPS] or _shared_subject(tok) \
                or _root_noun_subject(tok)
            if lemma in {"decline", "refuse"} and not any(c.dep_ == "xcomp" for c in tok.children):
                continue  # "declined to comment", not "fees declined to $281 million"
            if any(c.dep_ == "auxpass" for c in tok.children):
                continue
            relative = _relative_antecedent(tok, subjects[0]) if subjects else None
            if relative is not None and relative.pos_ in {"NOUN", "PROPN"}:  # "Curiel, who declined to comment"
                sp, a, b, label = _speaker_from(_speaker_tokens(relative), sent_doc, relative)
                qt = "direct" if quotes else "indirect"
                candidates.append((_depth(tok) + 0.5, Attribution(
                    sp, a - offset, b - offset, label, lemma, qt, _content_verb(tok),
                    written_start=subjects[0].idx - offset, written_end=subjects[0].idx + len(subjects[0].text) - offset)))
                continue
            if subjects and subjects[0].lower_ not in {"it", "this", "that", "which", "who", "there", "what"} \
                    and (subjects[0].pos_ in {"NOUN", "PROPN", "PRON"} or _capitalized_subject(subjects[0])):
                sp, a, b, label = _speaker_from(_speaker_tokens(subjects[0]), sent_doc, subjects[0])
                qt = "direct" if quotes else "indirect"
                candidates.append((_depth(tok) + 0.5, _with_phrase(Attribution(sp, a - offset, b - offset, label, lemma, qt, _content_verb(tok)), subjects[0], offset)))
            continue
        if lemma not in REPORTING_VERBS:
            continue
        if lemma in CLAUSE_ONLY_VERBS and not _reports_speech(tok, quotes, offset):
            continue
        if lemma == "continue" and any(c.dep_ in {"xcomp", "dobj", "advcl", "prep"} for c in tok.children):
            continue  # "Trump continues to build up his lead", not '"...," Rubio continued.'

        # two subjects (a parse error of "Voters, Clinton suggested, don't ..."): the nearest speaks
        subjects = sorted((c for c in tok.children if c.dep_ in _SUBJECT_DEPS), key=lambda c: abs(c.i - tok.i))
        # passive: "was confirmed by the ministry" -> the agent speaks, not the subject
        subjects += [g for c in tok.children if c.dep_ == "agent" for g in c.children if g.dep_ == "pobj"]
        if any(c.dep_ == "nsubjpass" for c in tok.children) and not subjects:
            continue
        if not subjects:
            subjects = _inverted_or_modified_speaker(tok) or _root_noun_subject(tok)
        # a participle ("..., calling it ...") shares its head's subject rather than taking the name before it
        fallback = None if subjects or tok.tag_ == "VBG" else _postposed_speaker(tok, sent_doc, doc)
        if not subjects and fallback is None:
            subjects = _shared_subject(tok)
        if not subjects and fallback is None and (quotes or any(c.dep_ in {"ccomp", "parataxis"} for c in tok.children)):
            subjects = _stranded_subject(tok)
        if not subjects and fallback is None:
            subjects = _mistagged_name_before(tok)
        if not subjects:
            if fallback is not None:
                sp, a, b, label = fallback
                qt = "direct" if quotes else "indirect"
                candidates.append((_depth(tok) + 2, Attribution(sp, a - offset, b - offset, label, lemma, qt, tok.head.i)))
            continue
        subj = subjects[0]
        parenthetical = _parenthetical_speaker(tok, subj)
        if parenthetical is not None:  # "The contrast with Trump, said Doyle, would be clear"
            subj = parenthetical
        relative = _relative_antecedent(tok, subj)
        issuer = _issuer(relative) if relative is not None else []
        if issuer:  # "Trump released a marketing video that said ..." -> Trump
            subj, relative = issuer[0], None
        if relative is not None:  # "a White House official who said ..." -> the official, written "who"
            sp, a, b, label = _speaker_from(_speaker_tokens(relative), sent_doc, relative)
            qt = "direct" if quotes else "indirect"
            att = Attribution(sp, a - offset, b - offset, label, lemma, qt, _content_verb(tok),
                              written_start=subj.idx - offset, written_end=subj.idx + len(subj.text) - offset)
            candidates.append((_depth(tok), att))
            continue
        if subj.lower_ in {"it", "this", "that", "which", "who"} and lemma != "say":
            continue
        if subj.lower_ in {"which", "who", "that"}:
            continue
        sp, a, b, label = _speaker_from(_speaker_tokens(subj), sent_doc, subj)
        qt = "direct" if quotes else "indirect"
        rank = -0.5 if _as_clause(tok) else _depth(tok)
        candidates.append((rank, _with_phrase(Attribution(sp, a - offset, b - offset, label, lemma, qt, _content_verb(tok)), subj, offset)))
    if not candidates:
        for tok in tokens:
            if tok.lemma_.lower() in STATEMENT_NOUNS and tok.pos_ == "NOUN" and not _inside(quotes, tok.idx - offset):
                poss = [c for c in tok.children if c.dep_ == "poss"]
                if poss and poss[0].pos_ in {"PROPN", "NOUN", "PRON"} and poss[0].lower_ not in {"its", "my", "our", "your"}:
                    sp, a, b, label = _speaker_from(_speaker_tokens(poss[0]), sent_doc, poss[0])
                    if sp.lower() in {"his", "her", "their"}:
                        sp = {"his": "he", "her": "she", "their": "they"}[sp.lower()]
                    qt = "direct" if quotes else "indirect"
                    candidates.append((_depth(tok) + 1, Attribution(sp, a - offset, b - offset, label, tok.lemma_.lower(), qt, None)))
    if not candidates:
        framed = _quote_frame_attribution(doc, quotes, offset)
        if framed is not None:
            return framed
    if not candidates:
        misparsed = _misparsed_verb_attribution(doc, quotes, offset)
        if misparsed is not None:
            return misparsed
    if not candidates:
        colon = _colon_attribution(doc, quotes, offset)
        if colon is not None:
            return colon
    if not candidates:
        poll = _poll_attribution(doc, quotes, offset)
        if poll is not None:
            return poll
    if not candidates:
        learned = _model_attribution(doc, quotes, offset)
        if learned is not None and not is_caption_speaker(learned.speaker):
            return learned
    candidates = [c for c in candidates if not is_caption_speaker(c[1].speaker)]
    if not candidates:
        return NO_ATTRIBUTION
    candidates.sort(key=lambda c: c[0])
    best = candidates[0][1]
    if _is_quantity(best.speaker):  # "In a CNN poll, 38 percent of voters said ...": the poll speaks
        return _poll_attribution(doc, quotes, offset) or _poll_subject_attribution(doc, quotes, offset) or best
    return best


_POLL_NOUNS = frozenset({"poll", "survey"})
# an image file name or id, a photo agency or credit: "Ukraine-crisis-GettyImages-849960792",
# "AFP via Getty Images", "Photo by ..."
_CAPTION = re.compile(r"\d{5,}|getty\s*images|shutterstock|\bphoto\b|\bimage\b|\bcredit\b|\bcaption\b|"
                      r"\.(?:jpe?g|png|gif|webp)\b|(?:[\w]+-){3,}", re.IGNORECASE)


def is_caption_speaker(speaker: str | None) -> bool:
    """A span that names a picture, not a source: an image id or file name (a long digit
    run, three or more hyphenated parts, an image extension), a photo agency or a credit."""
    return bool(speaker) and bool(_CAPTION.search(speaker))


# a copula as the cue: the predicate says the stance ("is confident that", "was critical of");
# with none the sentence describes, it reports nothing
_COPULAS = frozenset("be become seem remain appear".split())


_SHARE_OPENINGS = ("about ", "roughly ", "nearly ", "almost ", "as many ", "more than ", "fewer than ", "less than ",
                   "half", "a majority", "majorit", "large majorit", "a third", "two-thirds", "one-third", "a quarter")


def _is_quantity(speaker: str | None) -> bool:
    """A share of respondents as a speaker: "38 percent", "31%", "75 percent of Republicans",
    "about half of voters", "large majorities"."""
    if not speaker:
        return False
    low = speaker.lower()
    words = low.split()
    return bool(words) and (words[0][:1].isdigit() or any(w in {"percent", "%", "per"} or w.endswith("%")
                                                             for w in words[:3]) or low.startswith(_SHARE_OPENINGS))


def _poll_subject_attribution(doc: "Doc | Span", quotes: list[tuple[int, int]], offset: int) -> Attribution | None:
    """A poll or survey that is the subject of a verb of the sentence, the shares of its
    respondents reported in its clause: "A CNN/ORC poll in January shows 68% of Democratic
    voters say ...", "The poll also showed that ..., and 74 percent said ...", "Polls show
    as many as 30 percent of his backers say ..."."""
    sent_doc = doc.doc if hasattr(doc, "doc") else doc
    for tok in doc:
        if tok.dep_ != "nsubj" or tok.lemma_.lower() not in _POLL_NOUNS or _inside(quotes, tok.idx - offset):
            continue
        verb = tok.head
        if verb.pos_ not in {"VERB", "AUX"}:
            continue
        sp, a, b, label = _speaker_from(_speaker_tokens(tok), sent_doc, tok)
        return _with_phrase(Attribution(sp, a - offset, b - offset, label, verb.lemma_.lower(),
                                        "direct" if quotes else "indirect", _content_verb(verb)), tok, offset)
    return None


def _poll_attribution(doc: "Doc | Span", quotes: list[tuple[int, int]], offset: int) -> Attribution | None:
    """A single poll or survey the figures are reported in: "In a CNN/ORC poll released
    Monday, 38 percent of voters said ...", "Trump leads by 57 percent to 33 percent in the
    50-state poll." PolNeAR marks the poll as the source and "in" as the cue. Plural
    "polls" ("leads in the polls") mostly carries no attribution and is left out."""
    sent_doc = doc.doc if hasattr(doc, "doc") else doc
    for tok in doc:
        if tok.lower_ != "in" or _inside(quotes, tok.idx - offset):
            continue
        obj = next((c for c in tok.children if c.dep_ == "pobj"), None)
        if obj is None or obj.lower_ not in _POLL_NOUNS:
            continue
        sub = list(obj.subtree)
        while len(sub) > 1 and (sub[-1].is_punct or sub[-1].dep_ in {"cc", "punct"}):
            sub = sub[:-1]
        text = sent_doc[sub[0].i:sub[-1].i + 1].text
        start = sub[0].idx
        label = next((e.label_ for e in sent_doc.ents if e.start <= obj.i < e.end and e.label_ in {"ORG"}), None)
        return Attribution(text, start - offset, start + len(text) - offset, label, "in",
                           "direct" if quotes else "indirect", None)
    return None


# ------------------------------------------------------------------ learned cue model
# A logistic-regression cue classifier, trained on PolNeAR *train* by
# `eval/train_cue_model.py` and stored as JSON (feature -> weight, bias, threshold).
# It is applied in pure Python, only when none of the rules above found a speaker:
# each candidate (a verb with a subject, a noun with a possessor) is scored, and the
# best one above the threshold gives the speaker, cut by the same span logic.
CUE_MODEL_PATH = Path(__file__).resolve().parent / "models" / "cue_model.json"
_RELATIVE = frozenset({"who", "which", "that", "whom"})
_NO_SPEAKER = frozenset({"there", "what", "whatever", "which", "that", "this", "these", "those"})
# a quantifier standing for a group of people, tagged ADJ / DET / NUM: "Many think ...",
# "Most of the delegates say ...", "Both have argued ...", "Some worry ..."
_QUANTIFIER_SUBJECTS = frozenset("many most some several few both others all none one two three half each".split())


@lru_cache(maxsize=1)
def load_cue_model(path: str | None = None) -> dict | None:
    p = Path(path) if path else CUE_MODEL_PATH
    if not p.is_file():
        return None
    return json.loads(p.read_text(encoding="utf-8"))


def cue_candidates(doc: "Doc | Span", quotes: list[tuple[int, int]], offset: int) -> list[tuple["Token", "Token", str]]:
    """(cue token, speaker head token, kind) for every verb with a subject and every noun
    with a possessor outside quotation marks. Kinds: `subj` (own nominal subject),
    `shared` (a participle / conjunct / xcomp sharing its head's subject), `relcl` (a
    relative pronoun subject: the speaker is the noun the clause modifies), `agent`
    (passive "by X"), `acl` (a participle modifying its speaker: "voters saying"),
    `pass` (a passive subject without agent: "Trump was delighted by"), `objctl` (the
    object of the head verb controls an xcomp: "forced Trump to respond"), `poss` (a
    noun's possessor: "his announcement")."""
    out: list[tuple["Token", "Token", str]] = []
    for tok in doc:
        if _inside(quotes, tok.idx - offset):
            continue
        if tok.pos_ in {"VERB", "AUX"}:
            if tok.pos_ == "AUX" and tok.dep_ in {"aux", "auxpass"}:
                continue
            subj = next((c for c in tok.children if c.dep_ == "nsubj"), None)
            kind = "subj"
            if subj is None:
                subj = next((g for c in tok.children if c.dep_ == "agent" for g in c.children if g.dep_ == "pobj"), None)
                kind = "agent"
            if subj is None and not any(c.dep_ in {"nsubjpass", "expl", "csubj"} for c in tok.children):
                head = tok.head
                object_control = tok.dep_ == "xcomp" and any(c.dep_ == "dobj" for c in head.children)
                if head.i != tok.i and head.pos_ in {"VERB", "AUX"} and not object_control and (
                        tok.dep_ == "xcomp" or (tok.dep_ in {"conj", "advcl"} and head.i < tok.i)):
                    subj = next((c for c in head.children if c.dep_ == "nsubj"), None)
                    kind = "shared"
            if subj is None and tok.dep_ == "acl" and tok.tag_ == "VBG" and tok.head.pos_ in {"NOUN", "PROPN"}:
                subj, kind = tok.head, "acl"  # "voters saying ...", "one of her ads asking ..."
            if subj is None:
                subjpass = next((c for c in tok.children if c.dep_ == "nsubjpass"), None)
                if subjpass is not None:
                    subj, kind = subjpass, "pass"  # "Trump was delighted by ...", "Clinton is assured of ..."
            if tok.dep_ == "xcomp" and tok.head.pos_ in {"VERB", "AUX"} and not any(c.dep_ == "nsubj" for c in tok.children):
                obj = next((c for c in tok.head.children if c.dep_ == "dobj"), None)
                if obj is not None and obj.pos_ in {"NOUN", "PROPN", "PRON"} and obj.lower_ not in _NO_SPEAKER:
                    out.append((tok, obj, "objctl"))  # "forced Trump to respond", "urged voters to ..."
            if subj is None:
                continue
            if subj.lower_ in _RELATIVE and tok.dep_ == "relcl" and tok.head.pos_ in {"NOUN", "PROPN"}:
                subj, kind = tok.head, "relcl"
            if subj.lower_ in _NO_SPEAKER or subj.lower_ in _RELATIVE or (
                    subj.pos_ not in {"NOUN", "PROPN", "PRON"} and subj.lower_ not in _QUANTIFIER_SUBJECTS):
                continue
            out.append((tok, subj, kind))
        elif tok.pos_ == "NOUN":
            poss = next((c for c in tok.children if c.dep_ == "poss"), None)
            if poss is not None and poss.pos_ in {"PROPN", "NOUN", "PRON"} and poss.lower_ not in {"its", "my", "our", "your"}:
                out.append((tok, poss, "poss"))
    return out


def _bucket(n: int, edges: tuple[int, ...]) -> str:
    return str(next((e for e in edges if n <= e), "max"))


def cue_features(cue: "Token", subj: "Token", kind: str, doc: "Doc | Span", quotes: list[tuple[int, int]],
                 offset: int) -> list[str]:
    """Binary features of one candidate (names only; each present feature has value 1)."""
    lemma = cue.lemma_.lower()
    child_deps = {c.dep_ for c in cue.children}
    head = cue.head
    f = [
        "kind=" + kind, "lemma=" + lemma, "lemma|kind=" + lemma + "|" + kind, "pos=" + cue.pos_, "tag=" + cue.tag_,
        "dep=" + cue.dep_, "head_pos=" + (head.pos_ if head.i != cue.i else "ROOT"),
        "lemma|dep=" + lemma + "|" + cue.dep_, "lemma|tag=" + lemma + "|" + cue.tag_,
        "dep|head_pos=" + cue.dep_ + "|" + (head.pos_ if head.i != cue.i else "ROOT"),
        "quotes=" + str(bool(quotes)),
        "subj_pos=" + subj.pos_, "subj_ent=" + (subj.ent_type_ or "-"),
        "subj_lemma=" + (subj.lemma_.lower() if subj.pos_ != "PROPN" else "<" + (subj.ent_type_ or "PROPN") + ">"),
        "n_tokens=" + _bucket(len(doc), (8, 15, 25, 40)),
        "depth=" + _bucket(_depth(cue), (0, 1, 2, 3)),
    ]
    f += ["child=" + d for d in sorted(child_deps & {"ccomp", "xcomp", "dobj", "prep", "neg", "acomp", "attr",
                                                      "advcl", "parataxis", "dative", "aux", "npadvmod", "prt"})]
    f += ["xcomp=" + c.lemma_.lower() for c in cue.children if c.dep_ == "xcomp"]
    f += ["prep=" + c.lower_ for c in cue.children if c.dep_ in {"prep", "agent"}]
    f += ["dobj=" + c.lemma_.lower() for c in cue.children if c.dep_ == "dobj"]
    f += ["acomp=" + c.lemma_.lower() for c in cue.children if c.dep_ in {"acomp", "attr"}]
    if subj.pos_ == "PRON":
        f.append("subj_pron=" + subj.lower_)
    agentive = subj.ent_type_ in {"PERSON", "ORG", "NORP"} or subj.lower_ in PERSON_PRONOUNS | {"they", "i", "we"}
    if agentive:
        f.append("subj_agentive")
    f.append("lemma|agentive=" + lemma + "|" + str(agentive))
    if "ccomp" in child_deps or "xcomp" in child_deps:
        f.append("lemma|comp=" + lemma)
    if kind == "shared" or cue.dep_ == "xcomp":
        f.append("head_lemma=" + head.lemma_.lower())
    if lemma in REPORTING_VERBS:
        f.append("lex=reporting")
    if lemma in MINED_CUE_VERBS:
        f.append("lex=mined")
    if lemma in STATEMENT_NOUNS:
        f.append("lex=statement_noun")
    if quotes:
        rel = cue.idx - offset
        f.append("quote_" + ("after" if any(a > rel for a, _b in quotes) else "before"))
    if subj.i > cue.i:
        f.append("subj_after")
    # v2 features
    sent_doc = cue.doc
    for c in cue.children:
        if c.dep_ == "prt":
            f.append("prt=" + lemma + "|" + c.lower_)
        elif c.dep_ in {"aux", "auxpass"}:
            f.append("aux=" + c.lower_)
    if cue.i > 0:
        f.append("prev=" + sent_doc[cue.i - 1].lower_)
    if cue.i + 1 < len(sent_doc):
        f.append("next=" + sent_doc[cue.i + 1].lower_)
    if _is_question(doc):
        f.append("question")
    f.append("subj_det=" + next((c.lower_ for c in subj.children if c.dep_ in {"det", "poss"}), "-"))
    f.append("head_dep=" + (head.dep_ if head.i != cue.i else "-"))
    f.append("lemma|quotes=" + lemma + "|" + str(bool(quotes)))
    f.append("ent|lemma=" + (subj.ent_type_ or subj.pos_) + "|" + lemma)
    f += ["lemma|dobj=" + lemma + "|" + c.lemma_.lower() for c in cue.children if c.dep_ in {"dobj", "prt", "acomp"}]
    f += ["lemma|prep=" + lemma + "|" + c.lower_ for c in cue.children if c.dep_ == "prep"]
    # v3 features: the reported clause, the speaker phrase, the sentence opening
    subj_key = subj.lower_ if subj.pos_ == "PRON" else (subj.ent_type_ or subj.pos_)
    f.append("kind|subj=" + kind + "|" + subj_key)
    f.append("lemma|subj=" + lemma + "|" + subj_key)
    for c in cue.children:
        if c.dep_ == "ccomp":
            f.append("ccomp_tag=" + c.tag_)
            f.append("ccomp_mark=" + next((m.lower_ for m in c.children if m.dep_ == "mark"), "-"))
            f.append("ccomp_subj=" + str(any(m.dep_ in {"nsubj", "nsubjpass", "expl"} for m in c.children)))
        elif c.dep_ == "dobj":
            f.append("dobj_ent=" + (c.ent_type_ or c.pos_))
    sub = list(subj.subtree) if kind != "acl" else [subj]
    f.append("subj_len=" + _bucket(len(sub), (1, 2, 4, 8)))
    f.append("subj_first=" + str(sub[0].i == (doc[0].i if len(doc) else 0)))
    first = next((t for t in doc if not t.is_punct), None)
    if first is not None:
        f.append("first=" + first.lower_)
    return f


def _is_question(doc: "Doc | Span") -> bool:
    """The sentence ends with a question mark (closing quotes and brackets aside)."""
    for tok in reversed(doc):
        if tok.text in {'"', "”", "’", "'", "''", ")"} or tok.is_space:
            continue
        return tok.text.endswith("?")
    return False


def cue_dense(cue: "Token", subj: "Token") -> list[float]:
    """The parser's contextual token vectors (tok2vec, `doc.tensor`) of the cue and the
    speaker head, concatenated; empty when the pipeline left no tensor."""
    tensor = cue.doc.tensor
    if tensor is None or len(tensor.shape) != 2 or tensor.shape[0] != len(cue.doc):
        return []
    return [float(x) for x in tensor[cue.i]] + [float(x) for x in tensor[subj.i]]


def cue_score(model: dict, features: list[str], dense: list[float] | None = None) -> float:
    w = model["weights"]
    z = model["bias"] + sum(w.get(name, 0.0) for name in features)
    dw = model.get("dense")
    if dw and dense and len(dense) == len(dw):
        z += sum(a * b for a, b in zip(dw, dense))
    return 1.0 / (1.0 + math.exp(-z)) if z > -30 else 0.0


def cue_attribution(cue: "Token", subj: "Token", doc: "Doc | Span", quotes: list[tuple[int, int]],
                    offset: int) -> Attribution:
    """The attribution a candidate gives, with the speaker cut by the rules' span logic."""
    sent_doc = doc.doc if hasattr(doc, "doc") else doc
    sp, a, b, label = _speaker_from(_speaker_tokens(subj) or [subj], sent_doc, subj)
    if sp.lower() in {"his", "her", "their"}:
        sp = {"his": "he", "her": "she", "their": "they"}[sp.lower()]
    qt = "direct" if quotes else "indirect"
    lemma = cue.lemma_.lower()
    if lemma in _COPULAS:  # "X has been supportive of ...": the predicate is the stance word
        pred = _copula_predicate(cue)
        lemma = pred.lemma_.lower() if pred is not None else lemma
    att = Attribution(sp, a - offset, b - offset, label, lemma, qt,
                      _content_verb(cue) if cue.pos_ in {"VERB", "AUX"} else None)
    rel = next((c for c in cue.children if c.dep_ == "nsubj" and c.lower_ in _RELATIVE), None) \
        if cue.dep_ == "relcl" and cue.head.i == subj.i else None
    if rel is not None:  # the speaker is the noun the relative clause modifies, written "who"
        return replace(att, written_start=rel.idx - offset, written_end=rel.idx + len(rel.text) - offset)
    return _with_phrase(att, subj, offset)


def _copula_predicate(cue: "Token") -> "Token | None":
    """The adjective or noun a copula predicates ("been supportive", "is confident")."""
    return next((c for c in cue.children if c.dep_ in {"acomp", "attr", "oprd"} and c.pos_ in {"ADJ", "NOUN"}), None)


def _model_attribution(doc: "Doc | Span", quotes: list[tuple[int, int]], offset: int) -> Attribution | None:
    model = load_cue_model()
    if model is None:
        return None
    best, best_p = None, model["threshold"]
    for cue, subj, kind in cue_candidates(doc, quotes, offset):
        if cue.pos_ in {"VERB", "AUX"} and _not_a_statement(cue, cue.lemma_.lower(), quotes):
            continue
        if cue.lemma_.lower() in _COPULAS and _copula_predicate(cue) is None:
            continue  # a bare copula reports nothing
        p = cue_score(model, cue_features(cue, subj, kind, doc, quotes, offset), cue_dense(cue, subj))
        if p >= best_p:
            best, best_p = (cue, subj), p
    if best is None:
        return None
    return cue_attribution(best[0], best[1], doc, quotes, offset)


def fullest_form(name: str, known: list[str]) -> str:
    """`Deyneko` -> `Serhiy Deyneko` when the longer name is known in the same document."""
    words = name.split()
    if not words:
        return name
    best = name
    for cand in known:
        cw = cand.split()
        if len(cw) > len(best.split()) and cw[-len(words):] == words:
            best = cand
    return best
