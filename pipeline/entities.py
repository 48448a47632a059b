"""Named entities of claims and their corpus-wide canonical names.

`canonical` is one name per entity across the corpus: possessives and a leading
"the" are stripped ("Russia's" -> "Russia"), and a person's bare surname is merged
into the full name seen elsewhere ("Deyneko" -> "Serhiy Deyneko") when that surname
belongs to exactly one full name in the corpus.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable

NAMED_LABELS = frozenset(
    {"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE"}
)
_POSSESSIVE = re.compile(r"(?:['’]s|['’])$")
_LEADING_THE = re.compile(r"^the\s+", re.IGNORECASE)
_WS = re.compile(r"\s+")


# title words never taken into a person's name when extending it to the left
TITLE_WORDS = frozenset(
    """president vice prime minister deputy secretary senator sen. rep. representative gov. governor mayor
    mr. mrs. ms. dr. mr mrs ms dr gen. general col. colonel lt. lieutenant maj. major capt. captain sgt. adm.
    admiral commander chief director ambassador spokesman spokeswoman chancellor king queen prince princess
    pope judge justice speaker leader chairman chairwoman sir lord lady mp st. saint former acting""".split()
)


def extend_person_entities(doc) -> None:
    """Give PERSON entities the given name the small model leaves out: in
    "Andrii Demchenko, the spokesman ..." it tags only "Demchenko". Capitalized proper
    nouns right before a PERSON entity (outside any entity, not titles) join it."""
    from spacy.tokens import Span

    ents = list(doc.ents)
    changed = False
    for n, ent in enumerate(ents):
        if ent.label_ != "PERSON":
            continue
        start = ent.start
        sent_start = ent.sent.start if doc.has_annotation("SENT_START") else 0
        while start - 1 >= sent_start and ent.start - start < 2:
            tok = doc[start - 1]
            if not (tok.pos_ == "PROPN" and tok.is_alpha and tok.text[:1].isupper() and not tok.ent_type_
                    and tok.lower_ not in TITLE_WORDS and tok.head.i >= ent.start and tok.head.i < ent.end):
                break
            start -= 1
        if start != ent.start:
            ents[n] = Span(doc, start, ent.end, label="PERSON")
            changed = True
    if changed:
        doc.ents = ents


def base_name(text: str) -> str:
    text = _WS.sub(" ", text).strip(" \t\n,.;:\"“”‘’()")
    text = _POSSESSIVE.sub("", text)
    return _LEADING_THE.sub("", text).strip()


def canonical_names(mentions: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Map every (text, label) mention to its canonical name."""
    bases = {m: base_name(m[0]) or m[0] for m in dict.fromkeys(mentions)}  # each distinct mention once
    full_by_surname: dict[str, Counter] = defaultdict(Counter)
    for (_text, label), base in bases.items():
        words = base.split()
        if label == "PERSON" and len(words) >= 2:
            full_by_surname[words[-1].casefold()][base] += 1
    out = {}
    for (text, label), base in bases.items():
        canonical = base
        if label == "PERSON" and len(base.split()) == 1:
            fulls = full_by_surname.get(base.casefold())
            if fulls and len(fulls) == 1:
                canonical = next(iter(fulls))
        out[(text, label)] = canonical
    return out
