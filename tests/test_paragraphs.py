from __future__ import annotations

import pytest

from pipeline.paragraphs import Span, split_paragraphs

WRAPPED = (
    "The defence ministry said on Monday that about 9,000 troops\n"
    "would arrive over the next week, officials in the capital\n"
    "described the deployment as purely defensive and said the\n"
    "drills would last a month."
)


def paras(text: str) -> list[str]:
    return [text[s.start:s.end] for s in split_paragraphs(text)]


def assert_offsets(text: str) -> list[Span]:
    spans = split_paragraphs(text)
    prev_end = 0
    for s in spans:
        assert 0 <= s.start < s.end <= len(text)
        assert s.start >= prev_end, "paragraphs overlap or are out of order"
        p = text[s.start:s.end]
        assert p == p.strip() and p
        prev_end = s.end
    return spans


def test_blank_line_layout():
    text = "First paragraph.\n\nSecond paragraph.\n\n\n\nThird paragraph."
    assert paras(text) == ["First paragraph.", "Second paragraph.", "Third paragraph."]
    assert split_paragraphs(text)[0] == Span(0, 16)
    assert split_paragraphs(text)[1] == Span(18, 35)


def test_blank_line_with_whitespace_only_separator():
    text = "First paragraph.\n \t \nSecond paragraph."
    assert paras(text) == ["First paragraph.", "Second paragraph."]


def test_single_newline_layout_one_line_one_paragraph():
    text = "Headline here\nFirst line of body.\nSecond line of body.\n- a bullet"
    assert paras(text) == ["Headline here", "First line of body.", "Second line of body.", "- a bullet"]


def test_mixed_layout():
    text = "Headline\n\nLine one.\nLine two.\n\nLast paragraph."
    assert paras(text) == ["Headline", "Line one.", "Line two.", "Last paragraph."]


def test_hard_wrapped_block_is_one_paragraph():
    spans = split_paragraphs(WRAPPED)
    assert spans == [Span(0, len(WRAPPED))]


def test_hard_wrapped_block_among_other_layouts():
    text = "Intro line.\n\n" + WRAPPED + "\n\nOne line.\nAnother line."
    got = paras(text)
    assert got == ["Intro line.", WRAPPED, "One line.", "Another line."]
    assert_offsets(text)


def test_short_lines_with_terminal_punctuation_are_not_joined():
    # three lines but each ends a sentence: not hard-wrapped
    text = (
        "The ministry said on Monday that about 9,000 troops arrived.\n"
        "Officials in the capital described the deployment as defensive.\n"
        "The drills are expected to last about a month, they said."
    )
    assert len(split_paragraphs(text)) == 3


def test_leading_and_trailing_whitespace_trimmed():
    text = "   \n\n  First para.  \n\t Second para.\t\n\n   \n"
    spans = assert_offsets(text)
    assert [text[s.start:s.end] for s in spans] == ["First para.", "Second para."]
    assert spans[0].start == text.index("First")


def test_crlf_remnants_are_trimmed():
    assert paras("a line\r\nanother line\r\n") == ["a line", "another line"]


@pytest.mark.parametrize("text", ["", "\n", "   \n\n \t\n"])
def test_empty_or_blank_text_has_no_paragraphs(text):
    assert split_paragraphs(text) == []


def test_text_is_not_edited():
    text = "  “Quoted”  head  \n\nBody   with   spaces."
    assert paras(text) == ["“Quoted”  head", "Body   with   spaces."]


def test_offsets_invariant_on_seed_files(seed_texts):
    assert seed_texts, "no seed files found"
    for name, text in seed_texts.items():
        spans = assert_offsets(text)
        assert spans, name
        # every non-blank line of the seed lies inside some paragraph
        covered = "".join(text[s.start:s.end] for s in spans)
        for line in text.split("\n"):
            if line.strip():
                assert line.strip() in covered, (name, line)


def test_an_over_long_line_is_cut_at_table_cells_and_sentence_ends():
    """A layout table an HTML extractor flattened into one line of " | " cells (40,000
    characters, no newline) becomes the cells, the long cell cut after sentence ends; the
    offsets stay exact and nothing but separators and spaces is left out."""
    from pipeline.paragraphs import LINE_PIECE_CHARS, LONG_LINE_CHARS

    story = " ".join(["The senate met on Thursday and approved the budget for the coming year."] * 560)
    text = "Title\n\n|  | Home | About us | " + story + " | Copyright 2001 |"
    assert len(text) > LONG_LINE_CHARS
    spans = assert_offsets(text)
    got = [text[s.start:s.end] for s in spans]
    assert got[:4] == ["Title", "Home", "About us", got[3]] and got[-1] == "Copyright 2001"
    body = got[3:-1]
    assert len(body) > 10 and all(p.endswith(".") for p in body)
    assert all(len(p) <= LINE_PIECE_CHARS + 200 for p in body)
    assert " ".join(body) == story
    # a line up to the limit, and one without any place to cut, stay whole
    assert paras("x " * 5000) == [("x " * 5000).strip()]
    assert paras("x" * (LONG_LINE_CHARS + 10)) == ["x" * (LONG_LINE_CHARS + 10)]
