from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.nlp import load_sentencizer
from pipeline.sentences import split_paragraphs_into_sentences, tidy_spans

SEEDS_DIR = Path(__file__).resolve().parent.parent / "data" / "raw"


@pytest.fixture(scope="module")
def sentencizer():
    return load_sentencizer()


@pytest.fixture(scope="module")
def tables(sentencizer):
    from pipeline.build import documents_table, paragraphs_table, sentences_table

    documents = documents_table(SEEDS_DIR)
    paragraphs = paragraphs_table(documents)
    sentences = sentences_table(paragraphs, sentencizer)
    return documents, paragraphs, sentences


def tidy(text: str, spans: list[tuple[int, int]]) -> list[str]:
    return [text[a:b] for a, b in tidy_spans(text, spans)]


def split(nlp, text: str) -> list[str]:
    (spans,) = split_paragraphs_into_sentences(nlp, [text])
    return [text[a:b] for a, b in spans]


# ---------------------------------------------------------------- tidy_spans
def test_tidy_trims_whitespace():
    text = "  He left.   She stayed.  "
    assert tidy_spans(text, [(0, 12), (12, len(text))]) == [(2, 10), (13, 24)]


def test_tidy_drops_empty_spans():
    text = "He left.   "
    assert tidy_spans(text, [(0, 8), (8, 11)]) == [(0, 8)]
    assert tidy_spans("", []) == []


def test_dangling_curly_opening_quote_moved_to_next_sentence():
    text = "He left. “We are ready,” she said."
    spans = tidy_spans(text, [(0, 10), (10, len(text))])
    assert [text[a:b] for a, b in spans] == ["He left.", "“We are ready,” she said."]
    assert spans == [(0, 8), (9, len(text))]


def test_dangling_straight_opening_quote_moved_to_next_sentence():
    text = 'He left. "We are ready," she said.'
    assert tidy(text, [(0, 10), (10, len(text))]) == ["He left.", '"We are ready," she said.']


def test_dangling_opening_bracket_moved():
    text = "He left. (It was late.)"
    assert tidy(text, [(0, 10), (10, len(text))]) == ["He left.", "(It was late.)"]


def test_straight_quote_closing_an_open_quote_stays():
    text = 'He said "we are ready." "Next one."'
    assert tidy(text, [(0, 23), (24, len(text))]) == ['He said "we are ready."', '"Next one."']


def test_lone_closing_quote_joined_to_previous():
    text = "“We are ready.” She left."
    assert tidy(text, [(0, 14), (14, 15), (15, len(text))]) == ["“We are ready.”", "She left."]


def test_lone_closing_bracket_and_ellipsis_joined():
    text = "He said (it was over. ) Then … left."
    assert tidy(text, [(0, 21), (21, 23), (23, len(text))]) == ["He said (it was over. )", "Then … left."]
    text = "It was over. … Then he left."
    assert tidy(text, [(0, 12), (12, 14), (14, len(text))]) == ["It was over. …", "Then he left."]


def test_lone_closer_at_start_is_kept():
    # nothing before it to join
    text = "” He left."
    assert tidy(text, [(0, 1), (1, len(text))]) == ["”", "He left."]


def test_tidy_offsets_stay_inside_text():
    text = "He left. “We are ready.” ” She said. “"
    spans = tidy_spans(text, [(0, 10), (10, 24), (24, 26), (26, len(text))])
    for a, b in spans:
        assert 0 <= a < b <= len(text)
        assert text[a:b] == text[a:b].strip()
    assert [text[a:b] for a, b in spans] == ["He left.", "“We are ready.” ”", "She said. “"]


def test_straight_quote_closing_multi_sentence_quotation_stays():
    text = '"We are ready. We will go." He left.'
    assert tidy(text, [(0, 14), (15, 27), (28, len(text))]) == ['"We are ready.', 'We will go."', "He left."]


# ---------------------------------------------------------------- real sentencizer
def test_sentencizer_splits_simple_paragraph(sentencizer):
    text = "The ministry said troops arrived. Officials confirmed it on Monday."
    assert split(sentencizer, text) == ["The ministry said troops arrived.", "Officials confirmed it on Monday."]


def test_sentencizer_keeps_abbreviations(sentencizer):
    text = "Dr. Smith met Mr. Jones at 10 a.m. in Washington D.C. on Monday. They talked."
    assert split(sentencizer, text) == [
        "Dr. Smith met Mr. Jones at 10 a.m. in Washington D.C. on Monday.",
        "They talked.",
    ]


def test_sentencizer_quotes_stay_with_their_sentences(sentencizer):
    text = (
        "“The first troop trains began to arrive in Belarus,” Revenko wrote on Twitter. "
        "“The relocation will take several days.”"
    )
    assert split(sentencizer, text) == [
        "“The first troop trains began to arrive in Belarus,” Revenko wrote on Twitter.",
        "“The relocation will take several days.”",
    ]


def test_sentencizer_multi_sentence_straight_quotation(sentencizer):
    text = 'Revenko wrote: "The first trains have arrived. The relocation will take days." The ministry confirmed it.'
    assert split(sentencizer, text) == [
        'Revenko wrote: "The first trains have arrived.',
        'The relocation will take days."',
        "The ministry confirmed it.",
    ]


def test_sentencizer_one_list_per_paragraph(sentencizer):
    paragraphs = ["Headline without a stop", "", "One. Two.", "  Padded sentence.  "]
    result = split_paragraphs_into_sentences(sentencizer, paragraphs, batch_size=2)
    assert len(result) == 4
    assert [paragraphs[0][a:b] for a, b in result[0]] == ["Headline without a stop"]
    assert result[1] == []
    assert [paragraphs[2][a:b] for a, b in result[2]] == ["One.", "Two."]
    assert result[3] == [(2, 18)]  # "Padded sentence." trimmed


# ---------------------------------------------------------------- end to end on seeds
def test_seed_tables_not_empty(tables):
    documents, paragraphs, sentences = tables
    assert len(documents) == len(list(SEEDS_DIR.glob("*.txt")))
    assert (documents["status"] == "ok").all()
    assert (paragraphs["status"] == "kept").sum() > 0
    assert len(sentences) > 0


def test_paragraph_offsets_match_document_text(tables):
    documents, paragraphs, _ = tables
    text = dict(zip(documents["doc_id"], documents["text"]))
    for row in paragraphs.itertuples(index=False):
        assert text[row.doc_id][row.char_start:row.char_end] == row.text


def test_sentence_offsets_match_document_text(tables):
    documents, _, sentences = tables
    text = dict(zip(documents["doc_id"], documents["text"]))
    for row in sentences.itertuples(index=False):
        assert row.text, row
        assert text[row.doc_id][row.char_start:row.char_end] == row.text
        assert row.text == row.text.strip()


def test_sentences_have_no_newline(tables):
    _, _, sentences = tables
    assert not [t for t in sentences["text"] if "\n" in t]


def test_sentences_inside_their_paragraph(tables):
    _, paragraphs, sentences = tables
    bounds = {
        pid: (did, a, b)
        for pid, did, a, b in paragraphs[["paragraph_id", "doc_id", "char_start", "char_end"]].itertuples(index=False)
    }
    for row in sentences.itertuples(index=False):
        did, a, b = bounds[row.paragraph_id]
        assert row.doc_id == did
        assert a <= row.char_start < row.char_end <= b


def test_sentences_only_for_kept_paragraphs(tables):
    _, paragraphs, sentences = tables
    kept = set(paragraphs.loc[paragraphs["status"] == "kept", "paragraph_id"])
    assert set(sentences["paragraph_id"]) == kept  # every kept paragraph has >= 1 sentence
    not_kept = set(paragraphs["paragraph_id"]) - kept
    assert not_kept, "seeds are expected to contain boilerplate and duplicates"
    assert not (set(sentences["paragraph_id"]) & not_kept)


def test_sentence_ordinals_and_ids(tables):
    from pipeline import ids

    _, _, sentences = tables
    assert sentences["sentence_id"].is_unique
    for did, group in sentences.groupby("doc_id"):
        group = group.sort_values("ordinal")
        assert group["ordinal"].tolist() == list(range(len(group)))
        assert group["char_start"].is_monotonic_increasing
        # sentences do not overlap
        assert (group["char_start"].iloc[1:].to_numpy() >= group["char_end"].iloc[:-1].to_numpy()).all()
    for row in sentences.itertuples(index=False):
        assert row.sentence_id == ids.sentence_id(row.doc_id, row.char_start, row.char_end)


# ---------------------------------------------------------------- speaker after a closed quotation
def test_tidy_keeps_a_question_quote_with_its_lower_case_speaker():
    text = "“Will the bridge ever open?” she asked. “Nobody knows.”"
    assert tidy(text, [(0, 29), (29, 40), (40, len(text))]) == [
        "“Will the bridge ever open?” she asked.", "“Nobody knows.”"]


def test_tidy_keeps_an_exclamation_quote_with_its_speaker_straight_and_doubled_marks():
    text = '"Stop the vote now!" one neighbour wrote.'
    assert tidy(text, [(0, 21), (21, len(text))]) == [text]
    text = "''Hands off our park!'' the residents chanted."
    assert tidy(text, [(0, 24), (24, len(text))]) == [text]


def test_tidy_does_not_join_a_capitalized_sentence_or_a_full_stop_quote():
    text = "“Will the bridge ever open?” She did not know."
    assert tidy(text, [(0, 29), (29, len(text))]) == ["“Will the bridge ever open?”", "She did not know."]
    text = "“The bridge is open.” later it closed."
    assert tidy(text, [(0, 22), (22, len(text))]) == ["“The bridge is open.”", "later it closed."]


def test_sentencizer_keeps_a_quoted_question_with_its_speaker(sentencizer):
    text = "“Who will pay for the new stadium?” the councillor asked. “Not the taxpayers.”"
    assert split(sentencizer, text) == ["“Who will pay for the new stadium?” the councillor asked.",
                                        "“Not the taxpayers.”"]
