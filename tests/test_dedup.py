from __future__ import annotations



from pipeline.dedup import MIN_CONTAINED_WORDS, Repeat, across_documents, within_document

P = "The ministry said that about 9,000 troops would arrive over the next week."
P_VARIANT = "the MINISTRY said that about 9,000 troops — would arrive over the next week!"
QUOTE = "“Troops will arrive within days,” the ministry said on Monday."
LONG = (
    "Officials said: Troops will arrive within days, the ministry said on Monday, "
    "and the drills would last a month."
)
BODY = "Neighbouring countries raised their alert levels and asked for observers."


# ---------------------------------------------------------------- within_document: exact
def test_exact_repeat_points_at_first_copy():
    out = within_document([P, BODY, P], [True, True, True])
    assert out == [None, None, Repeat(0, "exact_repeat")]


def test_exact_repeat_after_normalization():
    # case, punctuation, quotes and dashes do not matter
    out = within_document([P, P_VARIANT, P], [True] * 3)
    assert out[0] is None
    assert out[1] == Repeat(0, "exact_repeat")
    assert out[2] == Repeat(0, "exact_repeat")


def test_short_exact_repeats_are_matched_too():
    out = within_document(["Read more", "Body text here.", "read more."], [True] * 3)
    assert out == [None, None, Repeat(0, "exact_repeat")]


def test_distinct_paragraphs_are_not_repeats():
    assert within_document([P, BODY, QUOTE], [True] * 3) == [None, None, None]


def test_ineligible_paragraphs_ignored():
    # an ineligible first copy is not a target; the eligible one becomes the first copy
    assert within_document([P, P, P], [False, True, True]) == [None, None, Repeat(1, "exact_repeat")]
    # an ineligible later copy is not marked
    assert within_document([P, P], [True, False]) == [None, None]


def test_paragraphs_without_words_ignored():
    assert within_document(["", "!!!", "—", "???"], [True] * 4) == [None] * 4


# ---------------------------------------------------------------- within_document: containment
def test_pull_quote_contained_in_later_paragraph():
    out = within_document([QUOTE, BODY, LONG], [True] * 3)
    assert out == [Repeat(2, "contained_repeat"), None, None]


def test_pull_quote_contained_in_earlier_paragraph():
    out = within_document([LONG, BODY, QUOTE], [True] * 3)
    assert out == [None, None, Repeat(0, "contained_repeat")]


def test_containment_needs_min_words():
    short = "Troops will arrive within days."  # 5 words < MIN_CONTAINED_WORDS
    assert len(short.split()) < MIN_CONTAINED_WORDS
    out = within_document([short, LONG], [True, True])
    assert out == [None, None]


def test_containment_with_exactly_min_words():
    words = "one two three four five six seven eight".split()[:MIN_CONTAINED_WORDS]
    inner = " ".join(words)
    outer = f"Before that, {inner}, and after."
    assert within_document([inner, outer], [True, True]) == [Repeat(1, "contained_repeat"), None]


def test_containment_respects_word_boundaries():
    inner = "the troops will arrive within the next few days"
    outer = "Officials said that the troops will arrive within the next few dayslong period."
    assert within_document([inner, outer], [True, True]) == [None, None]


def test_containing_paragraph_must_be_eligible():
    out = within_document([QUOTE, LONG], [True, False])
    assert out == [None, None]


def test_containment_points_at_first_copy_of_container():
    out = within_document([LONG, LONG, QUOTE], [True] * 3)
    assert out == [None, Repeat(0, "exact_repeat"), Repeat(0, "contained_repeat")]


def test_repeat_targets_are_never_repeats_themselves():
    out = within_document([QUOTE, LONG, QUOTE], [True] * 3)
    assert out[0] == Repeat(1, "contained_repeat")
    for rep in out:
        if rep is not None:
            assert out[rep.index] is None


# ---------------------------------------------------------------- across_documents
def test_across_documents_marks_later_document():
    out = across_documents(
        ["p1", "p2", "p3", "p4"], ["d1", "d1", "d2", "d2"], [P, BODY, P_VARIANT, "Other words here now."], [True] * 4
    )
    assert out == [None, None, "p1", None]


def test_across_documents_same_document_not_marked():
    assert across_documents(["p1", "p2"], ["d1", "d1"], [P, P], [True, True]) == [None, None]


def test_across_documents_points_at_first_occurrence():
    out = across_documents(["p1", "p2", "p3"], ["d1", "d2", "d3"], [P, P, P], [True] * 3)
    assert out == [None, "p1", "p1"]


def test_across_documents_ignores_not_kept():
    out = across_documents(["p1", "p2", "p3"], ["d1", "d2", "d3"], [P, P, P], [False, True, True])
    assert out == [None, None, "p2"]
    assert across_documents(["p1", "p2"], ["d1", "d2"], [P, P], [True, False]) == [None, None]


def test_across_documents_ignores_short_paragraphs():
    four = "Four words only here"
    assert across_documents(["p1", "p2"], ["d1", "d2"], [four, four.upper()], [True, True]) == [None, None]
    five = "Five words are right here"
    assert across_documents(["p1", "p2"], ["d1", "d2"], [five, five], [True, True]) == [None, "p1"]


def test_across_documents_empty():
    assert across_documents([], [], [], []) == []


# ---------------------------------------------------------------- within_document: near-repeats
def test_near_repeat_headline_with_small_variation():
    a = "Panic as Russia Drag's Another Neighbor to the Brink of War"
    b = "Panic as Russia Drags Another Neighbour to the Brink of War"
    out = within_document([a, BODY, b], [True] * 3)
    assert out == [None, None, Repeat(0, "near_repeat")]


def test_near_repeat_of_a_rescraped_paragraph_keeps_the_first():
    edited = P.replace("next week", "coming week")
    out = within_document([P, BODY, edited, BODY], [True] * 4)
    assert out == [None, None, Repeat(0, "near_repeat"), Repeat(1, "exact_repeat")]


def test_near_contained_pull_quote():
    quote = "Troops will arrive within days and the drills will last for a whole month, the ministry said."
    long = ("On Monday the ministry said that troops will arrive within days and the drills would last for a "
            "whole month, the ministry said, adding that observers were welcome.")
    out = within_document([quote, BODY, long], [True] * 3)
    assert out == [Repeat(2, "near_contained_repeat"), None, None]


def test_different_paragraphs_are_not_near_repeats():
    a = "The ministry said on Monday that troops would arrive next week for joint drills."
    b = "The opposition said on Tuesday that the drills were a threat to the whole region."
    assert within_document([a, b], [True, True]) == [None, None]


def test_normalize_key_drops_exactly_what_is_neither_alphanumeric_nor_space():
    """The regex in `normalize_key` must mean the same as the per-character rule it replaced."""
    import unicodedata

    from pipeline.text import normalize_key

    def by_character(text: str) -> str:
        text = unicodedata.normalize("NFKC", text).casefold()
        kept = "".join(ch if (ch.isalnum() or ch.isspace()) else " " for ch in text)
        return " ".join(kept.split())

    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    for start in range(0, len(every), 4096):
        chunk = " ".join(every[start:start + 4096])
        assert normalize_key(chunk) == by_character(chunk)
    assert normalize_key("“Up to 9,000” troops—said_the   Ministry.") == "up to 9 000 troops said the ministry"


def test_rows_of_one_pattern_with_other_figures_are_not_near_repeats():
    """Lines of a list, a table or a comment thread differ in their figures: not copies."""
    rows = ["Posted by: Tertia at May 30, 2005 12:57:33 AM", "Posted by: Julie at May 30, 2005 12:56:33 PM",
            "Labour: 419 seats (63.6% of total seats); 43.2% of popular vote",
            "Labour: 46 seats (7.0% of total seats); 16.8% of popular vote"]
    assert within_document(rows, [True] * 4) == [None] * 4
    # the same figures: still a near-repeat
    assert within_document([rows[2], rows[2].replace("Labour", "Labor")], [True, True]) == [None, Repeat(0, "near_repeat")]


def test_the_subsequence_bound_changes_no_verdict(monkeypatch):
    """`_near_repeats` skips difflib where the longest common subsequence (rapidfuzz) shows
    the bar cannot be reached; with the bound switched off, every verdict is the same."""
    import random

    from pipeline import dedup

    rng = random.Random(7)
    vocab = "the council said bridge river spring budget vote mayor plan city park new old 12 30".split()
    base = [" ".join(rng.choice(vocab) for _ in range(rng.randint(5, 30))) for _ in range(60)]
    texts = []
    for t in base:  # near copies: a word dropped, swapped or changed, some pull quotes
        texts.append(t)
        w = t.split()
        r = rng.random()
        if r < 0.3:
            del w[rng.randrange(len(w))]
        elif r < 0.6:
            w[rng.randrange(len(w))] = rng.choice(vocab)
        elif r < 0.8 and len(w) > 10:
            w = w[2:-1]
        texts.append(" ".join(w))
    rng.shuffle(texts)
    eligible = [True] * len(texts)
    with_bound = within_document(texts, eligible)

    class NoBound:
        @staticmethod
        def similarity(a, b):
            return len(a) + len(b)

    monkeypatch.setattr(dedup, "LCSseq", NoBound)
    assert within_document(texts, eligible) == with_bound
    assert sum(r is not None and r.reason.startswith("near") for r in with_bound) >= 10


def test_near_repeats_are_looked_for_within_a_window():
    """On a page longer than NEAR_WINDOW live paragraphs, a near copy is found within the
    window and not beyond it (the search stays linear in the page's length)."""
    from pipeline import dedup

    filler = [f"reader comment number {n} says something else entirely here" for n in range(dedup.NEAR_WINDOW + 50)]
    first = "the council agreed to rebuild the old bridge over the river next spring"
    near = "the council agreed to rebuild the old bridge over the river in spring"
    close = [first] + filler[:10] + [near]
    assert within_document(close, [True] * len(close))[-1] == Repeat(0, "near_repeat")
    far = [first] + filler + [near]
    assert within_document(far, [True] * len(far))[-1] is None
