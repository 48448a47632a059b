from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pipeline.ingest import (
    DocumentRecord,
    RejectedInput,
    decode_bytes,
    detect_language,
    guess_published_at,
    guess_title,
    ingest,
    list_raw_files,
    read_file,
)

ARTICLE = (
    "Russia deploys troops to Belarus\n\n"
    "The Belarusian defence ministry said on Monday (10/17/2022) that the first trains carrying "
    "Russian soldiers had arrived in the country.\n\n"
    "Officials said up to 9,000 troops would take part in the exercises over the coming weeks.\n"
)

HTML = (
    "<html><head><title>Troops arrive in Belarus</title></head><body>"
    "<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
    "<article><h1>Troops arrive in Belarus</h1>"
    "<p>The Belarusian defence ministry said on Monday that the first trains carrying Russian soldiers "
    "had arrived in the country, as part of a regional grouping of forces.</p>"
    "<p>Officials said up to 9,000 troops would take part in the exercises over the coming weeks, "
    "with more equipment expected to follow.</p></article></body></html>"
)

PNG_HEADER = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00\x1f\xf3\xffa"
)


def sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def by_path(records: list[DocumentRecord]) -> dict[str, DocumentRecord]:
    return {r.source_path: r for r in records}


@pytest.fixture()
def raw(tmp_path: Path) -> Path:
    d = tmp_path / "raw"
    d.mkdir()
    return d


# ---------------------------------------------------------------- list_raw_files
def test_list_raw_files_skips_hidden_and_partial_and_sorts(raw):
    for name in ["b.txt", "a.txt", "c.html", "z.jsonl", ".hidden.txt",
                 "dl.txt.part", "x.tmp", "y.crdownload", "notes.pdf"]:
        (raw / name).write_text("x")
    (raw / "sub").mkdir()
    (raw / "sub" / "deep.md").write_text("x")
    (raw / "sub" / "more").mkdir()
    (raw / "sub" / "more" / "a.txt").write_text("x")
    (raw / ".git").mkdir()
    (raw / ".git" / "inside.txt").write_text("x")
    (raw / "empty_dir").mkdir()

    got = [p.relative_to(raw).as_posix() for p in list_raw_files(raw)]
    # unsupported suffixes are still listed (read_file rejects them, nothing is dropped silently)
    assert got == ["a.txt", "b.txt", "c.html", "notes.pdf", "sub/deep.md", "sub/more/a.txt", "z.jsonl"]


def test_list_raw_files_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        list_raw_files(tmp_path / "nope")


def test_list_raw_files_includes_symlinks(raw, tmp_path):
    target = tmp_path / "outside.txt"
    target.write_text("x")
    (raw / "link.txt").symlink_to(target)
    (raw / "dangling.txt").symlink_to(tmp_path / "missing.txt")
    assert [p.name for p in list_raw_files(raw)] == ["dangling.txt", "link.txt"]


# ---------------------------------------------------------------- decode_bytes
def test_decode_utf8():
    assert decode_bytes("Hello café “world” — ok.\n".encode()) == ("Hello café “world” — ok.\n", "utf-8")


def test_decode_utf8_with_bom():
    text, enc = decode_bytes(b"\xef\xbb\xbfHello caf\xc3\xa9 world.\n")
    assert text == "Hello café world.\n"
    assert enc == "utf-8-sig"
    assert not text.startswith("\ufeff")


def test_decode_latin1():
    raw = b"caf\xe9 au lait is served in the caf\xe9 near the station every morning.\n"
    text, enc = decode_bytes(raw)
    assert text == "café au lait is served in the café near the station every morning.\n"
    assert enc != "utf-8"


@pytest.mark.parametrize(
    "sentence",
    [
        "El niño está en la señal de España mañana por la mañana.",
        "Zürich und München sind schön, sagt der Bürgermeister heute.",
        "Crème brûlée à la française, s'il vous plaît, garçon.",
        "café is good",
        "café",
    ],
)
def test_decode_latin1_western_european_text(sentence):
    text, _ = decode_bytes(sentence.encode("latin-1"))
    assert text == sentence


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_decode_utf16_with_bom(encoding):
    s = "Le café est très bon à Paris aujourd'hui.\n"
    bom = {"utf-16": b"", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[encoding]
    text, enc = decode_bytes(bom + s.encode(encoding))
    assert text == s
    assert "16" in enc


def test_decode_windows_1252_curly_quotes():
    raw = b"He said \x93we will not go\x94 and it\x92s final, according to officials on Monday.\n"
    text, _ = decode_bytes(raw)
    assert text == "He said “we will not go” and it’s final, according to officials on Monday.\n"


@pytest.mark.parametrize("sentence", ["He said “no” — it’s over… and that’s final.", "“Quoted” text"])
def test_decode_windows_1252_short_text(sentence):
    text, _ = decode_bytes(sentence.encode("cp1252"))
    assert text == sentence


def test_decode_repairs_mojibake():
    text, enc = decode_bytes("They donâ€™t know what â€œpurely defensiveâ€\x9d means.\n".encode())
    assert text == "They don’t know what “purely defensive” means.\n"
    assert enc == "utf-8"


def test_decode_keeps_quotes_as_written():
    s = "\"Straight\" and “curly” and ‘single’ quotes stay.\n"
    assert decode_bytes(s.encode())[0] == s


@pytest.mark.parametrize("raw,expected", [
    (b"Line one.\r\nLine two.\r\n", "Line one.\nLine two.\n"),
    (b"Old Mac.\rLine two.\r", "Old Mac.\nLine two.\n"),
    (b"a\rb\r\nc\n", "a\nb\nc\n"),
])
def test_decode_normalizes_line_endings(raw, expected):
    assert decode_bytes(raw)[0] == expected


def test_decode_nfc_normalization():
    decomposed = "cafe\u0301 in Mu\u0308nchen"
    text, _ = decode_bytes(decomposed.encode())
    assert text == "café in München"
    assert "\u0301" not in text and len(text) == len("café in München")


@pytest.mark.parametrize("raw", [b"", b"   \n\n\t \r\n"])
def test_decode_empty_rejected(raw):
    with pytest.raises(RejectedInput, match="empty"):
        decode_bytes(raw)


def test_decode_binary_rejected():
    with pytest.raises(RejectedInput, match="binary"):
        decode_bytes(PNG_HEADER + b"\x00" * 64)
    with pytest.raises(RejectedInput, match="binary"):
        decode_bytes(PNG_HEADER)


def test_rejected_input_is_value_error():
    assert issubclass(RejectedInput, ValueError)


# ---------------------------------------------------------------- read_file / ingest: text
def test_text_file_record(raw):
    data = ARTICLE.encode()
    (raw / "a.txt").write_bytes(data)
    (rec,) = ingest(raw)
    assert rec.status == "ok" and rec.reason is None
    assert rec.doc_id == sha(data)
    assert rec.source_path == "a.txt"
    assert rec.text == ARTICLE
    assert rec.encoding == "utf-8"
    assert rec.n_bytes == len(data)
    assert rec.source_format == "txt"
    assert rec.title == "Russia deploys troops to Belarus"
    assert rec.published_at == datetime(2022, 10, 17, tzinfo=timezone.utc)
    assert rec.language == "en"
    assert rec.duplicate_of is None and rec.extra_paths == []


def test_doc_id_is_sha256_of_raw_bytes_not_text(raw):
    data = ("\ufeff" + ARTICLE.replace("\n", "\r\n")).encode()
    (raw / "crlf.txt").write_bytes(data)
    (rec,) = ingest(raw)
    assert rec.doc_id == sha(data)
    assert rec.doc_id != sha(rec.text.encode())
    assert "\r" not in rec.text


def test_read_file_source_path_is_relative_posix(raw):
    (raw / "sub").mkdir()
    (raw / "sub" / "a.md").write_text(ARTICLE)
    (rec,) = read_file(raw / "sub" / "a.md", raw)
    assert rec.source_path == "sub/a.md"
    assert rec.source_format == "txt"


def test_empty_and_binary_files_rejected_not_raised(raw):
    (raw / "empty.txt").write_bytes(b"")
    (raw / "image.txt").write_bytes(PNG_HEADER)
    (raw / "good.txt").write_text(ARTICLE)
    recs = by_path(ingest(raw))
    assert recs["empty.txt"].status == "rejected" and "empty" in recs["empty.txt"].reason
    assert recs["empty.txt"].doc_id == sha(b"")
    assert recs["image.txt"].status == "rejected" and "binary" in recs["image.txt"].reason
    assert recs["image.txt"].text == ""
    assert recs["image.txt"].n_bytes == len(PNG_HEADER)
    assert recs["good.txt"].status == "ok"


def test_unsupported_suffix_rejected(raw):
    (raw / "report.pdf").write_bytes(b"%PDF-1.4 some bytes")
    (raw / "noext").write_bytes(b"some text")
    recs = by_path(ingest(raw))
    assert recs["report.pdf"].status == "rejected"
    assert "unsupported" in recs["report.pdf"].reason and ".pdf" in recs["report.pdf"].reason
    assert recs["report.pdf"].doc_id == sha(b"%PDF-1.4 some bytes")
    assert recs["noext"].status == "rejected" and "unsupported" in recs["noext"].reason


def test_file_over_max_bytes_rejected(raw):
    (raw / "big.txt").write_text(ARTICLE)
    (rec,) = ingest(raw, max_bytes=10)
    assert rec.status == "rejected" and "larger" in rec.reason
    assert rec.n_bytes == len(ARTICLE.encode())


# ---------------------------------------------------------------- symlinks
def test_symlink_outside_raw_folder_rejected(raw, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("Secret text outside the raw folder, it must not be read.\n")
    (raw / "link.txt").symlink_to(secret)
    (rec,) = ingest(raw)
    assert rec.status == "rejected"
    assert "outside" in rec.reason
    assert rec.source_path == "link.txt"
    assert rec.text == ""
    assert rec.doc_id != sha(secret.read_bytes())


def test_relative_symlink_escaping_raw_folder_rejected(raw, tmp_path):
    (tmp_path / "secret.txt").write_text("Secret text outside the raw folder.\n")
    (raw / "link.txt").symlink_to(Path("..") / "secret.txt")
    (rec,) = ingest(raw)
    assert rec.status == "rejected" and "outside" in rec.reason


def test_symlink_inside_raw_folder_is_read(raw):
    (raw / "real.txt").write_text(ARTICLE)
    (raw / "alias.txt").symlink_to(raw / "real.txt")
    (rec,) = ingest(raw)
    assert rec.status == "ok"
    assert rec.source_path == "alias.txt"
    assert rec.extra_paths == ["real.txt"]


def test_dangling_symlink_rejected(raw, tmp_path):
    (raw / "gone.txt").symlink_to(tmp_path / "missing.txt")
    (rec,) = ingest(raw)
    assert rec.status == "rejected" and "vanished" in rec.reason


# ---------------------------------------------------------------- duplicates
def test_identical_bytes_under_two_names_one_record(raw):
    (raw / "a.txt").write_text(ARTICLE)
    (raw / "sub").mkdir()
    (raw / "sub" / "copy.txt").write_text(ARTICLE)
    (raw / "z.txt").write_text(ARTICLE)
    recs = ingest(raw)
    assert len(recs) == 1
    assert recs[0].source_path == "a.txt"
    assert recs[0].extra_paths == ["sub/copy.txt", "z.txt"]
    assert recs[0].status == "ok"


def test_same_text_in_two_encodings_second_is_duplicate(raw):
    s = "Le café est très bon à Paris aujourd'hui, dit le ministre de la culture.\n"
    (raw / "a_utf8.txt").write_bytes(s.encode("utf-8"))
    (raw / "b_utf16.txt").write_bytes(s.encode("utf-16"))
    first, second = ingest(raw)
    assert first.source_path == "a_utf8.txt" and first.status == "ok"
    assert second.source_path == "b_utf16.txt"
    assert second.status == "duplicate"
    assert second.reason == "same_text"
    assert second.duplicate_of == first.doc_id
    assert first.doc_id != second.doc_id
    assert second.text == first.text


def test_rejected_records_are_not_duplicates_of_each_other(raw):
    (raw / "a.txt").write_bytes(b"   ")
    (raw / "b.txt").write_bytes(b"\n\n")
    recs = ingest(raw)
    assert [r.status for r in recs] == ["rejected", "rejected"]
    assert all(r.duplicate_of is None for r in recs)


# ---------------------------------------------------------------- jsonl
def test_jsonl_one_malformed_line_rejected_alone(raw):
    good1 = json.dumps({"text": "First article text about the troops in Belarus and more.",
                        "title": "T1", "url": "https://example.com/1", "published_at": "2022-10-17"})
    bad = '{"text": "broken'
    good2 = json.dumps({"text": "Third line article text that is different from the first one."})
    data = "\n".join([good1, bad, "", good2, json.dumps({"foo": 1})]) + "\n"
    (raw / "x.jsonl").write_text(data)
    recs = by_path(ingest(raw))
    assert set(recs) == {"x.jsonl#1", "x.jsonl#2", "x.jsonl#4", "x.jsonl#5"}

    r1 = recs["x.jsonl#1"]
    assert r1.status == "ok" and r1.source_format == "jsonl"
    assert r1.text == "First article text about the troops in Belarus and more."
    assert r1.title == "T1" and r1.url == "https://example.com/1"
    assert r1.published_at == datetime(2022, 10, 17, tzinfo=timezone.utc)
    assert r1.doc_id == sha(good1.encode())

    r2 = recs["x.jsonl#2"]
    assert r2.status == "rejected" and "malformed JSON" in r2.reason
    assert r2.doc_id == sha(bad.encode())

    assert recs["x.jsonl#4"].status == "ok"
    assert recs["x.jsonl#4"].doc_id == sha(good2.encode())
    assert recs["x.jsonl#5"].status == "rejected" and "'text' or 'html'" in recs["x.jsonl#5"].reason


def test_jsonl_crlf_lines(raw):
    line = json.dumps({"text": "An article line ending with a Windows line break, in English."})
    (raw / "w.jsonl").write_bytes(line.encode() + b"\r\n\r\n")
    (rec,) = ingest(raw)
    assert rec.status == "ok" and rec.source_path == "w.jsonl#1"
    assert rec.doc_id == sha(line.encode())


def test_jsonl_html_field_extracted(raw):
    (raw / "h.jsonl").write_text(json.dumps({"html": HTML}) + "\n")
    (rec,) = ingest(raw)
    assert rec.status == "ok"
    assert "first trains carrying Russian soldiers" in rec.text
    assert "<p>" not in rec.text
    assert "first trains carrying Russian soldiers" in rec.article_text
    assert rec.title == "Troops arrive in Belarus"


def test_jsonl_with_utf8_bom(raw):
    line = json.dumps({"text": "First article text about the troops in Belarus and more."})
    (raw / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + line.encode() + b"\n")
    (rec,) = ingest(raw)
    assert rec.status == "ok"


# ---------------------------------------------------------------- html
def test_html_page_text_article_and_title(raw):
    """An HTML page's text is all of its visible text, one paragraph per block (the menu
    too: the paragraph stage marks it); trafilatura's article comes along beside it."""
    (raw / "page.html").write_text(HTML)
    (rec,) = ingest(raw)
    assert rec.status == "ok" and rec.source_format == "html"
    assert rec.title == "Troops arrive in Belarus"
    assert rec.text.startswith("Home World\n\nTroops arrive in Belarus\n\nThe Belarusian defence ministry said on Monday")
    assert "9,000 troops" in rec.text and "<" not in rec.text
    assert "The Belarusian defence ministry said on Monday" in rec.article_text
    assert "Home" not in rec.article_text
    assert rec.language == "en"
    assert rec.doc_id == sha(HTML.encode())


def test_html_title_and_date_are_guessed_from_the_article_not_the_menu():
    """Without metadata from trafilatura, the guesses read its article, not the page's
    first lines (teasers, menus, other stories' dates)."""
    from pipeline.ingest import DocumentRecord, _finish

    page = ("Top stories from around the world\n\nPosted 2019-03-01\n\nTroops arrive in Belarus\n\n"
            "The ministry said on 2022-01-17 that the first trains had arrived.")
    article = "Troops arrive in Belarus\n\nThe ministry said on 2022-01-17 that the first trains had arrived."
    rec = _finish(DocumentRecord("d", "p.html", page, "utf-8", 1, source_format="html", article_text=article))
    assert rec.title == "Troops arrive in Belarus"
    assert rec.published_at is not None and rec.published_at.year == 2022
    plain = _finish(DocumentRecord("d", "p.txt", page, "utf-8", 1))
    assert plain.title == "Top stories from around the world"


def test_html_without_body_rejected(raw):
    (raw / "empty.htm").write_text("<html><head><title>Empty</title></head><body></body></html>")
    (rec,) = ingest(raw)
    assert rec.status == "rejected"
    assert rec.source_format == "html"
    assert "HTML without visible text" in rec.reason


# ---------------------------------------------------------------- metadata
def test_guess_title_headline_line():
    assert guess_title("Russia deploys troops to Belarus\n\nThe ministry said.") == "Russia deploys troops to Belarus"


def test_guess_title_skips_navigation_remnant():
    text = "Skip to main content\n\nPanic as Russia Drags Another Neighbor to the Brink of War\n\nBody text."
    assert guess_title(text) == "Panic as Russia Drags Another Neighbor to the Brink of War"


@pytest.mark.parametrize("text", [
    "The ministry said on Monday that troops arrived in the country.\nMore.",
    "The ministry said troops arrived. Officials confirmed it\nMore.",
    "Too short\nBody.",
    "",
])
def test_guess_title_prose_line_is_not_a_title(text):
    assert guess_title(text) is None


def test_guess_title_seed_files(seed_texts):
    assert guess_title(seed_texts["article_000.txt"]) == (
        "Russia completes troop withdrawal from Belarus, alleviating tensions in the region"
    )
    assert guess_title(seed_texts["article_002.txt"]) is None  # starts with a prose paragraph


@pytest.mark.parametrize("text,expected", [
    ("the Belarusian Defense Ministry reported Monday (10/17/2022). On Saturday", datetime(2022, 10, 17)),
    ("Published 2023-05-01 by staff", datetime(2023, 5, 1)),
    ("Posted March 5, 2021 — news", datetime(2021, 3, 5)),
    ("Posted 5 March 2021 — news", datetime(2021, 3, 5)),
])
def test_guess_published_at(text, expected):
    got = guess_published_at(text)
    assert got == expected.replace(tzinfo=timezone.utc)
    assert got.utcoffset().total_seconds() == 0


def test_guess_published_at_converts_offset_to_utc():
    assert guess_published_at("2023-05-01T10:00:00+02:00") == datetime(2023, 5, 1, 8, tzinfo=timezone.utc)


def test_guess_published_at_none():
    assert guess_published_at("No date in this text, only 9,000 troops.") is None
    # only the head of the article is searched
    assert guess_published_at("x" * 50 + " 10/17/2022", head_chars=20) is None


def test_detect_language():
    assert detect_language(
        "The defence ministry said on Monday that about 9,000 troops would arrive over the next week."
    ) == "en"
    assert detect_language(
        "Das Verteidigungsministerium teilte am Montag mit, dass in der kommenden Woche etwa 9.000 Soldaten "
        "eintreffen würden. Die Regierung hat nicht gesagt, wie lange sie bleiben."
    ) == "de"
    assert detect_language(
        "Le ministère de la Défense a déclaré lundi qu'environ 9 000 soldats arriveraient au cours de la "
        "semaine prochaine. Le gouvernement n'a pas précisé combien de temps ils resteraient."
    ) == "fr"


def test_detect_language_too_little_text():
    assert detect_language("ok 123 !!") is None
    assert detect_language("") is None


def test_seed_folder_ingest(seed_raw_dir):
    recs = ingest(seed_raw_dir)
    assert [r.source_path for r in recs] == [f"article_00{i}.txt" for i in range(5)]
    for r in recs:
        assert r.status == "ok"
        assert r.language == "en"
        assert r.doc_id == sha((seed_raw_dir / r.source_path).read_bytes())
        assert "\r" not in r.text
    assert by_path(recs)["article_002.txt"].published_at == datetime(2022, 10, 17, tzinfo=timezone.utc)


def test_language_identifier_is_read_from_the_unpacked_cache_with_the_same_verdicts(tmp_path, monkeypatch):
    """The unpacked py3langid model is cached once and then gives py3langid's own scores."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from pipeline import ingest

    monkeypatch.setitem(ingest._cache, "dir", tmp_path / "news-claims-pipeline")
    ingest.language_identifier.cache_clear()
    try:
        first = ingest.language_identifier()
        cached = list((tmp_path / "news-claims-pipeline").glob("py3langid-*.npz"))
        assert len(cached) == 1
        ingest.language_identifier.cache_clear()
        again = ingest.language_identifier()  # from the cache file
        stock = LanguageIdentifier.from_model_file(MODEL_FILE)
        texts = ["Quarterly profits at the media giant jumped 76% in the three months to December.",
                 "Les bénéfices trimestriels du groupe ont augmenté de 76 % au dernier trimestre.",
                 "Die Gewinne des Konzerns sind im letzten Quartal deutlich gestiegen, sagte er."]
        for text in texts:
            assert first.classify(text) == again.classify(text) == stock.classify(text)
        assert ingest.detect_language(texts[1]) == "fr"
    finally:
        ingest.language_identifier.cache_clear()


@pytest.mark.parametrize("found", [
    "2022-10-17", "2022-10-17T09:30", "2022-10-17T09:30:15", "2022-10-17T09:30:00Z", "2022-10-17 09:30+02:00",
    "2022-10-17T09:30:00-05:00", "2022-10-17T09:30:00-0500", "10/17/2022", "1/2/2022", "13/10/2022", "02/30/2022",
    "2022-02-30", "Oct 17, 2022", "17 October 2022", "Sept. 3 2021",
])
def test_plain_dates_read_as_dateparser_reads_them(found):
    """The forms read without dateparser give exactly dateparser's answer; the others
    are left to it."""
    import dateparser

    from pipeline import ingest

    assert ingest._DATE_PATTERNS.fullmatch(found) or found.startswith("2022-10-17 ")
    expected = dateparser.parse(found, settings=ingest._DATEPARSER_SETTINGS)
    expected = expected.astimezone(timezone.utc) if expected is not None else None
    assert ingest.guess_published_at(f"Headline\n\nPublished {found}\n\nText.") == expected
    plain = ingest._plain_date(found)
    assert plain is None or plain == expected
