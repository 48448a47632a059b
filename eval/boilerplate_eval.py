"""Per-paragraph boilerplate removal on BBC articles wrapped in generated site furniture.

    .venv/bin/python -m eval.boilerplate_eval --corpus ../shared/corpus/bbc [--pages 60] [--seed 7]

The labeled set is generated on the fly (nothing of the corpus is stored in the
project): each page is one BBC article (headline + paragraphs, all labeled *article*)
wrapped, with a seeded random composition, in furniture of generic families (labeled
*boilerplate*): site header and menus, login links, breadcrumbs, cookie/consent banners,
bylines and timestamps, share bars, photo credits, advertisement labels, inline promo
links, newsletter boxes, tag lines, "related / more from / most read" blocks whose
teasers are headlines and first sentences of OTHER BBC articles of the same topic,
comment blocks, footers and copyright lines. Each page belongs to one of a few fictional
sites whose header and footer repeat across that site's pages (as real sites do), which
is what the corpus-level template rule can use.

Reported: precision, recall and F1 of the paragraphs *removed* (positive class =
boilerplate) for
  (a) pipeline.boilerplate.classify, page by page,
  (a+t) the same with the corpus-level TemplateCounter (pipeline.templates) built over
        all generated pages first,
  (b) a C4-style line filter (Raffel et al. 2020, the C4 heuristics, reimplemented),
  (c) jusText 3 (default English settings) on the paragraphs wrapped as <p> elements.

Limitation: the furniture phrases below are written by us, the authors of the rules,
even though they were worded independently of the rule patterns (different verbs,
orders, brand names) and many are taken in spirit from common sites; the figures are
therefore optimistic for our rules compared with truly unseen pages.
"""
from __future__ import annotations

import argparse
import html
import random
import re
import sys
from collections import defaultdict
from dataclasses import dataclass

from eval.corpus import bbc_articles, paragraphs_of

# ----------------------------------------------------------------------------- furniture

FIRST = ["Tom", "Sarah", "Daniel", "Priya", "Lucy", "Mark", "Aisha", "Owen", "Chloe", "Ravi", "Helen", "James"]
LAST = ["Hughes", "Bennett", "Okafor", "Patel", "Ward", "Lindqvist", "Moreno", "Clarke", "Baines", "Fraser"]
ROLES = ["Business reporter", "Political correspondent", "Technology desk", "Sports editor",
         "Arts correspondent", "Senior reporter", "Economics editor"]
AGENCIES = ["Getty Images", "Reuters", "AFP", "PA Media", "EPA", "AP Photo"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


@dataclass(frozen=True)
class Site:
    name: str
    sections: list[str]
    header: list[str]  # fixed lines of this site's header
    footer: list[str]  # fixed lines of this site's footer


def _sites() -> list[Site]:
    return [
        Site("The Morning Ledger", ["News", "UK", "World", "Business", "Politics", "Tech", "Sport", "Culture"],
             ["The Morning Ledger", "News  UK  World  Business  Politics  Tech  Sport  Culture  Opinion",
              "Sign in | Register"],
             ["About The Morning Ledger", "Work for us", "Contact the newsroom", "Terms & conditions",
              "The Morning Ledger is published by Ledger Media Group Ltd, registered in England no. 0412345.",
              "© 2005 Ledger Media Group Ltd"]),
        Site("Northern Courier", ["Home", "Local", "National", "Money", "Sport", "Entertainment", "Lifestyle"],
             ["Menu", "Northern Courier", "Home / Local / National / Money / Sport / Entertainment / Lifestyle"],
             ["Northern Courier Online - all content copyright Courier Digital 2005",
              "Our privacy notice explains how we handle your personal data and your rights.",
              "Help & FAQs", "Advertise with the Courier"]),
        Site("Daily Bulletin 24", ["Top stories", "Economy", "Gadgets", "Showbiz", "Football", "Westminster"],
             ["Skip navigation", "Daily Bulletin 24", "Top stories · Economy · Gadgets · Showbiz · Football · Westminster",
              "Search Daily Bulletin 24"],
             ["Daily Bulletin 24 is not responsible for the content of external sites.",
              "Read about our approach to external linking.",
              "Copyright Daily Bulletin 24 Ltd. 2005"]),
        Site("Metro Wire", ["Latest", "World", "Business", "Science", "Sport", "Arts"],
             ["Metro Wire", "Latest World Business Science Sport Arts", "Subscribe for £1"],
             ["Metro Wire · Company info · Editorial standards · Complaints · Corrections",
              "Registered office: 10 Quay Street, London.", "(C) Metro Wire Publishing"]),
    ]


COOKIE_BANNERS = [
    "We and our partners store and access information on your device, such as cookies, and process personal "
    "data like unique identifiers to show you personalised ads and content and to measure audiences.",
    "This site uses cookies. Some are essential to make it work, others help us improve your experience. "
    "You can change your choices at any time.",
    "Your privacy matters to us. We use cookies and similar technologies to understand how you use the site.",
    "By using this website you agree to our use of cookies as set out in our cookie notice.",
]
COOKIE_BUTTONS = ["Accept and continue", "Manage my choices", "OK, I agree", "Reject non-essential", "Agree",
                  "Cookie preferences", "Allow all"]
DATELINES = [
    "{d} {m} 2005", "Last updated: {d} {m} 2005, {h}:{mm} GMT", "Published {m} {d}, 2005",
    "{d}/{mo}/2005 {h}:{mm}", "Updated {h}:{mm} GMT, {d} {m} 2005", "Posted on {m} {d}, 2005 at {h}:{mm}",
]
BYLINES = ["By {f} {l}", "By {f} {l}, {r}", "{f} {l} | {r}", "Words by {f} {l}", "By {f} {l} and {f2} {l2}"]
SHARE = ["Share this story", "Share via Email Facebook Twitter WhatsApp", "Share on social media",
         "Facebook  Twitter  LinkedIn  Email", "Tweet  Share  Email", "Share page", "Copy link",
         "Send this article to a friend", "Save article"]
PHOTO = ["Image: {a}", "Photograph: {a}", "(Photo by {f} {l}/{a})", "Image caption: Archive picture, {a}",
         "Image source, {a}", "Picture: {a}"]
MID_BODY = ["Advertisement", "ADVERTISEMENT", "Article continues below", "Continue reading the main story",
            "Story continues after advertisement", "Sponsored", "Ad"]
PROMO = ["See also: {t}", "READ MORE: {t}", "Also read - {t}", "Related: {t}", "More: {t}", "Watch: {t}",
         "Listen: {t}"]
NEWSLETTER = [
    "Get the top stories of the day sent to your inbox every morning. Sign up to our free briefing.",
    "Want more stories like this? Join our weekly newsletter.",
    "Enter your email to get breaking news alerts",
    "Newsletter: the day's headlines, delivered free each evening",
    "Sign up for our business email and never miss a story",
    "Like this article? Subscribe to get unlimited access for just £1 a week.",
]
TAGS = ["Topics: {s}, {s2}", "Tags: {s} / {s2}", "More on this story: {s}", "Filed in {s}", "Categories: {s}, {s2}"]
RELATED = ["Related stories", "More from {s}", "Most read", "You might also like", "Read next", "More on this topic",
           "Top stories", "Elsewhere on {site}", "Most popular", "Recommended for you", "In other news"]
COMMENTS = ["Comments (14)", "Join the debate", "Have your say", "Be the first to leave a comment",
            "Sign in to leave a comment", "Comments are closed for this article.", "23 comments"]
COMMENT_BODIES = [
    "Great article, thanks for sharing!", "I don't agree with this at all.", "Reply", "Report", "Load more comments",
]
FOOTER_EXTRA = ["Back to top", "Privacy policy", "Cookie settings", "Accessibility help", "Contact us",
                "Terms of use", "Site map", "Follow us on Twitter and Facebook", "Download our app"]


@dataclass
class Page:
    site: str
    paragraphs: list[str]
    labels: list[int]  # 1 = boilerplate, 0 = article


def _fill(rng: random.Random, pattern: str, site: Site, titles: list[str]) -> str:
    return pattern.format(
        f=rng.choice(FIRST), l=rng.choice(LAST), f2=rng.choice(FIRST), l2=rng.choice(LAST), r=rng.choice(ROLES),
        a=rng.choice(AGENCIES), d=rng.randint(1, 28), m=rng.choice(MONTHS), mo=rng.randint(1, 12),
        h=rng.randint(0, 23), mm=f"{rng.randint(0, 59):02d}", s=rng.choice(site.sections),
        s2=rng.choice(site.sections), site=site.name, t=rng.choice(titles) if titles else "",
    )


def _first_sentence(paragraph: str) -> str:
    m = re.match(r"(.+?[.!?][\"”]?)(?:\s|$)", paragraph)
    return m.group(1) if m else paragraph


def build_pages(corpus: str, n_pages: int, seed: int) -> list[Page]:
    rng = random.Random(seed)
    articles = bbc_articles(corpus)
    by_topic: dict[str, list[int]] = defaultdict(list)
    for n, (aid, _) in enumerate(articles):
        by_topic[aid.split("/")[0]].append(n)
    chosen = rng.sample(range(len(articles)), n_pages)
    sites = _sites()
    pages = []
    for n in chosen:
        aid, text = articles[n]
        paras = paragraphs_of(text)
        site = rng.choice(sites)
        others = [k for k in by_topic[aid.split("/")[0]] if k != n and articles[k][1] != text]
        teaser_src = [paragraphs_of(articles[k][1]) for k in rng.sample(others, 12)]
        other_titles = [p[0] for p in teaser_src]
        out: list[tuple[str, int]] = []

        def bp(line: str) -> None:
            out.append((line, 1))

        def fill(p: str) -> str:
            return _fill(rng, p, site, other_titles)

        # header
        for line in site.header:
            if rng.random() < 0.85:
                bp(line)
        if rng.random() < 0.4:
            bp(" > ".join(["Home", rng.choice(site.sections), rng.choice(site.sections)]))
        if rng.random() < 0.35:
            bp(rng.choice(COOKIE_BANNERS))
            bp(rng.choice(COOKIE_BUTTONS))
        # headline, byline, date
        out.append((paras[0], 0))
        if rng.random() < 0.7:
            bp(fill(rng.choice(BYLINES)))
        if rng.random() < 0.7:
            bp(fill(rng.choice(DATELINES)))
        if rng.random() < 0.4:
            bp(rng.choice(SHARE))
        if rng.random() < 0.4:
            bp(fill(rng.choice(PHOTO)))
        # body with interruptions
        body = paras[1:]
        for k, p in enumerate(body):
            out.append((p, 0))
            if k < len(body) - 1:
                roll = rng.random()
                if roll < 0.06:
                    bp(rng.choice(MID_BODY))
                elif roll < 0.10:
                    bp(fill(rng.choice(PROMO)))
                elif roll < 0.13:
                    bp(fill(rng.choice(PHOTO)))
                elif roll < 0.15:
                    bp(rng.choice(NEWSLETTER))
        # after the article
        if rng.random() < 0.5:
            bp(rng.choice(SHARE))
        if rng.random() < 0.5:
            bp(fill(rng.choice(TAGS)))
        if rng.random() < 0.4:
            bp(rng.choice(NEWSLETTER))
        blocks = ["related", "comments"]
        rng.shuffle(blocks)
        for block in blocks:
            if block == "related" and rng.random() < 0.8:
                bp(fill(rng.choice(RELATED)))
                style = rng.choice(["titles", "title+first", "first"])
                for src in teaser_src[: rng.randint(3, 6)]:
                    if style in ("titles", "title+first"):
                        bp(src[0])
                    if style in ("title+first", "first") and len(src) > 1:
                        bp(_first_sentence(src[1]))
            if block == "comments" and rng.random() < 0.4:
                bp(rng.choice(COMMENTS))
                for _ in range(rng.randint(0, 3)):
                    bp(rng.choice(COMMENT_BODIES))
        for line in rng.sample(FOOTER_EXTRA, rng.randint(0, 4)):
            bp(line)
        for line in site.footer:
            if rng.random() < 0.9:
                bp(line)
        if rng.random() < 0.15 and not any(c in " ".join(p for p, _ in out) for c in ("cookie",)):
            bp(rng.choice(COOKIE_BANNERS))
        pages.append(Page(site.name, [p for p, _ in out], [lab for _, lab in out]))
    return pages


# ----------------------------------------------------------------------------- systems


def ours(pages: list[Page], templates=None) -> list[list[int]]:
    from pipeline.boilerplate import classify

    return [[int(v.reason is not None) for v in classify(p.paragraphs, templates=templates)] for p in pages]


def ours_with_templates(pages: list[Page]) -> list[list[int]]:
    from pipeline.templates import TemplateCounter

    counter = TemplateCounter()
    for n, p in enumerate(pages):
        counter.update(f"page{n}", p.paragraphs)
    return ours(pages, templates=counter.is_template)


_C4_POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")


def c4_filter(pages: list[Page]) -> list[list[int]]:
    """The C4 line and page heuristics (Raffel et al. 2020, sec. 2.2), on paragraphs as lines:
    keep lines ending in a terminal punctuation mark (. ! ? or a closing quote) with at
    least 3 words (C4 keeps pages with at least 5 sentences... here: lines), drop lines
    with "javascript" or a privacy/cookie-policy phrase; drop the whole page if it has
    "lorem ipsum" or a curly brace, or fewer than 3 kept lines (C4: 5 sentences)."""
    out = []
    for page in pages:
        removed = []
        for line in page.paragraphs:
            low = line.lower()
            terminal = line.rstrip().endswith((".", "!", "?", '"', "”", "’", "'"))
            bad = (not terminal or len(line.split()) < 3 or "javascript" in low
                   or any(p in low for p in _C4_POLICY))
            removed.append(int(bad))
        whole = " ".join(page.paragraphs).lower()
        kept_sentences = sum(len(re.findall(r"[.!?](?:\s|$)", p)) for p, r in zip(page.paragraphs, removed) if not r)
        if "lorem ipsum" in whole or "{" in whole or kept_sentences < 5:
            removed = [1] * len(page.paragraphs)
        out.append(removed)
    return out


def justext_filter(pages: list[Page]) -> list[list[int]]:
    import justext

    stop = justext.get_stoplist("English")
    out = []
    for page in pages:
        doc = "<html><body>" + "".join(f"<p>{html.escape(p)}</p>" for p in page.paragraphs) + "</body></html>"
        paras = justext.justext(doc.encode("utf-8"), stop, encoding="utf-8")
        if len(paras) != len(page.paragraphs):
            raise RuntimeError(f"jusText returned {len(paras)} paragraphs for {len(page.paragraphs)}")
        out.append([int(p.is_boilerplate) for p in paras])
    return out


def score(pages: list[Page], predicted: list[list[int]]) -> tuple[float, float, float, int, int, int]:
    tp = fp = fn = 0
    for page, pred in zip(pages, predicted):
        for gold, p in zip(page.labels, pred):
            tp += gold and p
            fp += (not gold) and p
            fn += gold and not p
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f1, tp, fp, fn


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True, help="folder of the BBC corpus (topic/NNN.txt)")
    ap.add_argument("--pages", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--errors", type=int, default=0, help="print up to N errors of our classifier")
    args = ap.parse_args(argv)
    pages = build_pages(args.corpus, args.pages, args.seed)
    n_par = sum(len(p.paragraphs) for p in pages)
    n_bp = sum(sum(p.labels) for p in pages)
    print(f"{len(pages)} pages, {n_par} paragraphs, {n_bp} boilerplate, {n_par - n_bp} article (seed {args.seed})")
    systems = [("ours: boilerplate.classify", ours), ("ours + TemplateCounter", ours_with_templates),
               ("C4-style line filter", c4_filter), ("jusText 3 (default English)", justext_filter)]
    print(f"\n| system | precision | recall | F1 | TP | FP | FN |\n|---|---|---|---|---|---|---|")
    for name, fn in systems:
        pred = fn(pages)
        p, r, f, tp, fp, fn_ = score(pages, pred)
        print(f"| {name} | {p:.3f} | {r:.3f} | {f:.3f} | {tp} | {fp} | {fn_} |")
        if args.errors and fn is ours:
            shown = 0
            for page, pr in zip(pages, pred):
                for text, gold, got in zip(page.paragraphs, page.labels, pr):
                    if gold != got and shown < args.errors:
                        shown += 1
                        print(f"    {'MISSED' if gold else 'FALSE '} {text[:110]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
