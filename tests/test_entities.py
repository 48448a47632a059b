"""pipeline.entities: base names and corpus-wide canonical names."""
from __future__ import annotations

import pytest

from pipeline.entities import base_name, canonical_names


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Russia's", "Russia"),
        ("Russia’s", "Russia"),
        ("Belarus’", "Belarus"),
        ("Belarus'", "Belarus"),
        ("the Kremlin", "Kremlin"),
        ("The Belarusian Defense Ministry", "Belarusian Defense Ministry"),
        ("the Kremlin's", "Kremlin"),
        ("  Serhiy\n  Deyneko, ", "Serhiy Deyneko"),
        ("“NATO”", "NATO"),
        ("Theodore Roosevelt", "Theodore Roosevelt"),  # "The" only as a whole word
        ("Ukraine", "Ukraine"),
    ],
)
def test_base_name(text, expected):
    assert base_name(text) == expected


def test_surname_merges_into_unique_full_name():
    mentions = [("Serhiy Deyneko", "PERSON"), ("Deyneko", "PERSON"), ("Deyneko's", "PERSON"), ("Russia's", "GPE")]
    out = canonical_names(mentions)
    assert out == {
        ("Serhiy Deyneko", "PERSON"): "Serhiy Deyneko",
        ("Deyneko", "PERSON"): "Serhiy Deyneko",
        ("Deyneko's", "PERSON"): "Serhiy Deyneko",
        ("Russia's", "GPE"): "Russia",
    }


def test_full_name_variants_count_as_one_full_name():
    # the possessive of the full name is the same person, so the surname is still unambiguous
    out = canonical_names([("Serhiy Deyneko", "PERSON"), ("Serhiy Deyneko's", "PERSON"), ("Deyneko", "PERSON")])
    assert out[("Deyneko", "PERSON")] == "Serhiy Deyneko"
    assert out[("Serhiy Deyneko's", "PERSON")] == "Serhiy Deyneko"


def test_surname_case_insensitive():
    out = canonical_names([("Serhiy Deyneko", "PERSON"), ("DEYNEKO", "PERSON")])
    assert out[("DEYNEKO", "PERSON")] == "Serhiy Deyneko"


def test_ambiguous_surname_is_left_alone():
    mentions = [("Serhiy Deyneko", "PERSON"), ("Andriy Deyneko", "PERSON"), ("Deyneko", "PERSON")]
    out = canonical_names(mentions)
    assert out[("Deyneko", "PERSON")] == "Deyneko"
    assert out[("Serhiy Deyneko", "PERSON")] == "Serhiy Deyneko"
    assert out[("Andriy Deyneko", "PERSON")] == "Andriy Deyneko"


def test_only_persons_are_merged():
    # a one-word ORG/GPE is not a surname, and a multi-word ORG does not provide one
    out = canonical_names([("Lukashenko", "ORG"), ("Alexander Lukashenko", "PERSON"),
                           ("Minsk", "GPE"), ("Radio Minsk", "ORG")])
    assert out[("Lukashenko", "ORG")] == "Lukashenko"
    assert out[("Minsk", "GPE")] == "Minsk"
    out = canonical_names([("Minsk", "PERSON"), ("Radio Minsk", "ORG")])
    assert out[("Minsk", "PERSON")] == "Minsk"


def test_no_full_name_keeps_surname():
    assert canonical_names([("Deyneko", "PERSON")]) == {("Deyneko", "PERSON"): "Deyneko"}


def test_empty_base_falls_back_to_text():
    # canonical must never be empty (the claim_entities suite requires length >= 1)
    assert base_name("'s") == ""
    assert canonical_names([("'s", "ORG")]) == {("'s", "ORG"): "'s"}


def test_person_entity_extended_to_given_name(nlp):
    from pipeline.entities import extend_person_entities

    doc = nlp("Andrii Demchenko, the spokesman for the State Border Guard Service, spoke in Kyiv.")
    extend_person_entities(doc)
    assert "Andrii Demchenko" in [e.text for e in doc.ents if e.label_ == "PERSON"]
    doc = nlp("Belarusian President Alexander Lukashenko said so.")
    extend_person_entities(doc)
    assert all(not e.text.startswith("President") for e in doc.ents)
