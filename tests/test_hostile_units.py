"""Odd input, one function at a time: each ends as a row (rejected with a reason, or ok
with the odd value nulled), never as an exception (issue #17). The same cases run end to
end through `pipeline run` in tests/test_hostile.py."""
from __future__ import annotations

import os
import textwrap
import time

import pytest

from pipeline import files
from pipeline.ingest import decode_bytes, guess_published_at, parse_bytes, parse_jsonl_line, read_file
from pipeline.paragraphs import LONG_BLOCK_CHARS, split_paragraphs

SENTENCE = "Officials said on Monday that about 500 soldiers arrived in Minsk, according to the ministry."


@pytest.mark.parametrize("encoding", ["utf-16-be", "utf-16-le"])
def test_utf16_without_a_byte_order_mark_is_text(encoding):
    text, used = decode_bytes((SENTENCE + "\n").encode(encoding))
    assert (text.strip(), used) == (SENTENCE, encoding)


def test_binary_bytes_are_still_binary():
    with pytest.raises(ValueError, match="binary"):
        decode_bytes(bytes(range(256)) * 8)


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-14:00", "0000-00-00", "2024-13-45", "12/45/2024"])
def test_dates_out_of_range_are_no_date(value):
    assert guess_published_at(f"Posted {value}\n\n{SENTENCE}") is None


def test_a_jsonl_date_out_of_range_leaves_the_document_ok_without_a_date():
    line = ('{"id": "../../etc", "text": "%s", "published_at": "9999-12-31T23:59:59-14:00"}' % SENTENCE).encode()
    rec = parse_jsonl_line(line, "feed.jsonl#1")
    assert rec.status == "ok" and rec.published_at is None


def test_deeply_nested_html_falls_back_to_its_visible_text():
    html = "<html><body>" + "<div>" * 50_000 + f"<p>{SENTENCE}</p>" + "</div>" * 50_000 + "</body></html>"
    rec = parse_bytes(html.encode(), "deep.html", "html")
    assert rec.status == "ok", rec.reason
    assert rec.text.strip() == SENTENCE


def test_a_long_hard_wrapped_article_is_cut_into_paragraphs_not_one_blob():
    body = [f"Paragraph {n}: " + " ".join(["the council said the new bridge would open next spring"] * 6) + "."
            for n in range(80)]
    text = "\n".join(textwrap.fill(p, 72) for p in body)
    assert len(text) > 4 * LONG_BLOCK_CHARS
    spans = split_paragraphs(text)
    assert len(spans) >= 10
    assert max(s.end - s.start for s in spans) <= LONG_BLOCK_CHARS
    assert "".join(text[s.start:s.end] for s in spans).replace("\n", "") == text.replace("\n", "")
    short = "\n".join(textwrap.fill(p, 72) for p in body[:2])  # a short wrapped block stays one paragraph
    assert len(split_paragraphs(short)) == 1


def test_symlink_loops_and_folder_links_are_rejected_rows(tmp_path):
    raw = tmp_path / "raw"
    (raw / "sub").mkdir(parents=True)
    os.symlink("self.txt", raw / "self.txt")
    os.symlink(".", raw / "loop")
    os.symlink("..", raw / "sub" / "up")
    listed = [rel for rel, _entry in __import__("pipeline.ingest", fromlist=["raw_entries"]).raw_entries(raw)]
    assert listed == ["loop", "self.txt", "sub/up"]
    for rel in listed:
        (rec,) = read_file(raw / rel, raw)
        assert rec.status == "rejected" and rec.reason.startswith("not a regular file"), (rel, rec.reason)
        assert rec.file_size is not None  # a stat is recorded: the file is not read again and again


def test_a_file_name_that_is_not_utf8_gets_a_reversible_ascii_key_and_a_printable_path(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    name = os.fsdecode(b"caf\xe9 \xff.txt")
    (raw / name).write_text(SENTENCE)
    key = files.partition_key(name)
    assert key.isascii() and files.relpath_of(key) == name
    (rec,) = read_file(raw / name, raw)
    assert rec.status == "ok"
    rec.source_path.encode("utf-8")  # storable as text
    assert rec.source_path == "caf\\xe9 \\xff.txt"


def test_an_edit_that_keeps_size_and_mtime_is_found_by_the_plan(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    path = raw / "a.txt"
    path.write_text(SENTENCE)
    old = time.time() - 60
    os.utime(path, (old, old))
    plan, _ = files.plan(raw, {})
    known = dict(plan.fingerprints)
    assert files.plan(raw, known)[0].to_process == []  # nothing changed: nothing to do
    st = path.stat()
    path.write_text(SENTENCE.replace("500", "900"))  # same length
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    plan, _ = files.plan(raw, known)
    assert plan.changed == ["a.txt"]


def test_a_plan_of_some_files_looks_at_those_alone(tmp_path):
    """`plan(only=...)` (a run's look at the files it read): those files' changes and
    deletions, every unit of a feed read, and nothing about the rest of the folder."""
    raw = tmp_path / "raw"
    raw.mkdir()
    old = time.time() - 60
    feed = "\n".join(f'{{"text": "Line {i}. {SENTENCE}"}}' for i in range(files.JSONL_UNIT_LINES + 5))
    for name, text in (("a.txt", SENTENCE), ("b.txt", SENTENCE + " b"), ("c.txt", SENTENCE + " c"), ("f.jsonl", feed)):
        (raw / name).write_text(text)
        os.utime(raw / name, (old, old))
    (raw / "sub").mkdir()
    os.symlink(".", raw / "loop")  # a link to a folder, and one to nothing: entries `scan` reports
    os.symlink("gone.txt", raw / "dangling.txt")
    known = dict(files.plan(raw, {}, settle_seconds=0)[0].fingerprints)
    assert len([u for u in known if u.startswith("f.jsonl#")]) == 2 and {"loop", "dangling.txt"} <= set(known)
    # the same entries whole-folder and one by one
    assert files.scan_files(raw, files.scan(raw)) == files.scan(raw)
    (raw / "a.txt").write_text(SENTENCE.replace("500", "9000"))  # read by the run, changed since
    os.utime(raw / "a.txt", (old, old))
    (raw / "b.txt").unlink()  # read by the run, gone since
    (raw / "c.txt").unlink()  # not read by the run: the next full plan's business
    (raw / "new.txt").write_text(SENTENCE)  # arrived meanwhile: the same
    os.utime(raw / "new.txt", (old, old))
    plan, current = files.plan(raw, known, only={"a.txt", "b.txt", "f.jsonl", "loop", "dangling.txt"},
                                settle_seconds=0)
    # (the link to the raw folder has the folder's stat, which changed: "changed", as in a full plan)
    assert plan.changed == ["a.txt", "loop"] and plan.new == [] and plan.deleted == ["b.txt"]
    # the feed's unchanged units, and the links, are neither new nor deleted
    assert set(current) == {"a.txt", "f.jsonl", "loop", "dangling.txt"}
    full, _ = files.plan(raw, known, settle_seconds=0)
    assert full.changed == plan.changed and full.new == ["new.txt"] and full.deleted == ["b.txt", "c.txt"]


def test_a_touched_identical_file_is_hashed_once_then_recognised(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text(SENTENCE)
    old = time.time() - 60
    os.utime(raw / "a.txt", (old, old))
    known = dict(files.plan(raw, {})[0].fingerprints)
    os.utime(raw / "a.txt", (old + 1, old + 1))
    plan, _ = files.plan(raw, known)
    assert plan.to_process == [] and plan.touched == ["a.txt"]
    known.update(plan.fingerprints)
    assert files.plan(raw, known)[0].touched == []


def test_fingerprints_of_older_registries_still_load():
    fp = files.Fingerprint.from_json([12, 34, "abc"])
    assert (fp.size, fp.mtime_ns, fp.sha256, fp.ctime_ns, fp.inode) == (12, 34, "abc", None, None)
    assert not fp.same_file_state(fp)  # no inode data: the bytes are hashed
    assert files.Fingerprint.from_json(fp.to_json()) == fp


# ------------------------------------------------------------------ long .jsonl feeds: units of work
def _feed(path, n: int, start: int = 0) -> None:
    import json

    with open(path, "a", encoding="utf-8") as fh:
        for i in range(start, start + n):
            fh.write(json.dumps({"id": i, "text": f"The council said on day {i} that {i} new homes were built."}) + "\n")


def test_a_long_feed_is_cut_into_units_of_lines_and_a_short_one_stays_whole(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    _feed(raw / "long.jsonl", 2 * files.JSONL_UNIT_LINES + 5)
    _feed(raw / "short.jsonl", 3)
    old = time.time() - 60
    for p in raw.iterdir():
        os.utime(p, (old, old))
    plan, _ = files.plan(raw, {})
    n = files.JSONL_UNIT_LINES
    assert plan.new == [f"long.jsonl#lines=1-{n}", f"long.jsonl#lines={n + 1}-{2 * n}",
                        f"long.jsonl#lines={2 * n + 1}-{2 * n + 5}", "short.jsonl"]
    assert [files.weight(u) for u in plan.new] == [n, n, 5, 1]
    # each unit's fingerprint is the digest of the lines ingest reads for it
    for unit in plan.new[:3]:
        file, lines = files.unit_of(unit)
        records = list(read_file(raw / file, raw, lines=lines))
        assert len(records) == lines[1] - lines[0] + 1
        assert {r.file_sha256 for r in records} == {plan.fingerprints[unit].sha256}
        assert records[0].source_path == f"long.jsonl#{lines[0]}"
    known = dict(plan.fingerprints)
    assert files.plan(raw, known)[0].to_process == []
    _feed(raw / "long.jsonl", 10, start=2 * n + 5)  # appended lines: only the last unit changes
    plan, _ = files.plan(raw, known, settle_seconds=0)
    assert plan.new == [f"long.jsonl#lines={2 * n + 1}-{2 * n + 15}"]
    assert plan.deleted == [f"long.jsonl#lines={2 * n + 1}-{2 * n + 5}"]
    assert plan.changed == [] and sorted(plan.touched) == plan.touched and len(plan.touched) == 2


def test_batches_count_the_documents_of_feed_units():
    n = files.JSONL_UNIT_LINES
    units = [f"f.jsonl#lines={i * n + 1}-{(i + 1) * n}" for i in range(5)] + ["a.txt", "b.txt"]
    keys = [files.partition_key(u) for u in units]
    out = files.batches(keys, batch_size=2 * n)
    assert [len(b) for b in out] == [2, 2, 3]  # two units of n lines fill a batch of 2n documents; files add 1 each
    assert [len(b) for b in files.batches(keys, batch_size=n + 1)] == [1, 1, 1, 1, 2, 1]
