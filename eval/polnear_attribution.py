"""Speaker / cue attribution measured on PolNeAR, sentence by sentence.

    .venv/bin/python -m eval.polnear_attribution --corpus /work/shared/corpus/polnear --split dev

Protocol (the issue's definition):

* Documents are split with the project's own code: `pipeline.paragraphs.split_paragraphs`,
  then `pipeline.sentences.split_paragraphs_into_sentences` (the `senter` splitter).
* A gold attribution (an `E` line of the BRAT standoff with a `Source`) belongs to the
  sentence that contains the start of its `Cue`. Attributions without a source count
  only as "no speaker expected".
* Each system gives at most one speaker per sentence. A prediction is a true positive
  when it matches the source of any gold attribution of its sentence: the head words
  agree (syntactic root of each span, case-folded) or the token-overlap F1 of the two
  spans is >= 0.5. For the project's system the speaker as written in the sentence
  and the document-normalized speaker are both tried (PolNeAR marks "he" where we
  resolve to "Donald Trump"), and so is the whole subject phrase the speaker was cut
  from (PolNeAR marks "the director of the FBI, James B. Comey," where we give
  "James B. Comey"). Likewise a relative pronoun the speaker was resolved from inside
  the sentence counts as written (PolNeAR marks "who" in "an official who spoke
  anonymously", where we give "an official"); `--no-relative-form` turns this off. Precision = TP / sentences with a predicted speaker;
  recall = TP / sentences with a gold source.
* The project gives each sentence of a multi-sentence direct quote the speaker of
  the quote; such inherited speakers have no cue in their sentence and are left out of
  the table (reported on a separate line against the gold content spans).
* Cue accuracy: among true positives, the share whose cue (a lemma, or "according to")
  is among the lemmas / words of the matched gold cue span.
* Subsets: `direct` sentences carry a gold attribution whose content opens or closes
  with a quotation mark (sentences without gold: the sentence holds a quotation);
  `indirect` the rest; `speech` sentences whose gold cue contains a speech verb
  (SPEECH_VERBS below).
* Baselines on the same sentences: textacy's `direct_quotations` (run on each
  parsed paragraph, its triples mapped to sentences by cue position) and a simple
  reporting-verb rule (`say`/`tell`/... with a nominal subject, or "according to X").

`--errors N` prints N misses and N false positives of the project's system
(for development on `train`; do not tune on `dev`).
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

SPEECH_VERBS = frozenset(
    """say tell add ask write tweet announce explain claim state declare note report reply respond argue insist
    warn comment remark complain admit acknowledge deny confirm reveal predict testify quip joke recall""".split()
)
RULE_VERBS = frozenset("say tell add write tweet announce claim report state explain".split())
OPEN_Q = "\"“‘«'"
CLOSE_Q = "\"”’»'"


# ------------------------------------------------------------------------ reading BRAT
@dataclass
class GoldAttribution:
    source: list[tuple[int, int]] | None
    cue: list[tuple[int, int]]
    content: list[tuple[int, int]]
    source_text: str = ""
    cue_text: str = ""
    content_text: str = ""

    @property
    def cue_start(self) -> int:
        return min(a for a, _b in self.cue)

    @property
    def direct(self) -> bool:
        t = self.content_text.strip().rstrip(".,;:!? ")
        return bool(t) and (t[0] in OPEN_Q or t[-1] in CLOSE_Q)


@dataclass
class Article:
    name: str
    text: str
    gold: list[GoldAttribution] = field(default_factory=list)


def _spans(s: str) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in (part.split() for part in s.split(";"))]


def read_ann(path: Path, text: str) -> list[GoldAttribution]:
    spans: dict[str, tuple[str, list[tuple[int, int]]]] = {}
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("T") and line.count("\t") >= 1:
            tid, info, *_ = line.split("\t")
            label, _, offs = info.partition(" ")
            spans[tid] = (label, _spans(offs))
        elif line.startswith("E") and "\t" in line:
            events.append(line.split("\t")[1].split())
    out = []
    for roles in events:
        parts = dict(r.split(":", 1) for r in roles)
        if "Cue" not in parts or parts["Cue"] not in spans:
            continue
        src = spans[parts["Source"]][1] if "Source" in parts and parts["Source"] in spans else None
        cue = spans[parts["Cue"]][1]
        content = spans[parts["Content"]][1] if "Content" in parts and parts["Content"] in spans else []
        join = lambda ss: " ".join(text[a:b] for a, b in ss)  # noqa: E731
        out.append(GoldAttribution(src, cue, content, join(src or []), join(cue), join(content)))
    return out


def load_split(corpus: Path, split: str) -> list[Article]:
    base = corpus / "data" / split if (corpus / "data").is_dir() else corpus / split
    texts = {p.stem: p for p in (base / "text").glob("*.txt")}
    anns: dict[str, Path] = {}
    for p in sorted((base / "attributions").glob("*.ann")):
        stem = re.sub(r"_[0-9a-f]{4}$", "", p.stem)
        anns.setdefault(stem, p)  # articles annotated by several annotators: the first one
    arts = []
    for stem in sorted(texts):
        if stem not in anns:
            continue
        text = texts[stem].read_text(encoding="utf-8")
        arts.append(Article(stem, text, read_ann(anns[stem], text)))
    return arts


# ------------------------------------------------------------------------ matching
_WORD = re.compile(r"\w+")


def _words(s: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(s)]


def token_f1(a: str, b: str) -> float:
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return 0.0
    common = sum(min(wa.count(w), wb.count(w)) for w in set(wa))
    if not common:
        return 0.0
    p, r = common / len(wa), common / len(wb)
    return 2 * p * r / (p + r)


def span_head(doc, start: int, end: int, text: str) -> str:
    """Case-folded syntactic head of a span of a parsed sentence (last word if outside)."""
    span = doc.char_span(start, end, alignment_mode="expand") if 0 <= start < end <= len(doc.text) else None
    if span is not None and len(span):
        root = span.root
        if root.lower_ in {"'s", "’s"} and root.head.i != root.i:
            root = root.head
        return root.lower_
    words = _words(text)
    return words[-1] if words else ""


def speaker_match(pred_text: str, pred_head: str, gold_text: str, gold_head: str) -> bool:
    if not pred_text or not gold_text:
        return False
    if pred_head and pred_head == gold_head:
        return True
    return token_f1(pred_text, gold_text) >= 0.5


# ------------------------------------------------------------------------ systems
@dataclass
class Pred:
    candidates: list[tuple[str, str]]  # (text, head) forms of the one predicted speaker
    cue: str | None


def rule_baseline(doc) -> Pred | None:
    """A simple reporting-verb rule: "X said/told/..." or "according to X"."""
    for tok in doc:
        if tok.lower_ == "according" and tok.i + 1 < len(doc) and doc[tok.i + 1].lower_ == "to":
            objs = [c for c in doc[tok.i + 1].children if c.dep_ == "pobj"]
            if objs:
                sub = list(objs[0].subtree)
                return Pred([(doc[sub[0].i:sub[-1].i + 1].text, objs[0].lower_)], "according to")
        if tok.pos_ in {"VERB", "AUX"} and tok.lemma_.lower() in RULE_VERBS:
            subj = [c for c in tok.children if c.dep_ == "nsubj"]
            if subj:
                sub = list(subj[0].subtree)
                return Pred([(doc[sub[0].i:sub[-1].i + 1].text, subj[0].lower_)], tok.lemma_.lower())
    return None


def textacy_triples(pdoc):
    from textacy.extract.triples import direct_quotations

    try:
        return list(direct_quotations(pdoc))
    except Exception:  # textacy raises on some unbalanced quote layouts
        return []


# ------------------------------------------------------------------------ scoring
@dataclass
class Inherited:
    total: int = 0
    in_content: int = 0
    right: int = 0


class Score:
    def __init__(self) -> None:
        self.tp = self.pred = self.gold = self.cue_ok = 0

    def add(self, has_gold: bool, predicted: bool, matched: bool, cue_ok: bool) -> None:
        self.gold += has_gold
        self.pred += predicted
        self.tp += matched
        self.cue_ok += matched and cue_ok

    def row(self) -> tuple[float, float, float, float]:
        p = self.tp / self.pred if self.pred else 0.0
        r = self.tp / self.gold if self.gold else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        c = self.cue_ok / self.tp if self.tp else 0.0
        return p, r, f, c


def cue_ok(pred_cue: str | None, gold: GoldAttribution, doc, sent_start: int) -> bool:
    if not pred_cue:
        return False
    forms = set(_words(gold.cue_text)) | ({"colon"} if ":" in gold.cue_text else set())
    for a, b in gold.cue:
        span = doc.char_span(a - sent_start, b - sent_start, alignment_mode="expand")
        if span is not None:
            forms |= {t.lemma_.lower() for t in span}
    return all(w in forms for w in pred_cue.lower().split())


SUBSETS = ("all", "direct", "indirect", "speech", "speech direct", "speech indirect")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="PolNeAR root (the folder holding data/)")
    ap.add_argument("--split", default="dev", choices=["train", "dev", "test"])
    ap.add_argument("--limit", type=int, default=0, help="only the first N articles")
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--errors", type=int, default=0, help="print N misses and N false positives")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", type=Path, default=None,
                    help="DocBin parse cache of the split's sentences (written on the first run, read after: "
                         "development reruns on train without parsing; the cache of eval/train_cue_model.py "
                         "for the same split fits)")
    ap.add_argument("--no-relative-form", action="store_true",
                    help="do not try the relative pronoun a speaker was resolved from (\"who\") as a written form")
    args = ap.parse_args(argv)

    from pipeline import nlp as nlp_mod
    from pipeline.claims import SentenceInput, analyze, document_attributions, document_claims
    from pipeline.paragraphs import split_paragraphs
    from pipeline.sentences import split_paragraphs_into_sentences
    from pipeline.attribution import quoted_ranges

    t0 = time.time()
    arts = load_split(args.corpus, args.split)
    if args.limit:
        arts = arts[: args.limit]
    nlp, senter = nlp_mod.load(), nlp_mod.load_sentencizer()
    systems = ["project"] + ([] if args.no_baselines else ["reporting-verb rule", "textacy direct_quotations"])
    scores = {s: {k: Score() for k in SUBSETS} for s in systems}
    misses, false_pos = [], []
    inh = Inherited()
    claim_table = ClaimRowsTable()
    claim_errors: list | None = [] if args.errors else None
    by_cue: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    n_sent = n_gold_attr = 0
    art_sents: list[list[SentenceInput]] = []
    for art in arts:
        paras = split_paragraphs(art.text)
        ptexts = [art.text[p.start:p.end] for p in paras]
        sents: list[SentenceInput] = []
        for pi, (p, spans) in enumerate(zip(paras, split_paragraphs_into_sentences(senter, ptexts))):
            for a, b in spans:
                sents.append(SentenceInput(f"{art.name}:{p.start + a}", art.name, f"p{pi}", art.text[p.start + a:p.start + b], p.start + a))
        art_sents.append(sents)
    cached = _cached_docs(args.cache, nlp, art_sents)
    for ai, (art, sents) in enumerate(zip(arts, art_sents)):
        docs = cached[ai] if cached is not None else list(nlp.pipe([s.text for s in sents], batch_size=256))
        analyses = [analyze(d, s) for d, s in zip(docs, sents)]
        resolved = document_attributions(analyses)
        rows = {row.sentence_id: row for row in document_claims(analyses)}
        tq: dict[int, Pred] = {}
        if "textacy direct_quotations" in systems:
            for p, pdoc in zip(paras, nlp.pipe(ptexts, batch_size=64)):
                for trip in textacy_triples(pdoc):
                    if not trip.speaker or not trip.cue:
                        continue
                    cue_pos = p.start + trip.cue[0].idx
                    sp = pdoc[trip.speaker[0].i:trip.speaker[-1].i + 1]
                    k = next((i for i, s in enumerate(sents) if s.char_start <= cue_pos < s.char_start + len(s.text)), None)
                    if k is not None and k not in tq:
                        tq[k] = Pred([(sp.text, sp.root.lower_)], " ".join(t.lemma_.lower() for t in trip.cue if not t.is_punct))
        by_sent: dict[int, list[GoldAttribution]] = defaultdict(list)
        starts = [s.char_start for s in sents]
        for g in art.gold:
            n_gold_attr += 1
            cs = g.cue_start
            k = next((i for i, s in enumerate(sents) if s.char_start <= cs < s.char_start + len(s.text)), None)
            if k is not None:
                by_sent[k].append(g)
        del starts
        claim_items: list = []
        for k, (s, doc, r, an) in enumerate(zip(sents, docs, resolved, analyses)):
            n_sent += 1
            golds = [g for g in by_sent.get(k, []) if g.source]
            all_g = by_sent.get(k, [])
            if all_g:
                is_direct = any(g.direct for g in all_g)
            else:
                is_direct = bool(quoted_ranges(s.text))
            speech = any(
                any(w in SPEECH_VERBS for w in _cue_lemmas(g, doc, s.char_start)) for g in all_g
            )
            subsets = ["all", "direct" if is_direct else "indirect"]
            if speech:
                subsets += ["speech", "speech direct" if is_direct else "speech indirect"]
            gold_forms = [
                (g, g.source_text, span_head(doc, g.source[0][0] - s.char_start, g.source[-1][1] - s.char_start, g.source_text))
                for g in golds
            ]
            claim_items.append((s, doc, rows.get(s.sentence_id), gold_forms, is_direct, r, an))
            preds: dict[str, Pred | None] = {}
            if r.inherited:
                # continuation of a multi-sentence quote: no cue in this sentence, so outside
                # the sentence-level protocol; checked against the gold content spans instead
                inh.total += 1
                inside = [g for g in art.gold if g.source and any(a <= s.char_start < b for a, b in g.content)]
                inh.in_content += bool(inside)
                inh.right += any(speaker_match(r.speaker, (_words(r.speaker) or [""])[-1], g.source_text,
                                               (_words(g.source_text) or [""])[-1]) for g in inside)
            if r.speaker is not None and not r.inherited:
                cands = []
                if r.surface:
                    cands.append((r.surface, span_head(doc, r.surface_start, r.surface_end, r.surface)))
                cands.append((r.speaker, (_words(r.speaker) or [""])[-1]))
                if r.phrase_start is not None:
                    ph = s.text[r.phrase_start:r.phrase_end]
                    cands.append((ph, span_head(doc, r.phrase_start, r.phrase_end, ph)))
                att = an.attribution
                if att.written_start is not None and not args.no_relative_form:
                    wr = s.text[att.written_start:att.written_end]
                    cands.append((wr, wr.lower()))
                preds["project"] = Pred(cands, r.cue)
            else:
                preds["project"] = None
            if "reporting-verb rule" in systems:
                preds["reporting-verb rule"] = rule_baseline(doc)
                preds["textacy direct_quotations"] = tq.get(k)
            for name in systems:
                pred = preds[name]
                matched_g = None
                if pred is not None:
                    for g, gt, gh in gold_forms:
                        if any(speaker_match(pt, ph, gt, gh) for pt, ph in pred.candidates):
                            matched_g = g
                            break
                ok = matched_g is not None and cue_ok(pred.cue, matched_g, doc, s.char_start)
                for sub in subsets:
                    scores[name][sub].add(bool(golds), pred is not None, matched_g is not None, ok)
                if name == "project" and pred is not None:
                    by_cue[pred.cue or "?"][0] += 1
                    by_cue[pred.cue or "?"][1] += matched_g is not None
                if name == "project" and args.errors:
                    if golds and matched_g is None:
                        misses.append((s.text, [(g.source_text, g.cue_text) for g in golds], pred and (pred.candidates, pred.cue)))
                    elif pred is not None and matched_g is None:
                        false_pos.append((s.text, [(g.source_text, g.cue_text) for g in all_g], (pred.candidates, pred.cue)))
        claim_table.add_article(claim_items, art.gold, claim_errors)
    print(f"PolNeAR {args.split}: {len(arts)} articles, {n_sent} sentences, {n_gold_attr} gold attributions "
          f"({time.time() - t0:.0f} s)")
    print()
    header = f"| {'subset':<16} | {'system':<26} | {'gold':>5} | {'pred':>5} | {'P':>5} | {'R':>5} | {'F1':>5} | {'cue acc':>7} |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for sub in SUBSETS:
        for name in systems:
            sc = scores[name][sub]
            p, r, f, c = sc.row()
            print(f"| {sub:<16} | {name:<26} | {sc.gold:>5} | {sc.pred:>5} | {p:>5.3f} | {r:>5.3f} | {f:>5.3f} | {c:>7.3f} |")
    print(f"\nproject, speakers inherited over multi-sentence quotes (not scored above): {inh.total}; "
          f"{inh.in_content} inside a gold content span, {inh.right} of them with a matching source "
          f"(pronoun sources count as non-matching)")
    claim_table.print()
    if args.errors:
        print("\nproject precision by predicted cue (pred, TP):")
        print("  " + "; ".join(f"{c} {n} {tp} {tp / n:.2f}" for c, (n, tp) in sorted(by_cue.items(), key=lambda kv: -kv[1][0])))
        rng = random.Random(args.seed)
        for title, items in (("MISSES", misses), ("FALSE POSITIVES", false_pos)):
            print(f"\n== {title} ({len(items)})")
            for item in rng.sample(items, min(args.errors, len(items))):
                print("-", item[0][:300].replace("\n", " "))
                print("   gold:", item[1], " pred:", item[2])
        rng = random.Random(args.seed)
        for title, kind in (("CLAIM ROWS: MISSES", "miss"), ("CLAIM ROWS: FALSE POSITIVES", "fp")):
            items = [e for e in claim_errors if e[0] == kind]
            print(f"\n== {title} ({len(items)})")
            for item in rng.sample(items, min(args.errors, len(items))):
                print("-", item[1][:300].replace("\n", " "))
                print("   gold:", item[2], " row:", item[3])
    return 0


def _cached_docs(cache: Path | None, nlp, art_sents) -> list | None:
    """Parsed sentences per article from a DocBin (any article order: matched by text),
    or None without `cache`; the cache is written when missing."""
    if cache is None:
        return None
    from spacy.tokens import DocBin

    texts = [s.text for sents in art_sents for s in sents]
    if cache.is_file():
        docs = list(DocBin().from_disk(cache).get_docs(nlp.vocab))
        by_text = {d.text: d for d in docs}
        if all(t in by_text for t in texts):
            out, k = [], 0
            for sents in art_sents:
                # a fresh copy per sentence: the analysis adds entities to the doc
                out.append([by_text[s.text].copy() for s in sents])
            return out
    docs = list(nlp.pipe(texts, batch_size=256))
    DocBin(store_user_data=False, docs=docs).to_disk(cache)
    out, k = [], 0
    for sents in art_sents:
        out.append(docs[k:k + len(sents)])
        k += len(sents)
    return out


class ClaimRowsTable:
    """The second table: the published `claims` rows (pipeline.claims.document_claims on the
    same sentences), one row per claim sentence at most. A row with a speaker is a
    prediction; it is right when its `speaker` or its `speaker_as_written` matches (head
    word or token F1 >= 0.5, as above) the source of a gold attribution of its sentence.
    A sentence's gold sources are those of the attributions whose cue starts in it; a
    sentence with none whose start lies inside the content span of a gold *direct* attribution
    takes that attribution's source (a sentence inside a multi-sentence quote is said by
    the quote's source, the claims definition of issue #16); there the source is often
    written in another sentence as a pronoun ("he"), so the name the claim row of the
    cue's sentence gave it, when that row's speaker matched it, counts as the source too. The `cue-only gold` line scores
    the same rows against the first table's gold alone (a row in a sentence without a
    gold cue is a false positive, so an inherited speaker is never right there). Recall = right rows / sentences with a gold source; a sentence
    with a gold source and no claim row, or a row without a speaker, is a miss."""

    def __init__(self) -> None:
        self.scores = {k: Score() for k in ("all", "direct", "indirect", "inherited", "cue-only gold")}
        self.rows = self.with_speaker = self.worthy = 0
        self.causes: dict[str, int] = defaultdict(int)  # misses by cause (see miss_cause)

    def add_article(self, items, all_gold, errors) -> None:
        # the speaker a gold source was resolved to where the gold cue is: the claim row of
        # the cue's sentence matched that source ("he") with its written form
        resolved_source: dict[int, str] = {}
        for s, doc, row, gold_forms, _d, *_rest in items:
            if row is not None and row.speaker is not None:
                for g, gt, gh in gold_forms:
                    if any(speaker_match(pt, ph, gt, gh) for pt, ph in self._candidates(s, doc, row)):
                        resolved_source[id(g)] = row.speaker
        for s, doc, row, gold_forms, is_direct, *rest in items:
            self.add(s, doc, row, gold_forms, all_gold, is_direct, errors, resolved_source, *rest)

    @staticmethod
    def _candidates(s, doc, row) -> list[tuple[str, str]]:
        cands = [(row.speaker, (_words(row.speaker) or [""])[-1])]
        written = getattr(row, "speaker_as_written", None)  # absent before issue #16: the speaker only
        if written:
            at = s.text.find(written)
            cands.append((written, span_head(doc, at, at + len(written), written)
                          if at >= 0 else (_words(written) or [""])[-1]))
        return cands

    def add(self, s, doc, row, gold_forms, all_gold, is_direct, errors, resolved_source,
            resolved=None, analysis=None) -> None:
        golds = [(g, gt, gh) for g, gt, gh in gold_forms]
        cue_golds = golds
        if not golds:
            inside = [g for g in all_gold if g.source and g.direct and any(a <= s.char_start < b for a, b in g.content)]
            golds = [(g, g.source_text, span_head(doc, g.source[0][0] - s.char_start, g.source[-1][1] - s.char_start,
                                                 g.source_text)) for g in inside]
            # inside a quotation the source is written elsewhere ("he"): the name the claim
            # row of the cue's sentence resolved it to counts too
            golds += [(g, resolved_source[id(g)], (_words(resolved_source[id(g)]) or [""])[-1])
                      for g in inside if id(g) in resolved_source]
        if row is not None:
            self.rows += 1
            self.with_speaker += row.speaker is not None
            self.worthy += _worthy(row)
        pred = row is not None and row.speaker is not None
        cands = self._candidates(s, doc, row) if pred else []
        matched = next((g for g, gt, gh in golds if any(speaker_match(pt, ph, gt, gh) for pt, ph in cands)), None)
        ok = matched is not None and row.cue is not None and cue_ok(row.cue, matched, doc, s.char_start)
        subsets = ["all", "direct" if is_direct else "indirect"]
        if pred and getattr(row, "speaker_as_written", None) is None:
            subsets.append("inherited")
        for sub in subsets:
            self.scores[sub].add(bool(golds), pred, matched is not None, ok)
        self.scores["cue-only gold"].add(bool(cue_golds), pred, matched is not None and bool(cue_golds),
                                         ok and bool(cue_golds))
        if golds and matched is None and resolved is not None:
            self.causes[miss_cause(s, row, resolved, analysis, bool(cue_golds))] += 1
        if errors is not None and matched is None and (golds or pred):
            errors.append(("miss" if golds else "fp", s.text,
                           [(gt, g.cue_text) for g, gt, _h in golds] + ([] if cue_golds else ["(quote content)"]),
                           row and (row.speaker, getattr(row, "speaker_as_written", None), row.cue)))

    def print(self) -> None:
        print(f"\nPublished claims rows (pipeline.claims.document_claims): {self.rows} rows, "
              f"{self.with_speaker} with a speaker, {self.worthy} check-worthy")
        header = f"| {'subset':<16} | {'gold':>5} | {'pred':>5} | {'P':>5} | {'R':>5} | {'F1':>5} | {'cue acc':>7} |"
        print(header)
        print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
        for sub, sc in self.scores.items():
            p, r, f, c = sc.row()
            print(f"| {sub:<16} | {sc.gold:>5} | {sc.pred:>5} | {p:>5.3f} | {r:>5.3f} | {f:>5.3f} | {c:>7.3f} |")
        print("(inherited: rows whose speaker comes from another sentence of a multi-sentence quote; "
              "their gold is the source whose content span holds the sentence)")
        if self.causes:
            n = sum(self.causes.values())
            print(f"\nClaims-row misses by cause ({n} gold sentences without a right row):")
            for cause, k in sorted(self.causes.items(), key=lambda kv: -kv[1]):
                print(f"  {k:6d}  {k / n:6.1%}  {cause}")


def miss_cause(s, row, resolved, analysis, cue_gold: bool) -> str:
    """Why a sentence with a gold source has no right claims row. `cue`: the gold cue is in
    the sentence; `quote`: the sentence is inside the content of a gold direct quotation."""
    kind = "cue" if cue_gold else "quote"
    text = s.text.strip()
    question = text.rstrip("\"”’)").endswith("?")
    if row is None and resolved.speaker is not None:
        return f"{kind}: speaker found, no row (" + ("a question" if question else
                                                    "a heading" if s.is_heading else "too short") + ")"
    if row is None or row.speaker is None:
        where = "no row" if row is None else "a check-worthy row without speaker"
        if kind == "quote":
            marks = "opens with a quotation mark" if text[:1] in "\"“‘'" else \
                "has quotation marks" if analysis is not None and analysis.has_quotes else "no quotation marks"
            return f"quote: no speaker inherited, {where} ({marks})"
        return f"cue: the engine finds no speaker, {where}" + (" (a question)" if question else "")
    return f"{kind}: wrong speaker, " + ("inherited" if resolved.inherited else "its own")


def _worthy(row) -> bool:
    if hasattr(row, "check_worthy"):
        return bool(row.check_worthy)
    from pipeline.claims import CLAIM_THRESHOLD

    return row.checkworthiness >= CLAIM_THRESHOLD


def _cue_lemmas(g: GoldAttribution, doc, sent_start: int) -> set[str]:
    out = set(_words(g.cue_text))
    for a, b in g.cue:
        span = doc.char_span(a - sent_start, b - sent_start, alignment_mode="expand")
        if span is not None:
            out |= {t.lemma_.lower() for t in span}
    return out


if __name__ == "__main__":
    sys.exit(main())
