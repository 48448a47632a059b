"""Hostile inputs (issue #17 item 4), end to end through the real `pipeline run`.

Most inputs share ONE raw folder beside two good seed articles: a module fixture runs
`pipeline run` twice over it (first run, then unchanged), then appends a paragraph to a
seed and runs a third time (the issue's headline reproduction, with the hostile files
present). Each case then asserts on that shared result: its document's status and
reason, that the good articles are `ok` with claims, that the warehouse meets the
contract and that the next run exits 0 and publishes. Inputs too big to share a folder
(a 50,000-line .jsonl, 100,000 tiny paragraphs, a 15 MB line under the default limit)
have their own tests.

Run:  .venv/bin/python -m pytest tests/test_hostile.py tests/test_faults.py -m slow
"""
from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import textwrap
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pytest

from tests import hostile_support as hs

pytestmark = pytest.mark.slow
MAX_BYTES = 1_000_000  # PIPELINE_MAX_FILE_BYTES for the shared folder: at/over-limit files stay cheap
APPENDED = ("The ministry said on Friday that another 1,250 soldiers would arrive in Brest next week, "
            "according to a statement.\n")


# ---------------------------------------------------------------- inputs


def hard_wrapped_article(n_bytes: int = 25_000) -> str:
    """A real-looking article of distinct attributed sentences, wrapped at 72 columns, no blank line."""
    rng = random.Random(17)
    speakers = ["The ministry", "Officials", "The mayor", "A spokeswoman for the agency", "The governor",
                "Police", "The company", "Health officials", "The central bank", "Union leaders"]
    places = ["Minsk", "Brest", "Gomel", "Vitebsk", "Grodno", "Mogilev", "Pinsk", "Lida", "Orsha", "Bobruisk"]
    things = ["workers", "families", "tonnes of grain", "vehicles", "patients", "students", "homes",
              "jobs", "flights", "trains"]
    days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    verbs = ["had been affected in", "were reported in", "were moved to", "were counted in", "had arrived in"]
    out, n = [], 0
    while n < n_bytes:
        k = rng.randint(11, 98_765)
        s = rng.choice([
            f"{rng.choice(speakers)} said on {rng.choice(days)} that about {k:,} {rng.choice(things)} "
            f"{rng.choice(verbs)} {rng.choice(places)}.",
            f"According to {rng.choice(speakers).lower()}, {k:,} {rng.choice(things)} {rng.choice(verbs)} "
            f"{rng.choice(places)} since {rng.choice(days)}.",
            f"\"We expect at least {k:,} more {rng.choice(things)} in {rng.choice(places)},\" "
            f"{rng.choice(speakers).lower()} told reporters.",
            f"Prices in {rng.choice(places)} rose by {rng.randint(2, 40)} percent last year, "
            f"{rng.choice(speakers).lower()} said.",
        ])
        out.append(s)
        n += len(s) + 1
    return textwrap.fill(" ".join(out), width=72) + "\n"


HUGE_NUMBER = (
    "Scientists at the national water agency said on Tuesday that the oceans hold about "
    "1,335,000,000,000,000,000,000 litres of water, according to a new survey.\n\n"
    "The agency said that the survey took 14 months and cost 3.5 million dollars.\n\n"
    "Officials said the findings would be published in full next month.\n"
)


def _padded(head: bytes, size: int) -> bytes:
    assert len(head) < size
    return head + b" " * (size - len(head) - 1) + b"\n"


def _nested_html(depth: int) -> bytes:
    body = "<p>" + hs.good(4_321, "Gomel") + "</p><p>" + hs.good(8_765, "Pinsk") + "</p>"
    return ("<html><head><title>Deep</title></head><body>" + "<div>" * depth + body + "</div>" * depth
            + "</body></html>").encode()


def _cjk() -> bytes:
    return ("国防部星期一表示，约有五百名士兵抵达明斯克。\n\n官员说，另有三百辆坦克将于下周抵达布列斯特。\n\n"
            "東京の当局者によると、約二千人が避難した。\n").encode()


def _rtl() -> bytes:
    return ("قال مسؤولون يوم الاثنين إن نحو 500 جندي وصلوا إلى مينسك، بحسب الوزارة.\n\n"
            "אמרו פקידים ביום שני כי כ-500 חיילים הגיעו למינסק, כך לפי המשרד.\n").encode()


def _zero_width() -> bytes:
    return ("Offi\u200bcials said on Mon\u200dday that about 2,345 sol\u2060diers arrived in Vi\ufefftebsk, "
            "according to the minis\u200ctry.\n\nThe ministry said on Tuesday that 77 more would follow.\n").encode()


def _three_paragraphs(n: int) -> str:
    """Three unlike paragraphs (like ones would be near repeats of each other), one per line."""
    return (f"Officials said on Monday that about {n} soldiers arrived in Orsha, according to the ministry.\n"
            f"The mayor told reporters that the city budget would rise by {n + 1} percent next year.\n"
            f"Farmers in the region harvested {n + 2},000 tonnes of wheat in August, the agriculture office said.\n")


def _crlf() -> bytes:
    return _three_paragraphs(31).replace("\n", "\r\n").encode()


def _lone_cr() -> bytes:
    return _three_paragraphs(41).replace("\n", "\r").encode()


def _bom_mid() -> bytes:
    return (hs.good(51, "Brest") + "\n\ufeff" + hs.good(52, "Gomel")).encode("utf-8")


def _utf16be_nobom() -> bytes:
    return (hs.good(61, "Brest") + "\n" + hs.good(62, "Pinsk")).encode("utf-16-be")


def _lying_latin1_meta() -> bytes:  # says Latin-1, is UTF-8
    return ('<html><head><meta charset="iso-8859-1"><title>Café</title></head><body><article>'
            "<p>Officials said on Monday that the café in Minsk served about 900 guests, according to the owner. "
            "It’s the city’s busiest.</p></article></body></html>").encode("utf-8")


def _lying_utf8_meta() -> bytes:  # says UTF-8, is cp1252
    return ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body><article>'
            "<p>Officials said on Monday that “up to 9,100 troops” arrived in Brest — it’s official, "
            "according to the ministry.</p></article></body></html>").encode("cp1252")


def _json_named_html() -> bytes:
    return json.dumps({"title": "Not HTML", "text": hs.good(7_070, "Lida")}).encode()


def _ids_jsonl() -> bytes:
    lines = [
        {"id": None, "text": hs.good(1_001, "Brest")},
        {"id": 12345, "text": hs.good(1_002, "Gomel")},
        {"id": 10**40, "text": hs.good(1_003, "Pinsk")},
        {"id": "dup", "text": hs.good(1_004, "Lida")},
        {"id": "dup", "text": hs.good(1_005, "Orsha")},
        {"id": "../../../escaped", "text": hs.good(1_006, "Vitebsk")},
        {"id": "/tmp/abs-id", "text": hs.good(1_007, "Grodno")},
    ]
    return "\n".join(json.dumps(x) for x in lines).encode() + b"\n"


def _dates_jsonl() -> bytes:
    lines = [
        {"text": hs.good(2_001, "Brest"), "published_at": "9999-12-31T23:59:59-14:00"},
        {"text": hs.good(2_002, "Gomel"), "published_at": "0001-01-01T00:00:00+14:00"},
        {"text": hs.good(2_003, "Pinsk"), "published_at": "32/13/2024 99:99"},
        {"text": hs.good(2_004, "Lida"), "published_at": "yesterday-ish, around teatime"},
        {"text": hs.good(2_005, "Orsha"), "published_at": 1700000000},
    ]
    return "\n".join(json.dumps(x) for x in lines).encode() + b"\n"


def _feed_jsonl() -> bytes:
    return (json.dumps({"id": "1", "text": hs.good(3_001, "Minsk")}) + "\n{not json\n"
            + json.dumps({"html": "<html><body><p>" + hs.good(3_003, "Brest") + "</p></body></html>"}) + "\n").encode()


def build_hostile_folder(root: Path) -> tuple[Path, Path]:
    """The shared raw folder; returns (raw, outside-file)."""
    raw = root / "raw"
    hs.seed_raw(raw)
    rng = random.Random(4)
    files: dict[str, bytes] = {
        "random.txt": bytes(rng.getrandbits(8) for _ in range(8192)),
        "nul.txt": hs.good(111, "Brest").replace("soldiers", "sol\x00diers").encode() + b"\x00\x00" + hs.good(112).encode(),
        "one_line_15mb.txt": b"word " * (3 * 1024 * 1024),  # 15 MiB, one line: over this folder's limit
        "at_limit.txt": _padded(hs.good(121, "Lida").encode(), MAX_BYTES),
        "over_limit.txt": _padded(hs.good(122, "Lida").encode(), MAX_BYTES + 1),
        "nested.html": _nested_html(50_000),
        "lying_latin1_meta.html": _lying_latin1_meta(),
        "lying_utf8_meta.html": _lying_utf8_meta(),
        "gzip.txt": gzip.compress((hs.good(131) * 20).encode()),
        "json.html": _json_named_html(),
        "ids.jsonl": _ids_jsonl(),
        "dates.jsonl": _dates_jsonl(),
        "feed.jsonl": _feed_jsonl(),
        "garbage_date.txt": ("Published: 32/13/2024 99:99 GMT+99\n\n" + hs.good(141, "Grodno")).encode(),
        "date_9999.txt": ("9999-12-31T23:59:59-14:00\n\n" + hs.good(142, "Vitebsk")).encode(),
        "whitespace.txt": b" \t\n\r\n   \n\t\t \n",
        "empty.txt": b"",
        "image.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
        "latin1.txt": "Le ministère a déclaré lundi qu’environ 500 soldats étaient arrivés à Minsk.".replace("’", "'").encode("latin-1"),
        "utf16.txt": ("\ufeff" + hs.good(151, "Brest")).encode("utf-16-le"),
        "utf16be_nobom.txt": _utf16be_nobom(),
        "cjk.txt": _cjk(),
        "rtl.txt": _rtl(),
        "zero_width.txt": _zero_width(),
        "crlf.txt": _crlf(),
        "lone_cr.txt": _lone_cr(),
        "bom_mid.txt": _bom_mid(),
        "hard_wrapped.txt": hard_wrapped_article().encode(),
        "huge_number.txt": HUGE_NUMBER.encode(),
        "only_boilerplate.txt": b"Skip to main content\nAccept cookies\nSubscribe to our newsletter\n"
                                b"\xc2\xa9 2024 Example News. All rights reserved.\n",
        "partial.txt.part": b"not yet",
        'quote"s \'name\'.txt': hs.good(161, "Orsha").encode(),
        "new\nline.txt": hs.good(162, "Gomel").encode(),
        "100% sure %s %n.txt": hs.good(163, "Pinsk").encode(),
        ("n" * 246 + ".txt"): hs.good(164, "Lida").encode(),  # a 250-byte name
        "hard_a.txt": hs.good(171, "Bobruisk").encode(),
        "folder.txt/inner.txt": hs.good(181, "Mogilev").encode(),  # a folder named like a file
        "sub/inner.txt": hs.good(182, "Mogilev").encode(),
        "notes.pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
    }
    for name, data in files.items():
        path = raw / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    os.link(raw / "hard_a.txt", raw / "hard_b.txt")
    os.symlink(".", raw / "loop")
    os.symlink("..", raw / "sub" / "up")
    os.symlink("self.txt", raw / "self.txt")
    outside = root / "outside.txt"
    outside.write_text(hs.good(199, "Lida"))
    os.symlink(outside, raw / "link_outside.txt")
    return raw, outside


# ---------------------------------------------------------------- the shared runs


@dataclass
class Shared:
    raw: Path
    wh: Path
    outside: Path
    runs: list = field(default_factory=list)  # hs.Run per run
    snaps: list = field(default_factory=list)  # hs.snapshot after each run
    strays: list = field(default_factory=list)  # files the runs wrote outside the warehouse and DAGSTER_HOME


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Shared:
    root = tmp_path_factory.mktemp("hostile")
    raw, outside = build_hostile_folder(root)
    wh, home = root / "wh", root / "home"
    res = Shared(raw, wh, outside)
    extra = {"PIPELINE_MAX_FILE_BYTES": MAX_BYTES}
    res.runs.append(hs.run(raw, wh, home, timeout=900, **extra))
    res.snaps.append(hs.snapshot(wh))
    res.runs.append(hs.run(raw, wh, home, timeout=900, **extra))
    res.snaps.append(hs.snapshot(wh))
    # the headline reproduction: an ordinary edit with the hostile files present
    with open(raw / hs.SEED_A.name, "a", encoding="utf-8") as fh:
        fh.write("\n" + APPENDED)
    res.runs.append(hs.run(raw, wh, home, timeout=900, **extra))
    res.snaps.append(hs.snapshot(wh))
    res.strays = sorted(str(p) for p in root.iterdir() if p.name not in {"raw", "wh", "home", "outside.txt"})
    res.strays += [p for p in ("/tmp/abs-id", "/escaped") if os.path.exists(p)]
    return res


def _first_run_ok(s: Shared) -> None:
    first = s.runs[0]
    assert first.returncode == 0 and first.published, first.tail()


def _common(s: Shared) -> None:
    """What every case asserts beside its own row: exit 0 and published, the good articles
    kept with claims, the contract, and the next (unchanged) run exits 0 and publishes."""
    _first_run_ok(s)
    assert hs.good_docs_problems(s.snaps[0]["tables"]) == []
    assert s.snaps[0]["contract"] == []
    second = s.runs[1]
    assert second.returncode == 0 and second.published, second.tail()
    assert s.snaps[1]["contract"] == []
    assert hs.good_docs_problems(s.snaps[1]["tables"]) == []


@dataclass(frozen=True)
class Case:
    id: str
    path: str | Callable  # the documents.source_path, or a predicate on it
    expect: str  # "ok", "rejected", "ok|rejected" (either, with a reason when rejected) or "absent"
    words: tuple = ()  # when rejected: the reason holds one of these (case-insensitive)
    check: Callable | None = None  # more assertions: check(row, tables)


def _text_has(*needles):
    def check(r, t):
        for n in needles:
            assert n in r["text"], (n, r["text"][:300])
    return check


def _no_chars(*chars):
    def check(r, t):
        if r["status"] == "ok":
            for c in chars:
                assert c not in r["text"], (repr(c), r["text"][:300])
    return check


def _paragraphs_at_least(n, kept_claims=0):
    def check(r, t):
        p = t["paragraphs"]
        mine = p[p["doc_id"] == r["doc_id"]]
        kept = mine[mine["status"] == "kept"]
        assert len(kept) >= n, (len(mine), mine[["status", "reason"]].value_counts().to_dict())
        if kept_claims:
            n_claims = hs.claims_per_doc(t).get(r["doc_id"], 0)
            assert n_claims >= kept_claims, f"{n_claims} claims"
    return check


def _has_claims(r, t):
    assert hs.claims_per_doc(t).get(r["doc_id"], 0) > 0, "no claims"


def _published_at_sane(r, t):
    v = r["published_at"]
    if v is not None and not (isinstance(v, float)) and str(v) != "NaT":
        assert datetime(1800, 1, 1, tzinfo=timezone.utc) <= v.to_pydatetime() <= datetime(2200, 1, 1, tzinfo=timezone.utc), v


def _huge_number(r, t):
    _has_claims(r, t)
    q = t["claim_quantities"]
    c = t["claims"]
    mine = q[q["claim_id"].isin(c[c["doc_id"] == r["doc_id"]]["claim_id"])]
    assert len(mine) >= 1, "no quantities for the article"


def _hardlink(r, t):
    seen = r["also_seen_at"] or ""
    assert "hard_b.txt" in seen, seen


def _jsonl_line_ok(r, t):
    _has_claims(r, t)


def _bad_name(p):
    return isinstance(p, str) and p.startswith("bad") and p.endswith("name.txt")


CASES = [
    Case("random_binary", "random.txt", "rejected", ("binary", "not text")),
    Case("nul_bytes", "nul.txt", "ok|rejected", ("binary", "nul"), _no_chars("\x00")),
    Case("15mb_single_line_over_limit", "one_line_15mb.txt", "rejected", ("larger than",)),
    Case("at_size_limit", "at_limit.txt", "ok", (), _text_has("121 soldiers")),
    Case("over_size_limit", "over_limit.txt", "rejected", ("larger than",)),
    Case("nested_html_deep", "nested.html", "ok", (), _text_has("4,321 soldiers", "8,765 soldiers")),
    Case("lying_meta_latin1", "lying_latin1_meta.html", "ok", (), _text_has("café", "It’s")),
    Case("lying_meta_utf8", "lying_utf8_meta.html", "ok", (), _text_has("“up to 9,100 troops”", "it’s official")),
    Case("gzip_named_txt", "gzip.txt", "rejected", ("binary", "compressed", "gzip", "not text")),
    Case("json_named_html", "json.html", "ok|rejected", ("html", "json")),
    *[Case(f"jsonl_id_{label}", f"ids.jsonl#{i}", "ok", (), _jsonl_line_ok)
      for i, label in enumerate(["null", "numeric", "huge", "duplicate_1", "duplicate_2", "dotdot", "absolute"], 1)],
    *[Case(f"jsonl_published_at_{label}", f"dates.jsonl#{i}", "ok", (), _published_at_sane)
      for i, label in enumerate(["9999-12-31T23:59:59-14:00", "0001-01-01+14:00", "garbage", "words", "number"], 1)],
    Case("jsonl_malformed_line", "feed.jsonl#2", "rejected", ("malformed json",)),
    Case("jsonl_good_line_beside_malformed", "feed.jsonl#1", "ok", (), _has_claims),
    Case("jsonl_html_line", "feed.jsonl#3", "ok", (), _has_claims),
    Case("garbage_date_txt", "garbage_date.txt", "ok", (), _published_at_sane),
    Case("date_9999_txt", "date_9999.txt", "ok", (), _published_at_sane),
    Case("whitespace_only", "whitespace.txt", "rejected", ("empty", "whitespace", "no text")),
    Case("empty_file", "empty.txt", "rejected", ("empty",)),
    Case("png_named_txt", "image.txt", "rejected", ("binary",)),
    Case("latin1_text", "latin1.txt", "ok", (), _text_has("ministère", "déclaré")),
    Case("utf16_with_bom", "utf16.txt", "ok", (), _text_has("151 soldiers")),
    Case("utf16be_without_bom", "utf16be_nobom.txt", "ok", (), _text_has("61 soldiers", "62 soldiers")),
    Case("cjk_text", "cjk.txt", "ok", (), _text_has("明斯克")),
    Case("rtl_text", "rtl.txt", "ok", (), _text_has("مينسك", "למינסק")),
    Case("zero_width_chars", "zero_width.txt", "ok", (), _has_claims),
    Case("crlf", "crlf.txt", "ok", (), _paragraphs_at_least(3)),
    Case("lone_cr", "lone_cr.txt", "ok", (), _paragraphs_at_least(3)),
    Case("bom_mid_file", "bom_mid.txt", "ok", (), _text_has("51 soldiers", "52 soldiers")),
    Case("hard_wrapped_25kb", "hard_wrapped.txt", "ok", (), _paragraphs_at_least(2, kept_claims=5)),
    Case("huge_number", "huge_number.txt", "ok", (), _huge_number),
    Case("only_boilerplate", "only_boilerplate.txt", "ok|rejected", ("boilerplate", "no text", "empty")),
    Case("partial_download_ignored", "partial.txt.part", "absent"),
    Case("name_with_quotes", 'quote"s \'name\'.txt', "ok", (), _has_claims),
    Case("name_with_newline", "new\nline.txt", "ok", (), _has_claims),
    Case("name_with_percent", "100% sure %s %n.txt", "ok", (), _has_claims),
    Case("name_250_bytes", "n" * 246 + ".txt", "ok", (), _has_claims),
    Case("hardlinks", "hard_a.txt", "ok", (), _hardlink),
    Case("folder_named_like_a_file", "folder.txt/inner.txt", "ok", (), _has_claims),
    Case("file_beside_dir_symlink_loop", "sub/inner.txt", "ok", (), _has_claims),
    Case("self_symlink_loop", "self.txt", "rejected", ("not a regular file", "loop", "symlink")),
    Case("symlink_outside_raw", "link_outside.txt", "rejected", ("outside the raw folder",)),
    Case("unsupported_type", "notes.pdf", "rejected", ("unsupported",)),
]


def _find(t: dict, case: Case):
    d = t["documents"]
    if callable(case.path):
        rows = d[d["source_path"].map(case.path)]
    else:
        rows = d[d["source_path"] == case.path]
    return rows


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(shared, case):
    t = shared.snaps[0]["tables"]
    if t["documents"] is None:
        _first_run_ok(shared)  # fails with the run's output
        pytest.fail("nothing published")
    rows = _find(t, case)
    if case.expect == "absent":
        assert len(rows) == 0, rows[["source_path", "status", "reason"]]
    else:
        statuses = dict(zip(t["documents"]["source_path"], t["documents"]["status"]))
        assert len(rows) == 1, (f"{len(rows)} rows for {case.path!r}; first run: {shared.runs[0].tail(1500)}",
                                sorted(statuses)[:80])
        r = rows.iloc[0]
        allowed = set(case.expect.split("|"))
        assert r["status"] in allowed, (r["status"], r["reason"])
        if r["status"] == "rejected":
            assert r["reason"] and any(w.lower() in r["reason"].lower() for w in case.words or ("",)), r["reason"]
        if case.check and r["status"] == "ok":
            case.check(r, t)
    # unchanged on the second run, whatever it is
    t2 = shared.snaps[1]["tables"]
    if t2["documents"] is not None and case.expect != "absent":
        rows2 = _find(t2, case)
        assert len(rows2) == 1 and rows2.iloc[0]["status"] == rows.iloc[0]["status"]
    _common(shared)


def test_dir_symlink_loops_are_not_followed_forever(shared):
    """raw/loop -> . and raw/sub/up -> ..: each real file is one document, found once."""
    t = shared.snaps[0]["tables"]
    _first_run_ok(shared)
    paths = list(t["documents"]["source_path"])
    looped = [p for p in paths if "loop/" in p or "/up/" in p]
    # following a loop at most once would give copies of the same bytes (also_seen_at), never new ok rows
    ok = t["documents"][t["documents"]["status"] == "ok"]
    assert not [p for p in ok["source_path"] if "loop/" in p or "/up/" in p], looped
    assert len(paths) == len(set(paths))
    _common(shared)


def test_jsonl_ids_do_not_escape(shared):
    """ids like ../../../escaped and /tmp/abs-id are data, not paths: nothing is written outside."""
    _first_run_ok(shared)
    assert shared.strays == []
    assert shared.outside.read_text() == hs.good(199, "Lida")  # the target of link_outside.txt is untouched


def test_first_run_reports_and_second_run_is_a_no_op(shared):
    """Run 2 over the unchanged folder: exit 0, nothing new (rejected files are not re-read
    every run), identical tables."""
    _first_run_ok(shared)
    second = shared.runs[1]
    assert second.returncode == 0 and second.published, second.tail()
    assert second.files_line().startswith("files: 0 new, 0 changed, 0 deleted"), second.files_line()
    assert hs.corpus_frames_equal(shared.snaps[0]["tables"], shared.snaps[1]["tables"]) == []


def test_append_to_seed_with_hostile_files_publishes_on_the_next_run(shared):
    """The issue's headline: an ordinary edit after runs with the hostile files present is
    published by the very next run (was: ArrowInvalid in the corpus step, on every run)."""
    third = shared.runs[2]
    assert third.returncode == 0 and third.published, third.tail()
    assert "1 changed" in third.files_line(), third.files_line()
    t = shared.snaps[2]["tables"]
    assert shared.snaps[2]["contract"] == []
    r = hs.row(t, hs.SEED_A.name)
    assert r is not None and r["status"] == "ok" and "another 1,250 soldiers" in r["text"]
    assert hs.good_docs_problems(t) == []
    # and nothing else lost: every row of run 2 other than the edited file is still there
    before = shared.snaps[1]["tables"]["documents"]
    assert set(before["source_path"]) <= set(t["documents"]["source_path"])


# ---------------------------------------------------------------- inputs with their own runs


def _two_runs(tmp_path, build, timeout=900, **extra):
    raw, wh, home = tmp_path / "raw", tmp_path / "wh", tmp_path / "home"
    hs.seed_raw(raw)
    build(raw)
    first = hs.run(raw, wh, home, timeout=timeout, **extra)
    snap = hs.snapshot(wh)
    with open(raw / hs.SEED_B.name, "a", encoding="utf-8") as fh:
        fh.write("\n" + APPENDED)
    second = hs.run(raw, wh, home, timeout=timeout, **extra)
    return first, snap, second, hs.snapshot(wh)


def _assert_two_runs(first, snap, second, snap2):
    assert first.returncode == 0 and first.published, first.tail()
    assert snap["contract"] == []
    assert hs.good_docs_problems(snap["tables"]) == []
    assert second.returncode == 0 and second.published, second.tail()
    assert snap2["contract"] == []
    r = hs.row(snap2["tables"], hs.SEED_B.name)
    assert r is not None and "another 1,250 soldiers" in r["text"]


FEED_LINES = 1_450  # a long feed at CI size; bench/jsonl_vs_files.py times 50,000-line feeds against files


def test_a_long_jsonl_feed_is_processed_in_units_of_lines(tmp_path):
    """A long .jsonl of short articles: cut into units of lines, processed in batches like
    that many files (not one unit of work), each line a document; appending lines to it
    reprocesses only its last unit."""
    from pipeline.files import JSONL_UNIT_LINES

    def build(raw):
        with open(raw / "many.jsonl", "w") as fh:
            for i in range(FEED_LINES):
                fh.write(json.dumps({"id": i, "text": f"The council said on Monday that {i + 7:,} residents of "
                                                       f"district {i} signed petition number {i * 3 + 1}."}) + "\n")
    first, snap, second, snap2 = _two_runs(tmp_path, build, timeout=900, PIPELINE_BATCH_SIZE=400)
    d = snap["tables"]["documents"]
    assert d is not None, first.tail()
    lines = d[d["source_path"].str.startswith("many.jsonl#")]
    assert len(lines) == FEED_LINES and set(lines["status"]) <= {"ok", "duplicate"}, lines["status"].value_counts()
    units = -(-FEED_LINES // JSONL_UNIT_LINES)
    assert f"{units + 2} new" in first.files_line(), first.files_line()  # the units and the two seeds
    n_batches = int(first.files_line().rsplit(";", 1)[1].split()[0])
    assert n_batches >= FEED_LINES // 400, first.files_line()  # batches of ~400 documents, not one unit of work
    _assert_two_runs(first, snap, second, snap2)
    assert "0 new" in second.files_line() and "1 changed" in second.files_line(), second.files_line()
    with open(tmp_path / "raw" / "many.jsonl", "a") as fh:  # new lines: only the last unit is read again
        fh.write(json.dumps({"id": "late", "text": "The mayor said on Friday that 12 new parks would open."}) + "\n")
    third = hs.run(tmp_path / "raw", tmp_path / "wh", tmp_path / "home", timeout=900, PIPELINE_BATCH_SIZE=400)
    assert third.returncode == 0 and third.published, third.tail()
    assert "1 new, 0 changed, 1 deleted" in third.files_line(), third.files_line()
    d3 = hs.snapshot(tmp_path / "wh")["tables"]["documents"]
    assert len(d3[d3["source_path"].str.startswith("many.jsonl#")]) == FEED_LINES + 1
    print(f"{FEED_LINES}-line .jsonl: first run {first.seconds:.0f} s, second {second.seconds:.0f} s")


def test_non_utf8_file_name(tmp_path):
    """A name with bytes that are not UTF-8 (b"bad\\xff\\xfename.txt"): that file's row (ok,
    or rejected with a reason), the rest of the folder processed. Its own folder: today it
    stops the whole run before any file is read, which would hide every other case."""
    def build(raw):
        with open(os.fsencode(raw) + b"/bad\xff\xfename.txt", "wb") as fh:
            fh.write(hs.good(191, "Brest").encode())
    first, snap, second, snap2 = _two_runs(tmp_path, build)
    d = snap["tables"]["documents"]
    assert d is not None, first.tail()
    rows = d[d["source_path"].map(_bad_name)]
    assert len(rows) == 1, sorted(d["source_path"])
    r = rows.iloc[0]
    assert r["status"] == "ok" or (r["status"] == "rejected" and r["reason"]), (r["status"], r["reason"])
    _assert_two_runs(first, snap, second, snap2)


def test_huge_inputs_under_the_default_limit(tmp_path):
    """A 15 MB single line and 100,000 tiny paragraphs, under the default 16 MiB limit:
    each a document (ok, or rejected with a reason), the run finishes and publishes."""
    def build(raw):
        (raw / "line_15mb.txt").write_bytes(b"word " * (3 * 1024 * 1024))
        (raw / "tiny_paragraphs.txt").write_text("".join(f"Item {i}.\n\n" for i in range(100_000)))
    first, snap, second, snap2 = _two_runs(tmp_path, build, timeout=900)
    d = snap["tables"]["documents"]
    assert d is not None, first.tail()
    for name in ("line_15mb.txt", "tiny_paragraphs.txt"):
        r = hs.row(snap["tables"], name)
        assert r is not None, name
        assert r["status"] == "ok" or (r["status"] == "rejected" and r["reason"]), (name, r["status"], r["reason"])
    _assert_two_runs(first, snap, second, snap2)
    print(f"huge inputs: first run {first.seconds:.0f} s, second {second.seconds:.0f} s")
