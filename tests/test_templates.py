from __future__ import annotations

import pytest

from pipeline.boilerplate import BoilerplateConfig, classify
from pipeline.templates import TemplateCounter, template_key, template_paragraphs

FOOTER = "The Example Gazette is published by Example Media Ltd, registered in England."


def pages(n: int, start: int = 0) -> dict[str, list[str]]:
    return {f"d{k}": [f"Story number {k} about topic {k} went on for a while.", FOOTER, "Thanks for reading it all."]
            for k in range(start, start + n)}


def test_counter_marks_recurring_paragraphs_only():
    c = TemplateCounter(min_docs=3)
    for did, paras in pages(3).items():
        assert c.update(did, paras)
    assert c.is_template(FOOTER) and c.is_template(FOOTER.upper())
    assert c.is_template("Thanks for reading it all!")
    assert not c.is_template("Story number 1 about topic 1 went on for a while.")
    assert c.count(FOOTER) == 3


def test_update_is_idempotent_per_document_and_counts_once_per_doc():
    c = TemplateCounter(min_docs=2)
    assert c.update("d1", [FOOTER, FOOTER])
    assert not c.update("d1", [FOOTER])
    assert c.count(FOOTER) == 1 and not c.is_template(FOOTER)


def test_min_share_and_min_words():
    c = TemplateCounter(min_docs=2, min_share=0.5)
    for did, paras in pages(2).items():
        c.update(did, paras)
    for k in range(2, 6):
        c.update(f"x{k}", [f"Other text {k} here and there."])
    assert c.count(FOOTER) == 2 and not c.is_template(FOOTER)  # 2 of 6 documents < 50 %
    c2 = TemplateCounter(min_docs=2)
    c2.update("a", ["Reuters"]), c2.update("b", ["Reuters"])
    assert not c2.is_template("Reuters")  # under min_words


def test_merge_and_json_round_trip():
    a, b = TemplateCounter(min_docs=4), TemplateCounter(min_docs=4)
    for did, paras in pages(2).items():
        a.update(did, paras)
    for did, paras in pages(2, start=2).items():
        b.update(did, paras)
    assert not a.is_template(FOOTER)
    merged = TemplateCounter.from_json(a.to_json()).merge(TemplateCounter.from_json(b.to_json()))
    assert merged.is_template(FOOTER) and merged.n_docs == 4
    assert TemplateCounter.from_json(merged.to_json()).to_json() == merged.to_json()
    with pytest.raises(ValueError):
        merged.merge(a)


def test_template_paragraphs_on_frames_and_classify_hook():
    ps = pages(5)
    doc_ids = [d for d, paras in ps.items() for _ in paras]
    texts = [p for paras in ps.values() for p in paras]
    keys = template_paragraphs(doc_ids, texts, min_docs=5)
    assert keys == {template_key(FOOTER), template_key("Thanks for reading it all.")}
    # the hook of the named rules (the learned model, fitted on real pages, is not what this tests)
    verdicts = classify(ps["d0"], BoilerplateConfig(use_model=False), templates=lambda t: template_key(t) in keys)
    assert [v.reason for v in verdicts] == [None, "site_template", "site_template"]


def test_the_highest_count_follows_updates_and_merges():
    """is_template skips the lookup while no paragraph reaches the bar; the cached
    highest count must follow every update and merge."""
    para = "Subscribe to our newsletter for the latest headlines every single morning"
    counter = TemplateCounter(min_docs=3, min_share=0.0, min_words=3)
    counter.update("d1", [para, "Unique text of the first document here"])
    counter.update("d2", [para])
    assert counter.max_count() == 2 and not counter.is_template(para)
    counter.update("d3", [para])
    assert counter.max_count() == 3 and counter.is_template(para)
    other = TemplateCounter(min_docs=3, min_share=0.0, min_words=3)
    other.update("d4", ["Another paragraph entirely with enough words", "Another one with enough words too"])
    fresh = TemplateCounter(min_docs=3, min_share=0.0, min_words=3)
    fresh.update("d5", [para])
    assert not fresh.is_template(para)
    fresh.merge(counter)
    assert fresh.max_count() == 4 and fresh.is_template(para)
    assert TemplateCounter.from_json(fresh.to_json()).is_template(para)


def test_templates_among_remembers_hashes_by_exact_text_between_runs():
    """`templates_among` answers `is_template` for each text; the hashes it computed are
    kept by the exact text's digest (and saved with the counter), so the next run
    normalizes only new texts; texts gone from the corpus are forgotten."""
    import json

    c = TemplateCounter(min_docs=3)
    for did, paras in pages(4).items():
        c.update(did, paras)
    texts = [FOOTER, "Story number 1 about topic 1 went on for a while.", "Thanks for reading it all.", "Too short"]
    assert c.templates_among(texts) == [c.is_template(t) for t in texts] == [True, False, True, False]
    assert len(c.by_text) == 4 and None in c.by_text.values()  # "Too short" is under min_words
    again = TemplateCounter.from_json(c.to_json())
    assert again.by_text == c.by_text
    calls = []
    original = again._hash_of
    again._hash_of = lambda text: calls.append(text) or original(text)
    changed = texts[:2] + ["Thanks for reading it all, again."]
    assert again.templates_among(changed) == [True, False, False]
    assert calls == ["Thanks for reading it all, again."]  # only the new text was normalized
    assert len(again.by_text) == 3  # the two texts no longer present were forgotten
    # a counter file written before the memo existed still loads
    old = json.loads(c.to_json())
    del old["by_text"]
    assert TemplateCounter.from_json(json.dumps(old)).by_text == {}


def test_corpus_documents_remember_text_keys_by_exact_text():
    import pandas as pd

    from pipeline import build

    docs = pd.DataFrame({
        "doc_id": ["a", "b", "c"], "source_path": ["a.txt", "b.txt", "c.txt"],
        "ingested_at": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"], utc=True),
        "text": ["Same words, here!", "same   words here", "Other words."], "status": ["ok", "ok", "ok"],
        "reason": [None] * 3, "duplicate_of": [None] * 3, "also_seen_at": [None] * 3,
    })
    digests: dict[str, str] = {"stale": "x"}
    out = build.corpus_documents(docs, digests)
    assert out["status"].tolist() == ["ok", "duplicate", "ok"] and out["duplicate_of"].tolist()[1] == "a"
    assert "stale" not in digests and len(digests) == 3
    assert digests[_exact("Same words, here!")] == build.text_digest("same words here")
    assert build.corpus_documents(docs, digests).equals(build.corpus_documents(docs))  # memo or not, same rows


def _exact(text: str) -> str:
    from pipeline.text import exact_digest

    return exact_digest(text)


def test_site_templates_with_no_kept_paragraph_in_the_corpus():
    """A corpus whose paragraphs are all removed (every file a one-line boilerplate item) has
    nothing to count: no error, nothing marked."""
    import pandas as pd

    from pipeline.build import mark_site_templates
    from pipeline.templates import TemplateCounter

    paras = pd.DataFrame({"doc_id": ["a", "b"], "status": ["boilerplate", "duplicate"], "reason": ["navigation", None],
                          "text": ["Home | News", "Home | News"]})
    mark_site_templates(paras, TemplateCounter())
    assert paras["status"].tolist() == ["boilerplate", "duplicate"]


def test_extracted_pages_are_counted_but_never_marked():
    """`mark_site_templates(..., exempt)`: paragraphs of exempt documents (HTML pages an older
    warehouse cut to their article with the extractor) count towards the templates of the
    others but stay kept themselves."""
    import pandas as pd

    from pipeline.build import mark_site_templates

    footer = "Sign up to the Example Gazette morning briefing today"
    rows = []
    for d in range(6):
        for n, text in enumerate([f"Story number {d} about the bridge and the council.", footer]):
            rows.append({"doc_id": f"d{d}", "ordinal": n, "text": text, "status": "kept", "reason": None})
    paras = pd.DataFrame(rows)
    mark_site_templates(paras, TemplateCounter(min_docs=5), exempt={"d0", "d1"})
    marked = paras[paras["status"] == "boilerplate"]
    assert sorted(marked["doc_id"]) == ["d2", "d3", "d4", "d5"]
    assert set(marked["reason"]) == {"site_template"} and set(marked["text"]) == {footer}


def test_site_templates_never_strip_a_document_of_all_its_prose():
    """A document whose only prose recurs across the corpus (a story reprinted on many pages,
    pages sharing one body) keeps it; the recurring footer of a document with prose of its own
    is still marked."""
    import pandas as pd

    from pipeline.build import mark_site_templates

    body = "The council met on Tuesday and agreed to rebuild the old bridge over the river next spring."
    footer = "Sign up to the Example Gazette morning briefing today"
    rows = []
    for d in range(6):
        texts = ["Lorem", body] if d < 3 else [f"Story number {d} about the bridge and the council.", footer]
        if d < 3:
            texts.append(footer)
        for n, text in enumerate(texts):
            rows.append({"doc_id": f"d{d}", "ordinal": n, "text": text, "status": "kept", "reason": None,
                         "n_words": len(text.split())})
    # the body recurs in d0-d2 only: make it a template by the counts (min_docs=3)
    paras = pd.DataFrame(rows)
    mark_site_templates(paras, TemplateCounter(min_docs=3))
    kept_body = paras[paras["text"] == body]
    assert (kept_body["status"] == "kept").all()  # d0-d2 have no other prose: the body stays
    marked = paras[paras["status"] == "boilerplate"]
    assert set(marked["text"]) == {footer} and sorted(marked["doc_id"]) == ["d3", "d4", "d5"]


def test_documents_with_prose_look_at_every_paragraph_up_to_the_first_prose_one():
    """The site-template guard's question, per document: is any of its paragraphs prose?
    A document whose prose comes after headings and labels counts; one of labels only not."""
    from pipeline.build import _documents_with_prose

    prose = "The council met on Tuesday and agreed to rebuild the old bridge over the river next spring."
    doc_ids = ["late", "late", "late", "labels", "labels", "first", "first"]
    texts = ["Local news", "Share this", prose, "Local news", "Weather", prose, "Read more"]
    assert _documents_with_prose(doc_ids, texts) == {"late", "first"}
    assert _documents_with_prose([], []) == set()


def test_only_html_pages_without_their_whole_text_are_exempt():
    """A page ingested now has its whole text and the extractor's article beside it: its
    templates are marked like a text file's. A page of an older warehouse (no article_text:
    its text is the extractor's output) stays exempt."""
    import pandas as pd

    from pipeline.build import extracted_documents

    docs = pd.DataFrame({"doc_id": ["old", "new", "txt"], "source_format": ["html", "html", "txt"],
                         "article_text": [None, "The article.", None]})
    assert extracted_documents(docs) == {"old"}
    assert extracted_documents(docs.drop(columns="article_text")) == {"old", "new"}
    assert extracted_documents(docs.drop(columns=["article_text", "source_format"])) == set()


def test_would_cross_says_whether_new_documents_make_an_earlier_paragraph_a_template():
    footer = "Follow us on social media for the latest updates"
    counter = TemplateCounter(min_docs=3)
    counter.update("d1", [footer, "A story about the harbour and its ferries."])
    counter.update("d2", [footer, "The council voted on the new library budget."])
    # a third copy of the footer reaches the bar: the paragraphs of d1 and d2 change
    assert counter.would_cross({"d3": [footer, "Rain is expected all week in the north."]})
    # documents already counted are skipped, as `update` skips them
    assert not counter.would_cross({"d1": [footer]})
    # paragraphs below the bar, or above it already, change nothing earlier
    assert not counter.would_cross({"d3": ["Rain is expected all week in the north."]})
    counter.update("d3", [footer])
    assert counter.is_template(footer)
    assert not counter.would_cross({"d4": [footer, "Markets rose on Friday after the report."]})
    # two new documents together can cross it
    assert counter.would_cross({"d5": ["Sign up for our weekly newsletter today"],
                                "d6": ["Sign up for our weekly newsletter today"],
                                "d7": ["Sign up for our weekly newsletter today"]})
    # a bar that grows with the corpus moves with every new document
    share = TemplateCounter(min_docs=2, min_share=0.5)
    share.update("d1", ["Some paragraph of three words or more"])
    assert share.would_cross({"d2": ["Another paragraph with enough words"]})
