"""pipeline.claims: scoring, hedging/negation and document-level claim extraction."""
from __future__ import annotations

import itertools

import pytest

from pipeline import checkworthiness as cw
from pipeline import ids
from pipeline.attribution import attribute
from pipeline.claims import (
    CLAIM_THRESHOLD,
    SentenceInput,
    checkworthiness,
    extract_claims,
    is_hedged,
    is_negated,
)

FEATURES = ["quantity", "named_entity", "entity_count", "date", "attribution", "long_enough", "hedged", "opinion"]
# the weights of the eight sentence features in the shipped model (pipeline.checkworthiness);
# these tests score the features alone (no text_margin)
WEIGHTS = cw.model().dense


# ----------------------------------------------------------------- checkworthiness
def test_checkworthiness_bounds():
    assert 0.0 < checkworthiness({}) < CLAIM_THRESHOLD
    all_positive = {k: 1.0 for k in FEATURES if WEIGHTS[k] > 0}
    assert CLAIM_THRESHOLD < checkworthiness(all_positive) < 1.0
    all_negative = {k: 1.0 for k in FEATURES if WEIGHTS[k] < 0}
    assert 0.0 < checkworthiness(all_negative) < checkworthiness({})


@pytest.mark.parametrize("feature", FEATURES)
def test_checkworthiness_monotone_in_each_feature(feature):
    base = {"quantity": 1.0, "named_entity": 0.0, "entity_count": 1 / 3, "long_enough": 1.0}
    lo = checkworthiness(dict(base, **{feature: 0.0}))
    hi = checkworthiness(dict(base, **{feature: 1.0}))
    if WEIGHTS[feature] > 0:
        assert hi > lo
    else:
        assert hi < lo


def test_checkworthiness_monotone_over_grid():
    """Adding any positive feature to any feature set never lowers the score."""
    positive = [k for k in FEATURES if WEIGHTS[k] > 0]
    for r in range(len(positive)):
        for combo in itertools.combinations(positive, r):
            feats = {k: 1.0 for k in combo}
            score = checkworthiness(feats)
            assert 0.0 <= score <= 1.0
            for extra in positive:
                if extra not in combo:
                    assert checkworthiness(dict(feats, **{extra: 1.0})) > score


def test_checkworthiness_ignores_unknown_features():
    assert checkworthiness({"quantity": 1.0, "bogus": 100.0}) == checkworthiness({"quantity": 1.0})


# ------------------------------------------------------------- hedging / negation
@pytest.mark.parametrize(
    "text",
    [
        "Russia may send more troops to Belarus next month.",
        "The troops will probably stay in Belarus after the drills.",
        "There is a possibility that the troops will stay in Belarus.",
    ],
)
def test_is_hedged(nlp, text):
    assert is_hedged(nlp(text)) is True


def test_not_hedged(nlp):
    assert is_hedged(nlp("Russia sent 9,000 troops to Belarus last week.")) is False


@pytest.mark.parametrize(
    "text",
    [
        "The border guard service has not observed any buildup near the border.",
        "No significant influx has occurred at the border.",
        "The ministry said that no significant influx has occurred.",
        "Ukraine has never accepted the offer.",
    ],
)
def test_is_negated(nlp, text):
    doc = nlp(text)
    assert is_negated(doc, attribute(doc)) is True


@pytest.mark.parametrize(
    "text",
    [
        "The border guard service has observed a buildup near the border.",
        "The ministry said that a significant influx has occurred.",
    ],
)
def test_not_negated(nlp, text):
    doc = nlp(text)
    assert is_negated(doc, attribute(doc)) is False


# ------------------------------------------------------------------ extract_claims
DOC_ID = "d" * 64
# (paragraph_id, [sentences], is_heading); paragraphs are joined by a blank line
PARAGRAPHS = [
    ("p_head", ["Russia sends 9,000 troops to Belarus for drills in February"], True),
    ("p_intro", ["Serhiy Deyneko, head of Ukraine's border guard service, spoke on Monday."], False),
    ("p_surname", ["About 9,000 Russian troops have arrived in Belarus so far, Deyneko said."], False),
    ("p_pronoun", ["He told reporters that 30 trains with military equipment crossed the border on Sunday."], False),
    ("p_question", ["Will the 9,000 Russian troops leave Belarus after the exercises in February?"], False),
    ("p_ministry", ["On Tuesday, the Belarusian Defense Ministry said 12 Su-35 fighter jets landed in Belarus."], False),
    ("p_definite", ["The ministry said the drills with Russia would last until February 20."], False),
    ("p_quote", [
        "“The Russian troops are concentrated near the border with Ukraine,” Valeriy Revenko wrote on Twitter.",
        "“They brought 40 tanks and 20 helicopters to Gomel last week.”",
    ], False),
]


def _document() -> tuple[str, list[SentenceInput]]:
    parts: list[str] = []
    inputs: list[SentenceInput] = []
    pos = 0
    for pid, sentences, heading in PARAGRAPHS:
        if parts:
            parts.append("\n\n")
            pos += 2
        for n, s in enumerate(sentences):
            if n:
                parts.append(" ")
                pos += 1
            sid = ids.sentence_id(DOC_ID, pos, pos + len(s))
            inputs.append(SentenceInput(sid, DOC_ID, pid, s, pos, heading))
            parts.append(s)
            pos += len(s)
    text = "".join(parts)
    for s in inputs:
        assert text[s.char_start:s.char_start + len(s.text)] == s.text
    return text, inputs


@pytest.fixture(scope="module")
def extracted(nlp):
    text, inputs = _document()
    out = extract_claims(nlp, inputs)
    by_paragraph: dict[str, list] = {}
    for c in out.claims:
        by_paragraph.setdefault(c.paragraph_id, []).append(c)
    return text, inputs, out, by_paragraph


def test_question_and_heading_are_not_claims(extracted):
    _text, inputs, out, by_paragraph = extracted
    assert "p_question" not in by_paragraph
    assert "p_head" not in by_paragraph
    claimed = {c.sentence_id for c in out.claims}
    assert claimed == {s.sentence_id for s in inputs if s.paragraph_id not in {"p_head", "p_question"}}


def test_heading_text_would_be_a_claim_as_body_text(nlp):
    """Guard for the test above: the heading is excluded because it is a heading."""
    text = PARAGRAPHS[0][1][0]
    out = extract_claims(nlp, [SentenceInput("s_x", DOC_ID, "p_x", text, 0, False)])
    assert [c.text for c in out.claims] == [text]


def test_claim_rows_basic_fields(extracted):
    _text, inputs, out, _ = extracted
    by_sid = {s.sentence_id: s for s in inputs}
    for c in out.claims:
        s = by_sid[c.sentence_id]
        assert c.claim_id == ids.claim_id(c.sentence_id)
        assert c.doc_id == DOC_ID
        assert (c.char_start, c.char_end) == (s.char_start, s.char_start + len(s.text))
        assert c.text == s.text
        assert CLAIM_THRESHOLD <= c.checkworthiness <= 1.0
        assert c.quote_type in {"direct", "indirect", "none"}
    assert [c.sentence_id for c in out.claims] == [
        s.sentence_id for s in inputs if s.sentence_id in {c.sentence_id for c in out.claims}
    ]


def test_surname_normalized_to_full_name(extracted):
    (claim,) = extracted[3]["p_surname"]
    assert claim.speaker == "Serhiy Deyneko"
    assert claim.speaker_type == "PERSON"
    assert claim.cue == "say"
    assert claim.quote_type == "indirect"


def test_pronoun_resolved_to_previous_person(extracted):
    (claim,) = extracted[3]["p_pronoun"]
    assert claim.speaker == "Serhiy Deyneko"
    assert claim.speaker_type == "PERSON"
    assert claim.cue == "tell"


def test_definite_description_resolved_to_named_org(extracted):
    (named,) = extracted[3]["p_ministry"]
    assert named.speaker == "the Belarusian Defense Ministry"
    assert named.speaker_type == "ORG"
    (claim,) = extracted[3]["p_definite"]
    assert claim.speaker == "the Belarusian Defense Ministry"
    assert claim.speaker_type == "ORG"
    assert claim.cue == "say"


def test_multi_sentence_direct_quote_inherits_speaker(extracted):
    first, second = extracted[3]["p_quote"]
    assert first.speaker == second.speaker == "Valeriy Revenko"
    assert first.speaker_type == second.speaker_type == "PERSON"
    assert first.cue == second.cue == "write"
    assert first.quote_type == second.quote_type == "direct"


def test_quote_without_neighbour_has_no_speaker(nlp):
    text = PARAGRAPHS[-1][1][1]
    (claim,) = extract_claims(nlp, [SentenceInput("s_q", DOC_ID, "p_q", text, 0)]).claims
    assert claim.speaker is None and claim.cue is None and claim.speaker_type is None
    assert claim.quote_type == "none"


def test_quantities_point_at_claims_with_document_offsets(extracted):
    text, _inputs, out, by_paragraph = extracted
    claim_ids = {c.claim_id for c in out.claims}
    assert out.quantities
    for q in out.quantities:
        assert q["claim_id"] in claim_ids
        assert q["doc_id"] == DOC_ID
        assert text[q["char_start"]:q["char_end"]] == q["text"]
    quote_claim = by_paragraph["p_quote"][1]
    got = [(q["ordinal"], q["value"], q["unit"], q["qualifier"], q["text"])
           for q in out.quantities if q["claim_id"] == quote_claim.claim_id]
    assert got == [(0, 40.0, "tank", "exact", "40 tanks"), (1, 20.0, "helicopter", "exact", "20 helicopters")]
    # the heading's and the question's numbers are not in the table
    surname_claim = by_paragraph["p_surname"][0]
    nines = [q for q in out.quantities if q["value"] == 9000.0]
    assert [q["claim_id"] for q in nines] == [surname_claim.claim_id]
    assert nines[0]["qualifier"] == "approximate"


def test_entities_point_at_claims_with_document_offsets(extracted):
    text, _inputs, out, by_paragraph = extracted
    claim_ids = {c.claim_id for c in out.claims}
    assert out.entities
    for e in out.entities:
        assert e["claim_id"] in claim_ids
        assert text[e["char_start"]:e["char_end"]] == e["text"]
    intro = by_paragraph["p_intro"][0]
    intro_ents = [(e["ordinal"], e["text"], e["label"]) for e in out.entities if e["claim_id"] == intro.claim_id]
    assert (0, "Serhiy Deyneko", "PERSON") in intro_ents
    assert [o for o, _t, _l in intro_ents] == list(range(len(intro_ents)))
    gomel = [e for e in out.entities if e["text"] == "Gomel"]
    assert len(gomel) == 1 and gomel[0]["claim_id"] == by_paragraph["p_quote"][1].claim_id
    assert gomel[0]["char_start"] == text.index("Gomel")


def test_documents_do_not_share_speakers(nlp):
    """Resolution is per document: a pronoun in another document does not pick up Deyneko."""
    a = SentenceInput("s_a", "a" * 64, "p_a", "Serhiy Deyneko said 9,000 Russian troops arrived in Belarus.", 0)
    b = SentenceInput("s_b", "b" * 64, "p_b", "He told reporters that 30 trains with military equipment crossed the border on Sunday.", 0)
    out = extract_claims(nlp, [a, b])
    speakers = {c.doc_id: c.speaker for c in out.claims}
    assert speakers["a" * 64] == "Serhiy Deyneko"
    assert speakers["b" * 64] != "Serhiy Deyneko"


def test_document_attributions_cover_every_sentence(nlp):
    from pipeline.claims import analyze, document_attributions

    texts = [
        "Serhiy Deyneko, the head of the border service, spoke on Wednesday.",
        "“We see no threat from the north today,” Deyneko said.",
        "“The border is calm and under full control.",
        "Nobody knows.",
    ]
    sents = [SentenceInput(f"s{i}", "d", "p", t, 0) for i, t in enumerate(texts)]
    analyses = [analyze(doc, s) for doc, s in zip(nlp.pipe(texts), sents)]
    out = document_attributions(analyses)
    assert len(out) == len(texts)
    assert (out[1].speaker, out[1].cue, out[1].surface, out[1].inherited) == ("Serhiy Deyneko", "say", "Deyneko", False)
    assert (out[2].speaker, out[2].quote_type, out[2].inherited) == ("Serhiy Deyneko", "direct", True)
    assert out[3].speaker is None and out[3].quote_type == "none"
    # the claims built from them agree with the attributions
    rows = {r.sentence_id: r for r in extract_claims(nlp, sents).claims}
    for s, r in zip(sents, out):
        if s.sentence_id in rows:
            assert rows[s.sentence_id].speaker == r.speaker


def test_definite_title_resolved_to_the_titled_person(nlp):
    from pipeline.claims import analyze, document_attributions

    texts = [
        "Belarusian President Alexander Lukashenko met Putin in Minsk on Tuesday.",
        "The talks lasted four hours.",
        "The president said the borders would stay open for Russian ammunition.",
    ]
    sents = [SentenceInput(f"s{i}", "d", f"p{i}", t, 0) for i, t in enumerate(texts)]
    out = document_attributions([analyze(doc, s) for doc, s in zip(nlp.pipe(texts), sents)])
    assert (out[2].speaker, out[2].speaker_type, out[2].surface) == ("Alexander Lukashenko", "PERSON", "The president")


def test_a_punctuation_subject_does_not_fail_the_document(nlp):
    """BBC politics/296: the parser makes the hyphen of "co-chairman" the subject of "said";
    the whole article's claims stage used to crash on it (IndexError)."""
    att = attribute(nlp('The Conservative Party would deal "sympathetically" with any application by disgraced '
                        'peer Lord Archer to rejoin its ranks, its co-chairman has said.'))
    assert att.cue == "say" and att.quote_type == "indirect"
    assert att.speaker and "chairman" in att.speaker


# ---------------------------------------------------------------- issue #16 (made-up sentences)
def _resolved(nlp, texts, paragraphs=None):
    from pipeline.claims import analyze, document_attributions

    paragraphs = paragraphs or [f"p{i}" for i in range(len(texts))]
    sents = [SentenceInput(f"s{i}", "d" * 64, p, t, 0) for i, (t, p) in enumerate(zip(texts, paragraphs))]
    analyses = [analyze(doc, s) for doc, s in zip(nlp.pipe(texts), sents)]
    return sents, analyses, document_attributions(analyses)


def test_description_with_a_modifier_goes_to_the_person_titled_with_it(nlp):
    texts = [
        "Chilean President Rosa Alvarez met Peruvian leader Tomas Quispe in Lima on Monday.",
        "Argentine President Jorge Medina joined them by video.",
        "The Peruvian president said the border crossings would reopen next month.",
    ]
    _s, _a, out = _resolved(nlp, texts)
    assert out[2].speaker == "Tomas Quispe" and out[2].speaker_type == "PERSON"
    assert out[2].surface == "The Peruvian president"


def test_the_ministry_resolves_to_the_ministry_the_document_named(nlp):
    texts = [
        "The Estonian Ministry of Agriculture published new quotas for herring on Friday.",
        "Fishermen protested in Tallinn.",
        "The ministry said the quotas would be reviewed in the autumn.",
    ]
    _s, _a, out = _resolved(nlp, texts)
    assert "Ministry of Agriculture" in out[2].speaker and out[2].speaker_type == "ORG"


def test_a_country_is_not_extended_to_an_organization_named_after_it(nlp):
    texts = [
        "The Ministry of Finance Moldova will publish the budget tomorrow.",
        "In March, Moldova announced a new customs agreement with its neighbours.",
    ]
    _s, _a, out = _resolved(nlp, texts)
    assert out[1].speaker == "Moldova" and out[1].speaker_type in {"GPE", "ORG"}


def test_speaker_type_is_consistent_within_a_document(nlp):
    texts = [
        "Finnish Energy Minister Aino Virtanen opened the new wind farm near Oulu on Tuesday.",
        "“We have added 300 megawatts this year,” Virtanen said.",
        "Virtanen told reporters the grid would need another 2 billion euros of investment.",
    ]
    _s, _a, out = _resolved(nlp, texts)
    types = {r.speaker_type for r in out if r.speaker == "Aino Virtanen"}
    assert types == {"PERSON"}


def test_sentences_inside_a_multi_sentence_quote_inherit_its_speaker(nlp):
    texts = [
        "“The dam is safe.",
        "Engineers checked every gate last week.",
        "We will open the spillway only if the lake rises again,” said the operator, Lena Berg.",
    ]
    _s, _a, out = _resolved(nlp, texts, ["p", "p", "p"])
    assert all(r.speaker == "Lena Berg" for r in out)
    assert out[1].inherited and out[1].surface is None


def test_attributed_statement_below_the_threshold_is_a_claim(nlp):
    from pipeline.claims import CLAIM_THRESHOLD

    texts = ["“It will get better soon,” the baker said.", "Nobody was surprised by the weather in the end."]
    sents = [SentenceInput(f"s{i}", "d" * 64, "p", t, 0) for i, t in enumerate(texts)]
    claims = extract_claims(nlp, sents).claims
    by_id = {c.sentence_id: c for c in claims}
    assert "s0" in by_id
    c = by_id["s0"]
    assert c.speaker is not None and c.speaker_as_written == "the baker"
    assert c.check_worthy == (c.checkworthiness >= CLAIM_THRESHOLD)
    assert "s1" not in by_id or by_id["s1"].check_worthy  # unattributed: only when check-worthy


def test_title_before_a_name_across_a_no_break_space(nlp):
    texts = [
        "Peruvian leader\u00a0Tomas Quispe\u00a0said on Monday that the talks went well.",
        "Chilean President Rosa Alvarez met Quispe in Lima.",
        "The Peruvian president has called for calm, suggesting that the dispute is over.",
    ]
    _s, _a, out = _resolved(nlp, texts)
    assert out[2].speaker == "Tomas Quispe"


# ---------------------------------------------------------------- issue #16: quotations the claims reach
def test_doubled_apostrophes_open_and_close_a_multi_sentence_quote(nlp):
    # some newspapers print '' for both quotation marks; the splitter leaves the opener of the
    # next sentence's quotation at the end of the previous one
    texts = [
        "Ms. Ortega said the plant would stay open through the winter. ''",
        "The boilers are old,'' she said. ''",
        "Nobody here wants to replace them this year.",
        "We will wait for the spring.''",
    ]
    _s, _a, out = _resolved(nlp, texts, ["p", "p", "p", "p"])
    assert out[2].speaker == "Ortega" or out[2].speaker.endswith("Ortega")
    assert out[2].inherited and out[3].inherited


def test_quote_state_reads_doubled_apostrophes_and_a_trailing_opener():
    from pipeline.claims import _quote_state, quotation_groups

    assert _quote_state("''The vote is close,'' he said.", False) == (False, True, True)
    assert _quote_state("Nobody here wants to replace them.", True) == (True, False, False)
    assert _quote_state("It is over,'' he said. ''", True) == (True, True, True)  # closed, then reopened
    texts = ["He said so. ''", "One,'' he said. ''", "Two.", "Three.''"]
    sents = [SentenceInput(f"s{i}", "d", "p", t, 0) for i, t in enumerate(texts)]
    (group,) = quotation_groups(sents)
    assert list(group) == [0, 1, 2, 3] and group.inside == {2}


def test_a_speaker_inside_the_quotation_does_not_block_the_introducing_speaker(nlp):
    texts = [
        "Mayor Tomas Brandt defended the new tram line on Tuesday.",
        "“People will use it.",
        "And I always say the city must move forward.",
        "It will be a real success.”",
    ]
    _s, _a, out = _resolved(nlp, texts, ["p0", "p1", "p1", "p1"])
    assert [r.speaker for r in out[1:]] == ["Tomas Brandt"] * 3
    assert all(r.inherited for r in out[1:])


def test_a_quotation_paragraph_after_a_short_quote_of_the_same_person(nlp):
    # (the name alone may be tagged ORG where it is said; the document's PERSON mention decides)
    texts = [
        "Karl Brandt, 54, has grown barley near the river for thirty years.",
        "“Water,” said Brandt, a farmer.",
        "“Water for the fields, for the animals, for everybody.”",
    ]
    _s, _a, out = _resolved(nlp, texts, ["p0", "p1", "p2"])
    assert out[2].speaker == out[1].speaker == "Karl Brandt" and out[2].inherited


# ----------------------------------------------------------------- attributed questions and short statements
def _rows_of(nlp, texts, paragraphs=None):
    paragraphs = paragraphs or [f"p{i}" for i in range(len(texts))]
    sents = [SentenceInput(f"s{i}", DOC_ID, p, t, 0) for i, (t, p) in enumerate(zip(texts, paragraphs))]
    return {r.sentence_id: r for r in extract_claims(nlp, sents).claims}


def test_an_attributed_question_is_a_claim_row(nlp):
    rows = _rows_of(nlp, ["Council member Ines Harlow questioned the budget on Tuesday.",
                          "“Why should families pay twice for the same road?” Harlow asked.",
                          "Will the road be finished by June?"])
    assert rows["s1"].speaker == "Ines Harlow"
    assert rows["s1"].speaker_as_written == "Harlow"
    assert "s2" not in rows  # a question nobody is said to ask is still not a claim


def test_a_question_inside_a_quotation_takes_the_quotation_speaker(nlp):
    rows = _rows_of(nlp, ["“We were promised a new school,” said Marta Quell, a parent.",
                          "“Where is it?",
                          "Nobody at the district office can tell us.”"], ["p0", "p1", "p1"])
    assert rows["s1"].speaker == "Marta Quell" and rows["s1"].speaker_as_written is None
    assert rows["s2"].speaker == "Marta Quell"


def test_a_two_word_attributed_statement_is_a_claim_row(nlp):
    rows = _rows_of(nlp, ["“The levy will not rise this year,” Treasurer Colm Vance said.",
                          "“Not once.”"], ["p0", "p1"])
    assert "Colm Vance" in rows["s0"].speaker
    assert rows["s1"].speaker == rows["s0"].speaker and rows["s1"].speaker_as_written is None
    rows = _rows_of(nlp, ["“Done.”"])
    assert rows == {}  # without a speaker, two words are no claim


def test_a_short_opening_quotation_carries_its_speaker_over_the_next_sentences(nlp):
    # the doubled apostrophe some newspapers print for both marks; the splitter leaves the
    # mark that opens the next sentence's words at the end of the speaker's sentence
    texts = ["''Truly shameful,'' Ms. Okafor said. ''",
             "The clinic closed in May, and nobody warned the patients.",
             "They found a padlock on the door.''"]
    _s, _a, out = _resolved(nlp, texts, ["p0", "p0", "p0"])
    assert out[0].speaker == "Okafor" and not out[0].inherited
    assert [r.speaker for r in out[1:]] == ["Okafor", "Okafor"]
    assert all(r.inherited for r in out[1:])
