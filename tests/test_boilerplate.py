from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.boilerplate import (
    RULES,
    BoilerplateConfig,
    ParagraphVerdict,
    classify,
    line_features,
    normalize,
)

SEEDS_DIR = Path(__file__).resolve().parent.parent / "data" / "raw"

BODY = [
    "The defence ministry said on Monday that about 9,000 troops would arrive over the next week.",
    "Officials in the capital described the deployment as purely defensive and said drills would last a month.",
    "Analysts said the move was meant to tie down forces that could otherwise be sent to the front in the south.",
    "The government has not said how long the soldiers will stay, and it declined to comment on their equipment.",
    "Neighbouring countries have raised their own alert levels and asked for international observers at the border.",
    "A spokesman for the border service said that the situation remained under control and that patrols had increased.",
]


def reasons(paragraphs: list[str], **cfg) -> list[str | None]:
    return [v.reason for v in classify(paragraphs, BoilerplateConfig(**cfg))]


def reason_of(line: str) -> str | None:
    """Reason for `line` placed in the middle of an article, between body paragraphs."""
    return reasons(BODY[:3] + [line] + BODY[3:])[3]


def seed(name: str) -> tuple[list[str], list[ParagraphVerdict]]:
    paragraphs = [line.strip() for line in (SEEDS_DIR / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    return paragraphs, classify(paragraphs)


def verdict_for(paragraphs, verdicts, startswith: str) -> ParagraphVerdict:
    matches = [v for p, v in zip(paragraphs, verdicts) if p.startswith(startswith)]
    assert matches, startswith
    return matches[0]


# --------------------------------------------------------------------------- interface


def test_one_verdict_per_paragraph_and_rules_are_named():
    out = classify(BODY + ["", "Scroll Top"])
    assert len(out) == len(BODY) + 2
    assert all(isinstance(v, ParagraphVerdict) for v in out)
    assert classify([]) == []
    assert len({r.__name__ for r in RULES}) == len(RULES)


def test_plain_body_is_kept():
    assert all(v.reason is None and not v.is_heading for v in classify(BODY))


def test_config_is_frozen_with_defaults():
    cfg = BoilerplateConfig()
    with pytest.raises(Exception):
        cfg.max_phrase_words = 3  # type: ignore[misc]


# --------------------------------------------------------------------------- features


def test_normalize_strips_symbols_and_counts():
    assert normalize("» Related Posts:") == "related posts"
    assert normalize("  Comments (12) ") == "comments"
    assert normalize("“Share” THIS ›") == 'share" this'


def test_line_features():
    f = line_features("“The total number will be a little less than 9,000 people.”")
    assert f.terminal and not f.is_bullet
    assert line_features("- 10,200 servicemen have been deployed").is_bullet
    assert not line_features("Russian troop withdrawal").terminal
    assert line_features("https://example.com/a/b").url_share == 1.0
    assert line_features("Not a Cause to Sound Alarm").titlecase_ratio == 1.0


# --------------------------------------------------------------------------- fragments


@pytest.mark.parametrize("line", ["", "   ", "•", "|", "***", "1/5", "— —", "x"])
def test_short_fragment(line):
    assert reason_of(line) == "short_fragment"


# --------------------------------------------------------------------------- phrase families


@pytest.mark.parametrize(
    "line",
    [
        "Skip to main content",
        "Skip to content",
        "Scroll Top",
        "Scroll to top",
        "Back to top ↑",
        "Share this article",
        "Share on Facebook",
        "Share",
        "Facebook Twitter Email",
        "Follow us on Twitter",
        "Print",
        "Print this page",
        "Menu",
        "ADVERTISEMENT",
        "Story continues below advertisement",
        "Home » World » Europe",
        "Next article",
        "Email",
        "Follow",
    ],
)
def test_navigation(line):
    assert reason_of(line) == "navigation"


@pytest.mark.parametrize(
    "line",
    [
        "We use cookies to improve your experience. By continuing to browse you accept our use of cookies.",
        "This website stores cookies on your computer to personalise content. See our privacy policy.",
        "Accept all cookies",
        "Privacy Preferences",
        "Cookie settings",
        "Do not sell my personal information",
    ],
)
def test_cookie_notice(line):
    assert reason_of(line) == "cookie_notice"


@pytest.mark.parametrize(
    "line",
    [
        "Comments",
        "12 Comments",
        "Leave a comment",
        "Leave a Reply",
        "There are no comments yet.",
        "There are 3 comments on this article.",
        "Be the first to comment",
        "You must be logged in to post a comment.",
        "You must become a subscriber or login to view or post comments on this article.",
        "Comments are closed.",
        "Join the conversation",
        "Log in to post comments",
    ],
)
def test_comment_prompt(line):
    assert reason_of(line) == "comment_prompt"


@pytest.mark.parametrize(
    "line",
    [
        "Subscribe",
        "Subscribe now",
        "Sign up for our newsletter",
        "Sign up for our daily briefing newsletter",
        "Log in",
        "Login / Register",
        "Already a subscriber? Log in",
        "Please subscribe to continue reading this article.",
        "Get the latest headlines delivered to your inbox. Enter your email address to sign up.",
    ],
)
def test_subscribe_prompt(line):
    assert reason_of(line) == "subscribe_prompt"


@pytest.mark.parametrize(
    "line",
    [
        "© Copyright IBTimes 2024. All rights reserved.",
        "© 2023 Example Media Group",
        "(c) 2021 The Daily Example",
        "Copyright 2022 Acme News. All Rights Reserved.",
    ],
)
def test_copyright(line):
    assert reason_of(line) == "copyright"


@pytest.mark.parametrize(
    "line",
    [
        "https://twitter.com/someone/status/1582339918285930496",
        "pic.twitter.com/AbCdEf123",
        "https://example.com/a https://example.com/b",
        "Source: https://www.example.org/report.pdf",
    ],
)
def test_bare_url(line):
    assert reason_of(line) == "bare_url"


def test_embed():
    assert reason_of("— Jane Doe (@janedoe) October 17, 2022") == "embed"
    assert reason_of("View this post on Instagram") == "embed"


@pytest.mark.parametrize(
    "line",
    ["Categorized in:", "Tags: Russia, Belarus, Ukraine war", "Filed under: World", "Topics: Europe | Defence"],
)
def test_category_line(line):
    assert reason_of(line) == "category_line"


def test_read_more_link_byline_dateline():
    assert reason_of("READ MORE: Putin warns the West over new sanctions") == "read_more_link"
    assert reason_of("By Jane Doe and John Roe, Reuters") == "byline"
    # the dateline rule's verdict; by default the model may override it (model_overrides_families)
    for line in ("Published October 17, 2022", "5 min read", "Updated 10/17/2022 10:30 GMT"):
        assert reasons(BODY[:3] + [line] + BODY[3:], model_overrides_families=())[3] == "dateline"
        assert reasons(BODY[:3] + [line] + BODY[3:], use_model=False)[3] == "dateline"
    assert reason_of("Analysis: Why Belarus matters") is None


@pytest.mark.parametrize(
    "line",
    [
        # long prose containing boilerplate words is never matched on substrings
        "The ministry said it would share intelligence with allies and print new maps of the border region.",
        "Google said it would stop using third-party cookies in its Chrome browser, citing privacy concerns raised by regulators.",
        "Readers who subscribe to the paper's newsletter received the leaked document before it was published.",
        "The lawsuit alleges copyright infringement dating back to 2019, according to court filings.",
        "By developing this force on the border, Putin is forcing Ukraine to defend that part of the border.",
        "Tags on the crates showed they had been shipped from a depot near Minsk, officials said.",
        "Comments made by the minister on Monday drew sharp criticism from the opposition.",
        "- 10,200 servicemen of Russia's Armed Forces have been deployed in Belarus",
        "Users must register to post comments under the new law, the regulator said.",
        "By Monday, troops had arrived.",
        "Putin denied it.",
        "He said the report was available at the ministry's website, https://example.gov/report, for anyone to read in full.",
    ],
)
def test_prose_is_kept(line):
    assert reason_of(line) is None


# --------------------------------------------------------------------------- headings


def test_headings_between_body_paragraphs():
    paragraphs = [
        "Russia completes troop withdrawal from Belarus",  # title at the top
        BODY[0],
        "Demchenko’s statement",
        BODY[1],
        BODY[2],
        "Not a Cause to Sound Alarm",
        BODY[3],
        "Is Belarus Next?",
        BODY[4],
    ]
    out = classify(paragraphs)
    assert [v.reason for v in out] == [None] * len(paragraphs)
    assert [v.is_heading for v in out] == [True, False, True, False, False, True, False, True, False]


def test_key_points_heading_and_bullets_are_body():
    paragraphs = ["Title Of The Story", "KEY POINTS", "- First point is here", "- Second point is there", *BODY[:2]]
    out = classify(paragraphs)
    assert all(v.reason is None for v in out)
    assert [v.is_heading for v in out] == [True, True, False, False, False, False]


def test_short_sentence_is_body_not_heading():
    out = classify(BODY[:2] + ["Putin denied it."] + BODY[2:3])
    assert out[2] == ParagraphVerdict(reason=None, is_heading=False)


def test_heading_shaped_lines_after_the_body_are_trailing_fragments():
    out = classify(BODY[:4] + ["Look at this", "Some Widget Title"])
    assert [v.reason for v in out[-2:]] == ["trailing_fragment", "trailing_fragment"]
    assert all(v.reason is None for v in out[:4])


def test_headings_only_window_is_kept():
    # e.g. a caller classifying only the first lines of a page to guess its title
    out = classify(["Skip to main content", "Russia Sends Troops To Belarus", "A Subtitle Without Punctuation"])
    assert [v.reason for v in out] == ["navigation", None, None]
    assert out[1].is_heading and out[2].is_heading


# --------------------------------------------------------------------------- page tail


def test_late_marker_starts_tail():
    paragraphs = BODY + ["Related Posts", "Some Other Headline About Something", "Another story you will like"]
    assert reasons(paragraphs)[len(BODY):] == ["page_tail:related"] * 3


def test_tail_catches_long_well_formed_teasers():
    teaser = (
        "Officials said the new bridge would open next year after a long delay. The project, which cost "
        "more than expected, has been criticised by residents who say it will bring more traffic to town."
    )
    paragraphs = BODY + ["You may also like", teaser, teaser.replace("bridge", "tunnel"), teaser.replace("bridge", "road")]
    assert set(reasons(paragraphs)[len(BODY):]) == {"page_tail:recommended"}
    assert reasons(paragraphs)[: len(BODY)] == [None] * len(BODY)


def test_tail_kinds():
    for marker, kind in [
        ("Comments", "comments"),
        ("Popular posts from this blog", "popular"),
        ("Most Read", "popular"),
        ("Trending Now", "popular"),
        ("More from Europe", "recommended"),
        ("Read more", "recommended"),
        ("Related articles", "related"),
    ]:
        assert reasons(BODY + [marker, "Headline One Here", "Headline Two Here"])[len(BODY)] == f"page_tail:{kind}"


def test_related_heading_mid_article_is_kept():
    paragraphs = BODY[:3] + ["Related developments"] + BODY[3:]
    out = classify(paragraphs)
    assert all(v.reason is None for v in out)
    assert out[3].is_heading


def test_early_marker_does_not_cut_the_article():
    paragraphs = BODY[:2] + ["Related coverage"] + BODY[2:] + BODY
    out = reasons(paragraphs)
    assert out[2] == "widget_heading"
    assert out[:2] == [None, None] and out[3:] == [None] * (len(paragraphs) - 3)


def test_marker_without_body_before_is_not_a_tail():
    out = reasons(["Trending", *BODY])
    assert out[0] == "widget_heading"
    assert out[1:] == [None] * len(BODY)


def test_tail_position_is_configurable():
    weak = BODY[:4] + ["Related"] + BODY[4:]
    assert reasons(weak)[5:] == [None, None]  # body follows a bare "Related" before the last quarter
    assert reasons(weak, tail_late_position=0.5)[5:] == ["page_tail:related"] * 2
    strong = BODY[:4] + ["Related Posts"] + BODY[4:]
    assert reasons(strong)[5:] == ["page_tail:related"] * 2  # unambiguous marker in the second half
    assert reasons(strong, tail_strong_marker_position=0.9)[5:] == [None, None]


# --------------------------------------------------------------------------- seed articles


def test_seed_000():
    paragraphs, out = seed("article_000.txt")
    assert verdict_for(paragraphs, out, "Scroll Top").reason == "navigation"
    title = verdict_for(paragraphs, out, "Russia completes troop withdrawal")
    assert title.reason is None and title.is_heading
    for heading in ["Demchenko’s statement", "Russian troop withdrawal", "Absence of Russian mercenaries"]:
        assert verdict_for(paragraphs, out, heading) == ParagraphVerdict(None, True)
    assert verdict_for(paragraphs, out, "The withdrawals are notable").reason is None
    start = paragraphs.index("Related Posts")
    assert all(v.reason == "page_tail:related" for v in out[start:])
    assert all(v.reason is None for v in out[1:start])


def test_seed_001():
    paragraphs, out = seed("article_001.txt")
    assert verdict_for(paragraphs, out, "©").reason == "copyright"
    assert verdict_for(paragraphs, out, "KEY POINTS") == ParagraphVerdict(None, True)
    assert verdict_for(paragraphs, out, "Russia Deploys 10,200 Soldiers").is_heading
    bullets = [v for p, v in zip(paragraphs, out) if p.startswith("- ")]
    assert len(bullets) == 3 and all(v == ParagraphVerdict(None, False) for v in bullets)
    assert all(v.reason is None for v in out[:-1])


def test_seed_002():
    paragraphs, out = seed("article_002.txt")
    assert verdict_for(paragraphs, out, "Categorized in:").reason == "category_line"
    assert verdict_for(paragraphs, out, "Alleged Ukrainian attack") == ParagraphVerdict(None, True)
    assert all(v.reason is None for v in out[:-1])


def test_seed_003():
    paragraphs, out = seed("article_003.txt")
    assert verdict_for(paragraphs, out, "Skip to main content").reason == "navigation"
    assert verdict_for(paragraphs, out, "Panic as Russia").is_heading
    assert verdict_for(paragraphs, out, "Russia is sending as many as 9,000 servicemen").reason is None
    assert verdict_for(paragraphs, out, "“We are not going to attack anyone.").reason is None
    start = paragraphs.index("Comments")
    assert start < len(paragraphs) - 10
    assert all(v.reason and v.reason.startswith("page_tail:") for v in out[start:])
    assert all(v.reason is None for v in out[1:start])


def test_seed_004():
    paragraphs, out = seed("article_004.txt")
    urls = [v for p, v in zip(paragraphs, out) if p.startswith("https://")]
    assert len(urls) == 2 and all(v.reason == "bare_url" for v in urls)
    assert verdict_for(paragraphs, out, "Not a Cause to Sound Alarm") == ParagraphVerdict(None, True)
    assert verdict_for(paragraphs, out, "“The total number will be").reason is None
    start = paragraphs.index("COMMENTS")
    assert [v.reason for v in out[start:]] == ["page_tail:comments"] * 3
    body = [v for p, v in zip(paragraphs[:start], out[:start]) if not p.startswith("https://")]
    assert all(v.reason is None for v in body)


# --------------------------------------------------------------------------- new families


@pytest.mark.parametrize(
    "line, reason",
    [
        ("Image: Getty Images", "photo_credit"),
        ("(Photo by Jane Roe/Reuters)", "photo_credit"),
        ("Image source, AFP", "photo_credit"),
        ("Jane Roe | Political correspondent", "byline"),
        ("News  UK  World  Business  Politics  Sport", "navigation"),
        ("Home · Local · Money · Sport · Lifestyle", "navigation"),
        ("Send this article to a friend", "navigation"),
        ("Reject non-essential cookies", "cookie_notice"),
        ("By using this website you agree to our use of cookies.", "cookie_notice"),
        ("Want more stories like this? Join our weekly newsletter.", "subscribe_prompt"),
        ("Also read - Ministers reject new border plan", "read_more_link"),
        ("Example News is not responsible for the content of external sites.", "copyright"),
    ],
)
def test_generic_families(line, reason):
    assert reason_of(line) == reason


def test_site_name_before_the_title_is_page_header():
    out = reasons(["The Example Gazette", "Ministers agree new plan for the border crossings", *BODY])
    assert out[:2] == ["page_header", None]


def test_off_topic_teasers_after_marker_are_tail_even_when_well_formed():
    body = [
        "The central bank raised interest rates on Thursday, its third rise this year, citing inflation.",
        "The bank said inflation had risen faster than expected because of energy prices and wages.",
        "Economists said the rise in interest rates would slow borrowing and cool the housing market.",
        "The bank governor said further rises in rates were likely if inflation stayed above target.",
        "Mortgage lenders said they would pass the higher interest rates on to borrowers from next month.",
    ]
    teasers = [
        "The striker scored twice as the club won the cup final in front of a record crowd.",
        "The film festival opened with a premiere attended by hundreds of fans and critics.",
    ]
    out = reasons(body + ["Elsewhere on Example News"] + teasers)
    assert out[:5] == [None] * 5
    assert set(out[5:]) == {"page_tail:recommended"}


# --------------------------------------------------------------------------- seeds through the tables

SEED_BOILERPLATE = [  # the furniture listed in ../shared/corpus/README.md, as it occurs in the seeds
    "Scroll Top", "Related Posts", "Leave a comment", "You must be logged in to post a comment.",
    "Privacy Preferences", "When you visit our website", "© Copyright IBTimes", "Categorized in:",
    "Skip to main content", "Comments", "Popular posts from this blog", "Prince Harry's new heartbreak",
    "Look at this", "King Charles Is Allowing", "Meghan Markle", "Prince Louis", "The real reason Sarah Ferguson",
    "DEADLY CRASH", "What Prince William", "Prince William's 'cute six'", "https://twitter.com/",
    "COMMENTS", "There are on this article.", "You must become a subscriber",
]


def test_seeds_kept_text_is_the_article_once():
    from pipeline.build import documents_table, paragraphs_table

    docs = documents_table(SEEDS_DIR)
    paras = paragraphs_table(docs)
    ok = docs[docs["status"] == "ok"]
    assert len(ok) == 5
    # provenance: every paragraph has a status, offsets into the untouched text
    texts = dict(zip(ok["doc_id"], ok["text"]))
    for row in paras.itertuples():
        assert texts[row.doc_id][row.char_start:row.char_end] == row.text
        assert row.status in {"kept", "boilerplate", "duplicate"}
    kept = paras[paras["status"] == "kept"]
    for prefix in SEED_BOILERPLATE:
        hits = [t for t in kept["text"] if t.startswith(prefix)]
        assert not hits, prefix
    # every article paragraph is still there, exactly once (compare normalized lines)
    from pipeline.text import normalize_key

    for doc_id, text in texts.items():
        rows = paras[paras["doc_id"] == doc_id].sort_values("ordinal")
        kept_keys = [normalize_key(t) for t, s in zip(rows["text"], rows["status"]) if s == "kept"]
        assert len(kept_keys) == len(set(kept_keys)), doc_id
        tail = rows[rows["reason"].fillna("").str.startswith("page_tail")]
        end = tail["ordinal"].min() if len(tail) else len(rows)
        for t, s, r, n in zip(rows["text"], rows["status"], rows["reason"], rows["ordinal"]):
            if n < end and s == "boilerplate":
                assert any(t.startswith(p) for p in SEED_BOILERPLATE), (doc_id, t)
    # the doubled opening of article_004 and the repeated headline of article_003 are duplicates
    dup = paras[paras["status"] == "duplicate"]
    assert (dup["text"].str.startswith("Belarus has opened its doors")).sum() == 1
    assert (dup["text"].str.startswith("Panic as Russia")).sum() == 1
    assert kept["text"].str.startswith("Belarus has opened its doors").sum() == 1


def test_extracted_text_gets_only_the_precise_rules():
    """An HTML extractor's output (`BoilerplateConfig.for_extracted`): no model, and only
    EXTRACTED_RULES run: the page-tail and heading rules made for naive page dumps do not
    remove article text after a "Comments" line, but a widget label, an empty fragment and a copyright line
    still go, with their reasons."""
    from pipeline.boilerplate import EXTRACTED_RULES, RULES

    cfg = BoilerplateConfig().for_extracted()
    assert not cfg.use_model and set(cfg.only_rules) == set(EXTRACTED_RULES)
    assert set(EXTRACTED_RULES) <= {r.__name__ for r in RULES}
    body = "The council said on Monday that the new bridge would open next spring, officials added."
    page = ["Bridge opens next spring", body * 5, body * 4, "Comments", body * 3, "Related reading", "***",
            "© 2024 Example Media. All rights reserved."]
    dump = [v.reason for v in classify(page, BoilerplateConfig(use_model=False))]
    assert dump[3].startswith("page_tail") and dump[4].startswith("page_tail")
    out = [v.reason for v in classify(page, cfg)]
    # the "Comments" line itself is a widget label; the article text after it stays
    assert out[3] in ("comment_prompt", "widget_heading")
    assert out[:3] == [None, None, None] and out[4] is None and out[-2:] == ["short_fragment", "copyright"]


def test_the_model_may_keep_tail_paragraphs_only_on_topic_or_after_an_early_comments_link():
    """`model_overrides_tail`: a paragraph the page-tail rule claimed is the model's to judge
    when it shares enough content words with the article before the marker, or, after a
    comments marker, when little article text precedes it (a "Comments (3)" link above the
    post); never an off-topic teaser after a whole article, never with the switch off."""
    from pipeline.boilerplate import _overridable, rule_document

    hard = frozenset({"comment_prompt"})
    bridge = ("The council said the new bridge over the river would open next spring after the "
              "engineers finished the final safety checks on the bridge deck.")
    teaser = "Celebrity chef reveals the secret recipe that made her famous across the country, fans say."
    long_body = [f"{bridge} Officials expect {n} thousand drivers a day to use the bridge." for n in range(40)]
    # a whole article, then a comment section of teasers: only the on-topic paragraph is open
    page = ["Bridge to open next spring"] + long_body + ["Comments", teaser, bridge]
    doc = rule_document(page, BoilerplateConfig(use_model=False))
    marker = page.index("Comments")
    assert doc.reasons[marker + 1] == "page_tail:comments" and doc.prose_words_before(marker) > 600
    assert not _overridable(marker + 1, doc.reasons[marker + 1], doc, hard)
    assert _overridable(marker + 2, doc.reasons[marker + 2], doc, hard)
    # a short post before "Comments": whatever follows is the model's to judge
    short = (["Bridge to open next spring"] + [bridge.replace("river", w) for w in ("river", "canal", "bay", "lake")]
             + ["Comments", teaser, "Log in to reply", "Share"])
    sdoc = rule_document(short, BoilerplateConfig(use_model=False))
    assert sdoc.reasons[6] == "page_tail:comments" and sdoc.prose_words_before(5) < 600
    assert _overridable(6, sdoc.reasons[6], sdoc, hard)
    # switched off: the rule's verdict stands
    off = rule_document(page, BoilerplateConfig(use_model=False, model_overrides_tail=False))
    assert not _overridable(marker + 2, off.reasons[marker + 2], off, hard)
    # hard rules and site templates always stand
    assert not _overridable(0, "comment_prompt", doc, hard) and not _overridable(0, "site_template", doc, hard)
    # soft rules other than the tail stand unless model_overrides_rules
    assert not _overridable(0, "navigation", doc, hard)
    every = rule_document(page, BoilerplateConfig(model_overrides_rules=True))
    assert _overridable(0, "navigation", every, hard)
    assert _overridable(marker + 1, every.reasons[marker + 1], every, hard)  # any soft rule, the tail too


def test_the_model_may_override_the_rule_families_named_in_the_config():
    """`model_overrides_families`: a paragraph one of those rule families claimed is the
    model's to judge; other soft rules, hard rules and site templates still stand."""
    from pipeline.boilerplate import _overridable, rule_document

    hard = frozenset({"comment_prompt"})
    page = ["Home | News | Sport", "Bridge to open next spring",
            "The council said the new bridge over the river would open next spring after the checks."]
    doc = rule_document(page, BoilerplateConfig(use_model=False, model_overrides_families=("navigation",)))
    assert _overridable(0, "navigation", doc, hard)
    assert not _overridable(0, "byline", doc, hard)
    named_hard = rule_document(page, BoilerplateConfig(use_model=False, model_overrides_families=("comment_prompt",)))
    assert not _overridable(0, "comment_prompt", named_hard, hard)  # a hard rule stands even when named
    assert not _overridable(0, "site_template", doc, hard)
    default = rule_document(page, BoilerplateConfig(use_model=False))
    assert not _overridable(0, "navigation", default, hard)


def test_the_article_resuming_below_an_inline_widget_is_the_models_to_judge():
    """`tail_resume_*`: after a "Recommended" box inside the article, a run of on-topic prose
    paragraphs with more of the page after it is the article going on: open to the model; the
    teasers of the box, a run that ends the page and anything after a comments marker are not."""
    from pipeline.boilerplate import _overridable, rule_document

    hard = frozenset({"comment_prompt"})
    bridge = [f"The council said the new bridge over the river would open in {m} after the engineers "
              f"finished the safety checks on the bridge deck and the river banks." for m in ("May", "June", "July")]
    later = [f"Engineers on the river bridge said the deck checks of {m} had found no faults in the steel "
             f"and that the council would pay for the new lights along the bridge and the river path." for m in ("March", "April", "May")]
    widget = ["Recommended", "Celebrity Chef Opens New Restaurant", "Jane Roe", "Local Team Wins Cup"]
    page = ["Bridge to open next spring"] + bridge * 4 + widget + later + ["Most Popular", "Share", "Contact us"]
    doc = rule_document(page, BoilerplateConfig(use_model=False))
    marker = page.index("Recommended")
    assert doc.tail == (marker, "recommended")
    resumed = [page.index(t) for t in later]
    assert doc.resumed_article == frozenset(resumed)
    assert all(_overridable(j, doc.reasons[j], doc, hard) for j in resumed)
    assert not any(_overridable(j, doc.reasons[j], doc, hard) for j in range(marker + 1, marker + 4))
    # the same run ending the page: a list of teasers as far as the rule can tell
    end = rule_document(page[:resumed[-1] + 1], BoilerplateConfig(use_model=False))
    assert end.resumed_article == frozenset()
    # after a comments marker: never
    comments = rule_document([("Comments" if t == "Recommended" else t) for t in page], BoilerplateConfig(use_model=False))
    assert comments.tail[1] == "comments" and comments.resumed_article == frozenset()


def test_off_topic_prose_below_a_widget_is_no_resumed_article_after_a_whole_article():
    """The off-topic test of `Document.resumed_article` judges only after
    `tail_override_max_words_before` words of article before the marker."""
    from pipeline.boilerplate import rule_document

    bridge = ("The council said the new bridge over the river would open next spring after the engineers "
              "finished the final safety checks on the bridge deck and the river banks.")
    other = [f"The celebrity chef opened her {n} restaurant downtown with a tasting menu that critics praised "
             f"for its seasonal dishes, its long wine list and its desserts, and the tables are booked for "
             f"months ahead." for n in ("first", "second")]
    tail = ["Recommended", "Celebrity Chef Opens New Restaurant"] + other + ["Most Popular", "Contact us"]
    for n, judged in ((40, True), (4, False)):
        page = ["Bridge to open next spring"] + [f"{bridge} Officials expect {k} thousand drivers." for k in range(n)] + tail
        doc = rule_document(page, BoilerplateConfig(use_model=False))
        marker = page.index("Recommended")
        assert doc.tail == (marker, "recommended")
        assert (doc.prose_words_before(marker) >= 600) == judged
        resumed = frozenset({page.index(other[0]), page.index(other[1])})
        assert doc.resumed_article == (frozenset() if judged else resumed)
