"""The learned paragraph model: labels, features, the shipped artifact, edge cases."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from pipeline import boilerplate, boilerplate_model
from pipeline.boilerplate import MODEL_REASON, BoilerplateConfig, classify

ARTICLE = [
    "Council approves new budget for city parks",
    "The city council voted on Tuesday to approve a budget that sets aside more money for the "
    "maintenance of parks and playgrounds, after months of debate among its members.",
    "The plan, which the mayor proposed in March, raises spending on green spaces by a fifth and "
    "pays for two new community gardens in the north of the city.",
    "Opponents said the money would be better spent on roads, but the measure passed by seven votes "
    "to four, and work on the first garden is expected to begin in the spring.",
    "A spokesperson for the council said the budget would be published in full next week, together "
    "with a timetable for the works and a consultation for residents.",
]
MENU = ["Home", "|", "News", "|", "Sport", "|", "Weather", "Log In | Register", "Search"]
FOOTER = ["About us", "Contact", "Privacy Policy", "Terms of Use", "© 2012 Example Media. All rights reserved."]


def test_labels_align_paragraphs_with_gold():
    from eval.train_boilerplate import paragraph_labels

    gold = "The quick brown fox jumps over the lazy dog near the river bank.\n\nIt was sunny."
    paragraphs = ["Home | News | Sport", "The quick brown fox jumps over the lazy dog near the river bank.",
                  "It was sunny.", "Share this story", "", "the lazy dog near the park and the lake"]
    # the last one shares one shingle of six with the gold: boilerplate
    assert paragraph_labels(paragraphs, gold) == [0, 1, 1, 0, 0, 0]
    assert paragraph_labels(["anything"], "") == [0]


def test_features_of_a_tiny_page():
    page = MENU + ARTICLE + FOOTER
    x, names = boilerplate.model_features(page)
    assert x.shape == (len(page), len(names)) and np.isfinite(x).all()
    col = {n: i for i, n in enumerate(names)}
    assert x[0, col["rel_pos"]] == 0.0 and x[-1, col["rel_pos"]] == 1.0
    # the menu line with separators, the prose paragraphs
    menu = page.index("Log In | Register")
    assert x[menu, col["separator_per_word"]] > 0
    body = [page.index(p) for p in ARTICLE[1:]]
    assert all(x[i, col["prose"]] == 1.0 and x[i, col["stop_ratio"]] > 0.3 for i in body)
    assert all(x[i, col["prose"]] == 0.0 for i in range(len(MENU)))
    # a run of short lines is counted, the copyright rule is seen
    assert x[0, col["short_run"]] == pytest.approx(np.log1p(len(MENU)))
    assert x[len(page) - 1, col["rule_copyright"]] == 1.0


def test_shipped_model_loads_quickly_and_matches_the_features():
    boilerplate_model.load_model.cache_clear()
    t0 = time.perf_counter()
    model = boilerplate_model.load_model()
    elapsed = time.perf_counter() - t0
    assert model is not None, "pipeline/models/boilerplate_model.json is missing"
    assert elapsed < 1.0  # ~0.02 s on an idle machine; generous for a loaded CI box
    _x, names = boilerplate.model_features(ARTICLE)
    assert model.feature_names == names
    assert 0.0 < model.threshold < 1.0


def test_model_classifies_a_fixture_page():
    page = MENU + ARTICLE + FOOTER
    out = classify(page)
    assert len(out) == len(page)
    verdicts = dict(zip(page, out))
    for p in ARTICLE[1:]:
        assert verdicts[p].reason is None, p
    assert verdicts["Log In | Register"].reason is not None
    assert verdicts["© 2012 Example Media. All rights reserved."].reason == "copyright"
    # every dropped paragraph names a rule or the model
    reasons = {v.reason for v in out if v.reason}
    assert reasons and all(isinstance(r, str) and r for r in reasons)
    # with the model switched off, the rules alone decide
    rules = classify(page, BoilerplateConfig(use_model=False))
    assert all(r.reason != MODEL_REASON for r in rules)


@pytest.mark.parametrize("page", [[], [""], ["Hello."], ["A single line of text without an end"], ["|"]])
def test_empty_or_one_line_page_does_not_crash(page):
    out = classify(page)
    assert len(out) == len(page)
    model = boilerplate_model.load_model()
    doc = boilerplate.rule_document(page, BoilerplateConfig(use_model=False))
    proba = model.content_proba(doc)
    assert proba.shape == (len(page),) and ((proba >= 0) & (proba <= 1)).all()


def test_paragraph_stage_offsets_and_reasons_on_a_web_dump():
    from pipeline.build import paragraphs_table

    text = "\n\n".join(MENU + ARTICLE + FOOTER) + "\n"
    docs = pd.DataFrame([{"doc_id": "d1", "status": "ok", "text": text}])
    paras = paragraphs_table(docs)
    assert len(paras) == len(MENU + ARTICLE + FOOTER)
    assert all(text[a:b] == t for a, b, t in zip(paras["char_start"], paras["char_end"], paras["text"]))
    dropped = paras[paras["status"] != "kept"]
    assert dropped["reason"].notna().all()
    assert set(ARTICLE[1:]) <= set(paras.loc[paras["status"] == "kept", "text"])


def test_page_features_find_the_main_block_and_the_headline():
    teasers = ["The striker scored twice as the club won the cup final in front of a record crowd.",
               "The film festival opened with a premiere attended by hundreds of fans and critics."]
    page = MENU + ARTICLE + ["Related stories"] + teasers + FOOTER
    x, names = boilerplate.model_features(page)
    col = {n: i for i, n in enumerate(names)}
    body = [page.index(p) for p in ARTICLE[1:]]
    title = page.index(ARTICLE[0])
    assert all(x[i, col["in_main_block"]] == 1.0 for i in body)
    assert x[0, col["in_main_block"]] == 0.0 and x[0, col["before_main_block"]] > 0
    assert x[len(page) - 1, col["after_main_block"]] > 0
    # the headline and the distance to it
    assert x[title, col["is_title"]] == 1.0 and x[:, col["is_title"]].sum() == 1.0
    assert x[title + 1, col["from_title"]] > 0 > x[0, col["from_title"]]
    assert (x[:, col["has_title"]] == 1.0).all()
    # article paragraphs share their words with the rest of the article, teasers hardly
    assert min(x[i, col["main_overlap"]] for i in body[1:]) > max(x[page.index(t), col["main_overlap"]] for t in teasers)


def test_second_pass_distance_to_probable_content():
    first = np.zeros((5, 2))
    x2, names = boilerplate_model.second_pass_features(first, np.array([0.1, 0.9, 0.2, 0.2, 0.8]))
    assert x2.shape == (5, 2 + len(names))
    col = {n: 2 + i for i, n in enumerate(names)}
    # paragraph 2: probable content one before, two after
    assert x2[2, col["p_dist_before"]] == pytest.approx(np.log1p(1))
    assert x2[2, col["p_dist_after"]] == pytest.approx(np.log1p(2))
    # none before paragraph 0: farther than the page
    assert x2[0, col["p_dist_before"]] == pytest.approx(np.log1p(6))


def test_override_policy_keeps_hard_rules_and_names_every_drop():
    """With `model_overrides_rules` the model may keep a paragraph a soft rule claimed (only
    from `override_threshold` on), never one a hard rule claimed; every drop has a reason.
    By default (off) every rule's verdict stands."""
    model = boilerplate_model.load_model()
    assert not BoilerplateConfig().model_overrides_rules
    page = MENU + ARTICLE + ["Related stories", "Leave a comment"] + FOOTER
    doc = boilerplate.rule_document(page, BoilerplateConfig(use_model=False))
    proba = model.content_proba(doc)
    out = classify(page, BoilerplateConfig(model_overrides_rules=True))
    for rule, verdict, p in zip(doc.reasons, out, proba):
        if rule is None:
            continue
        if rule.split(":", 1)[0] in model.hard_rules:
            assert verdict.reason == rule
        elif verdict.reason is None:
            assert p >= model.override_threshold
        else:
            assert verdict.reason == rule
    remove_only = classify(page)
    for rule, verdict in zip(doc.reasons, remove_only):
        if rule is not None:
            assert verdict.reason == rule


def test_the_model_never_empties_a_page_the_rules_kept_something_of():
    """A one-line item (a short news brief) has no page around it to judge against: whatever
    the model's probability, the rules' verdict stands when the model would remove it all."""
    for page in (["Officials said on Monday that 500 soldiers arrived in Minsk."],
                 ["Officials said on Monday that 500 soldiers arrived in Minsk.", "Share this"]):
        verdicts = classify(page, BoilerplateConfig())
        rules = classify(page, BoilerplateConfig(use_model=False))
        assert any(v.reason is None for v in verdicts), verdicts
        assert [v.reason for v in verdicts][0] == [v.reason for v in rules][0] is None


# ------------------------------------------------------------------ HTML pages: the extractor's article beside the page


def test_article_features_of_a_tiny_page():
    from pipeline.boilerplate_model import ARTICLE_FEATURES, article_features

    page = ["Home", ARTICLE[1], "Contact us"]
    x, names = article_features(page, "Council approves new budget.\n" + ARTICLE[1])
    assert names == list(ARTICLE_FEATURES) and x.shape == (3, len(ARTICLE_FEATURES))
    col = dict(zip(names, x.T))
    assert col["in_article"].tolist() == [0.0, 1.0, 0.0]
    assert col["in_article_near1"][0] == pytest.approx(0.5) and col["in_article_near1"][1] == pytest.approx(1 / 3)
    tokens = [1, len(ARTICLE[1].replace(",", " ").replace(".", " ").split()), 2]
    assert col["page_in_article"][0] == pytest.approx(tokens[1] / sum(tokens))
    assert col["no_article"].tolist() == [0.0, 0.0, 0.0]
    assert col["article_so_far"].tolist() == pytest.approx([0.0, 1 / 3, 1 / 3])
    # a short paragraph counts when its whole token run is in the article
    x, _ = article_features(["Council approves", "approves Council"], "Council approves new budget")
    assert x[:, 0].tolist() == [1.0, 0.0]
    # no article at all; no paragraph at all
    x, _ = article_features(page, "  ")
    assert x[:, 0].tolist() == [0.0, 0.0, 0.0] and x[:, names.index("no_article")].tolist() == [1.0, 1.0, 1.0]
    assert article_features([], "text")[0].shape == (0, len(ARTICLE_FEATURES))


def test_shipped_html_model_reads_the_article_and_keeps_it():
    boilerplate_model.load_model.cache_clear()
    t0 = time.perf_counter()
    model = boilerplate_model.load_model(str(boilerplate_model.HTML_MODEL_PATH))
    assert model is not None, "pipeline/models/boilerplate_model_html.json is missing"
    assert time.perf_counter() - t0 < 1.0
    assert model.reads_article and not boilerplate_model.load_model().reads_article
    page = MENU + ARTICLE + FOOTER
    out = classify(page, article_text="\n".join(ARTICLE))
    assert len(out) == len(page)
    verdicts = dict(zip(page, out))
    for p in ARTICLE[1:]:
        assert verdicts[p].reason is None, p
    assert verdicts["Log In | Register"].reason is not None
    doc = boilerplate.rule_document(page, BoilerplateConfig(use_model=False))
    with pytest.raises(ValueError, match="extracted article"):
        model.content_proba(doc)


@pytest.mark.parametrize("page", [[], [""], ["Hello."], ["|"]])
@pytest.mark.parametrize("article", ["", "Hello."])
def test_html_model_on_empty_or_one_line_pages(page, article):
    out = classify(page, article_text=article)
    assert len(out) == len(page)


def test_paragraph_stage_on_a_whole_html_page():
    """A page ingested now: its text is the whole page and trafilatura's article is beside
    it. The menu is marked with a reason, the article kept, offsets exact."""
    from pipeline.build import paragraphs_table
    from pipeline.ingest import parse_bytes

    html = ("<html><head><title>Council approves new budget</title></head><body><nav>"
            + "".join(f"<a href='/{m}'>{m}</a><br>" for m in ("Home", "News", "Sport", "Weather"))
            + "</nav><article><h1>" + ARTICLE[0] + "</h1>" + "".join(f"<p>{p}</p>" for p in ARTICLE[1:])
            + "</article><footer>" + "".join(f"<p>{f}</p>" for f in FOOTER) + "</footer></body></html>")
    rec = parse_bytes(html.encode(), "page.html", "html")
    docs = pd.DataFrame([{"doc_id": "d1", "status": "ok", "text": rec.text, "source_format": "html",
                          "article_text": rec.article_text}])
    paras = paragraphs_table(docs)
    assert all(rec.text[a:b] == t for a, b, t in zip(paras["char_start"], paras["char_end"], paras["text"]))
    kept = set(paras.loc[paras["status"] == "kept", "text"])
    assert set(ARTICLE[1:]) <= kept
    assert "© 2012 Example Media. All rights reserved." not in kept
    assert paras.loc[paras["status"] != "kept", "reason"].notna().all()
