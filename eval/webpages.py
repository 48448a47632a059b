"""Main text of real web pages: the project's paragraph stage scored against gold text.

    .venv/bin/python -m eval.webpages --corpus ../shared/corpus/webpages [--set dragnet] [--html]
        [--split heldout|train|all] [--no-rules-only] [--repeats-row] [--out DIR] [--cache DIR] [--jobs N]
    .venv/bin/python -m eval.webpages --corpus ../shared/corpus/webpages --trafilatura-settings [--cache DIR]

The corpus (`../shared/corpus/webpages/`, see its README) holds three sets of real pages
(`dragnet`, `cleaneval`, `readability`); each page `<id>` has its HTML (`<id>.html.gz`), a
naive plain-text dump of it (`<id>.txt`, site furniture included: the project's plain-text
input) and the gold main text (`<id>.gold.txt`). Nothing of it is kept in the project.

Rows printed, per set and over all the pages scored (P/R/F1 of the shared scorer
`../shared/tools/score_extraction.py`, imported, not rewritten: 4-token shingles per page,
precision and recall averaged over pages, F1 of the two means):

* `pipeline text`: each dump decoded as `pipeline run` decodes a `.txt` file
  (`pipeline.ingest.parse_bytes`), split and classified by the paragraph stage
  (`pipeline.build.paragraphs_table`: `split_paragraphs`, `boilerplate.classify`, the
  within-document repeats), then the corpus-level site-template rule
  (`pipeline.build.mark_site_templates`, as `assemble_corpus` applies it), counted over the
  scored pages as a corpus run over them would; the kept paragraphs are the prediction;
* `pipeline text, rules only`: the same with the learned model switched off
  (`BoilerplateConfig(use_model=False)`), the stage as it was before the model;
* `keep-all`: the dump itself;
* with `--html`: `pipeline html` (each `.html.gz` through `pipeline.ingest.parse_bytes` as an
  `.html` file: the page's whole visible text, `pipeline.pagetext`, with trafilatura's article
  beside it; then the same paragraph stage, with the HTML model that also reads that article,
  and the template rule),
  `trafilatura (defaults)` (trafilatura alone, its default settings but comments left out as
  the project leaves them out, on the HTML decoded as the project decodes it) and
  `jusText` (jusText 3, default English stoplist, on the HTML; only if it is installed:
  `pip install -e '.[eval]'`).

`--trafilatura-settings` instead compares trafilatura's settings (default, favor_precision,
favor_recall, fast = no fallback extractors) on the chosen part (`--split`; `all`: training
and held-back parts apart), on `--sample N` pages per set if given (trafilatura costs
~0.2 s a page); the project's HTML path uses the one best on the training part.

Split: `split_of` puts a page in the held-back part when a hash of "<set>/<id>" falls in
one quarter of its range (fixed, no seed): `eval/train_boilerplate.py` never fits or
chooses anything on those pages. `--split heldout` (the default) scores only them.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

SETS = ("dragnet", "cleaneval", "readability")
HELDOUT_BUCKETS = 4  # one bucket of four: ~25 % of each set is held back


def split_of(set_name: str, page_id: str) -> str:
    """`heldout` or `train`, fixed by a hash of the page's set and id."""
    h = int.from_bytes(hashlib.blake2b(f"{set_name}/{page_id}".encode(), digest_size=8).digest(), "big")
    return "heldout" if h % HELDOUT_BUCKETS == 0 else "train"


@dataclass(frozen=True)
class Page:
    set: str
    id: str
    folder: Path

    @property
    def key(self) -> str:
        return f"{self.set}/{self.id}"

    @property
    def split(self) -> str:
        return split_of(self.set, self.id)

    def dump_bytes(self) -> bytes:
        return (self.folder / f"{self.id}.txt").read_bytes()

    def html_bytes(self) -> bytes:
        return gzip.decompress((self.folder / f"{self.id}.html.gz").read_bytes())

    def gold(self) -> str:
        return (self.folder / f"{self.id}.gold.txt").read_text("utf-8")


def load_pages(corpus: Path, sets: Sequence[str] = SETS) -> list[Page]:
    out = []
    for name in sets:
        folder = Path(corpus) / name
        ids = sorted(p.name[: -len(".gold.txt")] for p in folder.glob("*.gold.txt"))
        if not ids:
            raise SystemExit(f"no <id>.gold.txt pages under {folder}")
        out.extend(Page(name, i, folder) for i in ids)
    return out


def load_scorer(path: Path):
    """The shared scorer module (`page_counts`, `summarize`), imported from its file."""
    spec = importlib.util.spec_from_file_location("score_extraction", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import the scorer {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ the project's stage


def decoded_documents(pages: Sequence[Page], fmt: str, raw: Callable[[Page], bytes]):
    """A documents frame (doc_id = page key, status, text) decoded by the project's ingest."""
    import pandas as pd

    from pipeline.ingest import parse_bytes

    rows = []
    for page in pages:
        rec = parse_bytes(raw(page), f"{page.key}.{fmt}", fmt)
        rows.append({"doc_id": page.key, "status": rec.status, "text": rec.text, "source_format": rec.source_format,
                     "article_text": rec.article_text})
    return pd.DataFrame(rows, columns=["doc_id", "status", "text", "source_format", "article_text"])


def kept_texts(documents, use_model: bool = True, templates: bool = True, overrides: bool = False,
               statuses: tuple[str, ...] = ("kept",)) -> dict[str, str]:
    """Page key -> its kept paragraphs (blank-line joined), as the pipeline keeps them (with
    `statuses` ("kept", "duplicate"): the within-document repeats too)."""
    from pipeline import boilerplate
    from pipeline.build import extracted_documents, mark_site_templates, paragraphs_table
    from pipeline.templates import TemplateCounter

    paras = paragraphs_table(documents, boilerplate.BoilerplateConfig(use_model=use_model, model_overrides_rules=overrides))
    if templates and len(paras):
        mark_site_templates(paras, TemplateCounter(), extracted_documents(documents))
    out = {key: "" for key in documents["doc_id"]}
    kept = paras[paras["status"].isin(statuses)].sort_values(["doc_id", "ordinal"])
    for key, texts in kept.groupby("doc_id", sort=False)["text"]:
        out[key] = "\n\n".join(texts)
    return out


# ------------------------------------------------------------------ HTML references


def justext_text(html: bytes) -> str:
    import justext

    try:
        paras = justext.justext(html, justext.get_stoplist("English"))
    except Exception:  # noqa: BLE001 - an unparsable page is an empty prediction
        return ""
    return "\n\n".join(p.text for p in paras if not p.is_boilerplate)


def _cached(cache: Path | None, name: str, pages: Sequence[Page], fn: Callable[[Page], str],
            jobs: int = 1) -> dict[str, str]:
    """fn(page) for each page, stored as JSON in `cache/name.json` when a cache is given."""
    path = cache / f"{name}.json" if cache else None
    done: dict[str, str] = json.loads(path.read_text("utf-8")) if path and path.exists() else {}
    todo = [p for p in pages if p.key not in done]
    if todo:
        if jobs > 1:
            from multiprocessing import Pool

            with Pool(jobs) as pool:
                results = pool.map(fn, todo, chunksize=8)
        else:
            results = [fn(p) for p in todo]
        done.update({p.key: r for p, r in zip(todo, results)})
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(done), "utf-8")
    return {p.key: done[p.key] for p in pages}


def _html_decoded(page: Page) -> str:
    """[status, text, article_text] of the page through the project's HTML path (ingest), as JSON."""
    from pipeline.ingest import parse_bytes

    rec = parse_bytes(page.html_bytes(), f"{page.key}.html", "html")
    return json.dumps([rec.status, rec.text, rec.article_text])


def _trafilatura_plain(page: Page) -> str:
    return _trafilatura_setting((page, "default"))


def _justext(page: Page) -> str:
    return justext_text(page.html_bytes())


# trafilatura settings compared by --trafilatura-settings, on the HTML as the project decodes it
TRAFILATURA_SETTINGS = {
    "default": {},
    "favor_precision": {"favor_precision": True},
    "favor_recall": {"favor_recall": True},
    "fast (no fallbacks)": {"fast": True},
}


def _trafilatura_setting(item: tuple[Page, str]) -> str:
    import trafilatura

    from pipeline.ingest import RejectedInput, decode_bytes

    page, setting = item
    try:
        html, _enc = decode_bytes(page.html_bytes())
    except RejectedInput:
        return ""
    doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False, as_dict=True,
                                      **TRAFILATURA_SETTINGS[setting])
    return (doc or {}).get("text") or ""


def compare_trafilatura(pages: Sequence[Page], scorer, cache: Path | None, jobs: int, sets: Sequence[str],
                        per_set: int | None = None, splits: Sequence[str] = ("train", "heldout")) -> None:
    """P/R/F1 of each trafilatura setting, train and held-back parts apart (with `per_set`,
    on that many pages of each set and part, the first by a hash of their key)."""
    if per_set:
        def rank(p: Page) -> bytes:
            return hashlib.blake2b(f"sample/{p.key}".encode(), digest_size=8).digest()

        pages = [p for s in sets for sp in splits
                 for p in sorted((q for q in pages if q.set == s and q.split == sp), key=rank)[:per_set]]
    print(f"{'trafilatura setting':24s} {'split':8s} {'set':12s} {'P':>6s} {'R':>6s} {'F1':>6s} {'pages':>6s}")
    for setting in TRAFILATURA_SETTINGS:
        name = "traf_" + re.sub(r"\W+", "_", setting)
        path = cache / f"{name}.json" if cache else None
        done = json.loads(path.read_text("utf-8")) if path and path.exists() else {}
        todo = [p for p in pages if p.key not in done]
        if todo:
            items = [(p, setting) for p in todo]
            if jobs > 1:
                from multiprocessing import Pool

                with Pool(jobs) as pool:
                    res = pool.map(_trafilatura_setting, items, chunksize=8)
            else:
                res = [_trafilatura_setting(it) for it in items]
            done.update({p.key: r for p, r in zip(todo, res)})
            if path:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(done), "utf-8")
        for split in splits:
            for s in tuple(sets) + ("mean",):
                if s == "mean":
                    parts = [[p for p in pages if p.split == split and p.set == x] for x in sets]
                    fs = [score(scorer, part, done) for part in parts]
                    f1, pr, rc = (sum(v[k] for v in fs) / len(fs) for k in range(3))
                    n = sum(len(part) for part in parts)
                else:
                    part = [p for p in pages if p.split == split and p.set == s]
                    f1, pr, rc = score(scorer, part, done)
                    n = len(part)
                print(f"{setting:24s} {split:8s} {s:12s} {pr:6.3f} {rc:6.3f} {f1:6.3f} {n:6d}", flush=True)


def html_documents(pages: Sequence[Page], cache: Path | None, jobs: int):
    import pandas as pd

    import inspect

    from pipeline import ingest

    from pipeline import pagetext

    # the cache is named after the HTML decoder's code: a change of it is a new entry
    source = inspect.getsource(ingest._from_html) + inspect.getsource(pagetext)
    digest = hashlib.blake2b(source.encode(), digest_size=4).hexdigest()
    got = _cached(cache, f"pipeline_html_{digest}", pages, _html_decoded, jobs)
    rows = []
    for page in pages:
        status, text, article = json.loads(got[page.key])
        rows.append({"doc_id": page.key, "status": status, "text": text, "source_format": "html", "article_text": article})
    return pd.DataFrame(rows, columns=["doc_id", "status", "text", "source_format", "article_text"])


# ------------------------------------------------------------------ scoring


def score(scorer, pages: Sequence[Page], predictions: dict[str, str]) -> tuple[float, float, float]:
    """(F1, P, R) of the shared scorer over these pages."""
    return scorer.summarize([scorer.page_counts(p.gold(), predictions.get(p.key, "")) for p in pages])


def write_predictions(out: Path, system: str, pages: Sequence[Page], predictions: dict[str, str]) -> None:
    for page in pages:
        folder = out / system.replace(" ", "_").replace(",", "") / page.set
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{page.id}.txt").write_text(predictions.get(page.key, ""), "utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", required=True, type=Path, help="the webpages folder (dragnet/, cleaneval/, readability/)")
    ap.add_argument("--set", action="append", choices=SETS, help="score only this set (repeatable); default all three")
    ap.add_argument("--split", default="heldout", choices=("heldout", "train", "all"))
    ap.add_argument("--html", action="store_true", help="also the HTML path, trafilatura and jusText on the .html.gz pages")
    ap.add_argument("--no-rules-only", action="store_true", help="skip the rules-only row")
    ap.add_argument("--scorer", type=Path, help="score_extraction.py (default: CORPUS/../../tools/score_extraction.py)")
    ap.add_argument("--out", type=Path, help="write each system's kept text per page under OUT/<system>/<set>/<id>.txt")
    ap.add_argument("--cache", type=Path, help="keep HTML extractions here between runs (JSON per system)")
    ap.add_argument("--jobs", type=int, default=1, help="processes for the HTML extractions")
    ap.add_argument("--trafilatura-settings", action="store_true",
                    help="only compare trafilatura's settings on the HTML (train and held-back parts)")
    ap.add_argument("--model-overrides-rules", action="store_true",
                    help="let the model keep paragraphs that soft rules claimed (not the shipped default)")
    ap.add_argument("--sample", type=int, help="with --trafilatura-settings: this many pages per set and part")
    ap.add_argument("--repeats-row", action="store_true",
                    help="also a row with the within-document repeats counted as text (how much the "
                         "stage's deduplication costs against golds that keep repeated paragraphs)")
    args = ap.parse_args(argv)

    scorer = load_scorer(args.scorer or args.corpus.resolve().parent.parent / "tools" / "score_extraction.py")
    sets = tuple(args.set or SETS)
    all_pages = load_pages(args.corpus, sets)
    scored = [p for p in all_pages if args.split == "all" or p.split == args.split]
    if args.trafilatura_settings:
        compare_trafilatura(all_pages, scorer, args.cache, args.jobs, sets, args.sample,
                            ("train", "heldout") if args.split == "all" else (args.split,))
        return 0
    systems: list[tuple[str, dict[str, str]]] = []
    t0 = time.perf_counter()

    # the stage runs over the scored pages as one corpus (the template rule counts them, as
    # a pipeline run over a folder of those pages would)
    dumps = decoded_documents(scored, "txt", Page.dump_bytes)
    systems.append(("pipeline text", kept_texts(dumps, overrides=args.model_overrides_rules)))
    if args.repeats_row:
        systems.append(("pipeline text, with repeats", kept_texts(dumps, overrides=args.model_overrides_rules,
                                                                  statuses=("kept", "duplicate"))))
    if not args.no_rules_only:
        systems.append(("pipeline text, rules only", kept_texts(dumps, use_model=False)))
    systems.append(("keep-all", {p.key: p.dump_bytes().decode("utf-8", "replace") for p in scored}))
    if args.html:
        docs = html_documents(scored, args.cache, args.jobs)  # the scored pages only (HTML is slow)
        systems.append(("pipeline html", kept_texts(docs)))
        if args.repeats_row:
            systems.append(("pipeline html, with repeats", kept_texts(docs, statuses=("kept", "duplicate"))))
        systems.append(("trafilatura (defaults)", _cached(args.cache, "traf_default", scored, _trafilatura_plain, args.jobs)))
        if importlib.util.find_spec("justext") is None:
            print("jusText is not installed (pip install -e '.[eval]'): no jusText row", file=sys.stderr)
        else:
            systems.append(("jusText", _cached(args.cache, "justext", scored, _justext, args.jobs)))

    print(f"split {args.split}: {len(scored)} pages ({', '.join(f'{s} {sum(p.set == s for p in scored)}' for s in sets)})")
    print(f"{'system':28s} {'set':12s} {'P':>6s} {'R':>6s} {'F1':>6s} {'pages':>6s}")
    for name, preds in systems:
        for s in sets + ("overall",):
            part = [p for p in scored if s in ("overall", p.set)]
            if s == "overall" and len(sets) == 1:
                continue
            f1, p, r = score(scorer, part, preds)
            print(f"{name:28s} {s:12s} {p:6.3f} {r:6.3f} {f1:6.3f} {len(part):6d}")
        if args.out:
            write_predictions(args.out, name, scored, preds)
    print(f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
