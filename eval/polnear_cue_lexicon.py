"""Mine attribution-cue verbs from PolNeAR *train* (never dev): for every verb with a
nominal subject outside quotation marks, how often is it the gold cue of an attribution
whose source matches that subject? Prints lemmas by frequency with their precision;
`pipeline.attribution.MINED_CUE_VERBS` was chosen from this output (count >= 8,
precision >= 0.5).

    .venv/bin/python -m eval.polnear_cue_lexicon --corpus /work/shared/corpus/polnear --split train
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from eval.polnear_attribution import load_split, span_head, speaker_match


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--split", default="train", choices=["train"])
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--min-count", type=int, default=8)
    args = ap.parse_args(argv)

    from pipeline import nlp as nlp_mod
    from pipeline.attribution import quoted_ranges
    from pipeline.paragraphs import split_paragraphs
    from pipeline.sentences import split_paragraphs_into_sentences

    arts = load_split(args.corpus, args.split)
    if args.limit:
        arts = arts[: args.limit]
    nlp, senter = nlp_mod.load(), nlp_mod.load_sentencizer()
    seen, hit = Counter(), Counter()
    for art in arts:
        paras = split_paragraphs(art.text)
        ptexts = [art.text[p.start:p.end] for p in paras]
        sents = []
        for p, spans in zip(paras, split_paragraphs_into_sentences(senter, ptexts)):
            sents += [(p.start + a, art.text[p.start + a:p.start + b]) for a, b in spans]
        for (start, text), doc in zip(sents, nlp.pipe([t for _s, t in sents], batch_size=256)):
            quotes = quoted_ranges(text)
            golds = [g for g in art.gold if g.source and start <= g.cue_start < start + len(text)]
            for tok in doc:
                if tok.pos_ not in {"VERB", "AUX"} or any(a <= tok.idx < b for a, b in quotes):
                    continue
                subj = [c for c in tok.children if c.dep_ in {"nsubj"}]
                if not subj:
                    continue
                sub = list(subj[0].subtree)
                sp_text = doc[sub[0].i:sub[-1].i + 1].text
                lemma = tok.lemma_.lower()
                seen[lemma] += 1
                for g in golds:
                    in_cue = any(a <= start + tok.idx < b for a, b in g.cue)
                    gh = span_head(doc, g.source[0][0] - start, g.source[-1][1] - start, g.source_text)
                    if in_cue and speaker_match(sp_text, subj[0].lower_, g.source_text, gh):
                        hit[lemma] += 1
                        break
    rows = [(lem, n, hit[lem] / n) for lem, n in seen.items() if n >= args.min_count]
    rows.sort(key=lambda r: (-r[2], -r[1]))
    for lem, n, p in rows:
        if p >= 0.3:
            print(f"{lem:<16} {n:>5} {hit[lem]:>5} {p:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
