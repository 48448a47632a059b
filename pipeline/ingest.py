"""Raw files -> document records: decoding, light metadata, fingerprints.

A document is a file, or one line of a `.jsonl` file. Its id is the SHA-256 of its
raw bytes. Nothing is dropped silently: a file that cannot be read or decoded becomes
a `rejected` record with the reason, and the rest of the run goes on.

Libraries do the hard parts: charset-normalizer guesses encodings, ftfy repairs
mojibake, an HTML page's visible text is read
with lxml and trafilatura extracts its article, dateparser reads dates and
py3langid tells the language.
"""
from __future__ import annotations

import errno
import json
import os
import stat
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from datetime import datetime, timezone
from pathlib import Path

from pipeline import ids

IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload")
TEXT_SUFFIXES = {".txt", ".text", ".md"}
HTML_SUFFIXES = {".html", ".htm"}
JSONL_SUFFIXES = {".jsonl"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES
from pipeline.settings import DEFAULT_MAX_FILE_BYTES  # noqa: E402 - news articles are kilobytes


class RejectedInput(ValueError):
    """Raised by the decoders with a short, user-facing reason."""


@dataclass
class DocumentRecord:
    doc_id: str
    source_path: str
    text: str
    encoding: str
    n_bytes: int
    status: str = "ok"
    reason: str | None = None
    title: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    duplicate_of: str | None = None
    source_format: str = "txt"
    url: str | None = None
    extra_paths: list[str] = field(default_factory=list)
    file_sha256: str | None = None  # of the whole raw file (a .jsonl holds several documents)
    file_size: int | None = None
    file_mtime_ns: int | None = None
    file_ctime_ns: int | None = None
    file_inode: int | None = None
    # HTML pages: the article text trafilatura extracted; `text` is the whole page
    article_text: str | None = None


def is_ignored(path: Path, root: Path) -> bool:
    rel = path.relative_to(root)
    return any(part.startswith(".") for part in rel.parts) or path.name.endswith(IGNORED_SUFFIXES)


def raw_entries(raw_dir: Path) -> list[tuple[str, os.DirEntry]]:
    """(path relative to `raw_dir` in posix form, directory entry) of every candidate
    file under `raw_dir`, sorted by that path; hidden files and folders and partial
    downloads skipped.

    Every entry but folders is a candidate: pipes, sockets and links (dangling, or to a
    folder, which is not descended into) are reported, not skipped. `os.scandir` gives
    each entry's type without a system call per file, so a folder of many thousand
    articles is listed in milliseconds; an unreadable sub-folder is skipped.
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"raw folder {raw_dir} does not exist")
    out: list[tuple[str, os.DirEntry]] = []
    folders = [(os.fspath(raw_dir), "")]
    while folders:
        folder, prefix = folders.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:
            if not prefix:
                raise
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                is_folder = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_folder = False
            if is_folder:
                folders.append((entry.path, f"{prefix}{entry.name}/"))
            elif not entry.name.endswith(IGNORED_SUFFIXES):
                out.append((prefix + entry.name, entry))
    out.sort(key=lambda item: item[0])
    return out


def list_raw_files(raw_dir: Path) -> list[Path]:
    """Every candidate file under `raw_dir`, sorted, hidden and partial downloads skipped
    (see `raw_entries`)."""
    raw_dir = Path(raw_dir)
    return [raw_dir / rel for rel, _entry in raw_entries(raw_dir)]


# ---------------------------------------------------------------- decoding
def _looks_binary(raw: bytes) -> bool:
    sample = raw[:8192]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return False
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return controls > 0.02 * len(sample)


def decode_bytes(raw: bytes) -> tuple[str, str]:
    """(text, encoding): strict UTF-8 first, else charset-normalizer's best guess.

    The text is repaired with ftfy (mojibake, stray control characters), normalized
    to NFC, and its line endings to `\\n`. Quotes and dashes are kept as written.
    """
    if not raw.strip():
        raise RejectedInput("empty file")
    utf16 = _utf16_without_bom(raw)
    if utf16 is not None:
        return clean_text(utf16[0]), utf16[1]
    if _looks_binary(raw):
        raise RejectedInput("binary content (not text)")
    if raw.startswith(b"\xef\xbb\xbf"):
        text, encoding = raw[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    else:
        try:
            text, encoding = raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = _decode_legacy(raw)
    return clean_text(text), encoding


def _utf16_without_bom(raw: bytes) -> tuple[str, str] | None:
    """(text, encoding) of UTF-16 text saved without a byte-order mark, else None.

    Latin-script UTF-16 has a NUL as every other byte: at even offsets for big-endian,
    at odd ones for little-endian. When the NULs fall on one side only and the bytes
    decode strictly into printable text, that is the encoding."""
    sample = raw[:8192]
    if len(raw) % 2 or len(sample) < 4 or raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    half = len(sample) // 2
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if even > 0.3 * half and odd == 0:
        name = "utf-16-be"
    elif odd > 0.3 * half and even == 0:
        name = "utf-16-le"
    else:
        return None
    try:
        text = raw.decode(name)
    except UnicodeDecodeError:
        return None
    printable = sum(ch.isprintable() or ch in "\n\r\t" for ch in text[:4096])
    return (text, name) if printable >= 0.97 * min(len(text), 4096) else None


_BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
         (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
WESTERN_MAX_NON_ASCII_LETTERS = 0.3


def _mostly_western(text: str) -> bool:
    """Latin-script prose: a minority of its letters are non-ASCII (accents, not a whole alphabet)."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return False
    non_ascii = sum(1 for ch in letters if ord(ch) > 127)
    return non_ascii / len(letters) <= WESTERN_MAX_NON_ASCII_LETTERS


def _decode_legacy(raw: bytes) -> tuple[str, str]:
    """Bytes that are not UTF-8: a BOM decides, else Windows-1252 for Western prose,
    else charset-normalizer's best guess.

    charset-normalizer alone often names a wrong single-byte code page for short
    Western text (cp1250 for Spanish, cp775 for German), so Windows-1252 (a superset
    of Latin-1's printable range, and the web's de-facto default) goes first when it
    decodes cleanly into mostly-ASCII letters. Cyrillic, Greek or CJK bytes decoded as
    Windows-1252 give a majority of accented letters and fall through to the detector.
    """
    for bom, name in _BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom):].decode(name), name.split("-")[0] + "-" + name.split("-")[1]
            except UnicodeDecodeError:
                raise RejectedInput(f"undecodable: invalid {name} after its byte-order mark") from None
    try:
        text = raw.decode("cp1252")
        if _mostly_western(text):
            return text, "cp1252"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None:
        raise RejectedInput("undecodable: no text encoding fits the bytes")
    return str(best), best.encoding


def clean_text(text: str) -> str:
    import ftfy

    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = ftfy.fix_text(
        text,
        uncurl_quotes=False,
        fix_character_width=False,
        fix_latin_ligatures=False,
        normalization="NFC",
    )
    text = unicodedata.normalize("NFC", text)
    if not text.strip():
        raise RejectedInput("no text after decoding")
    return text


# ---------------------------------------------------------------- metadata
_TITLE_MAX_WORDS = 30
_DATE_PATTERNS = re.compile(
    r"""(?ix)
    \b\d{4}-\d{2}-\d{2}(?:[T\s]\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)?\b   # ISO
    | \b\d{1,2}/\d{1,2}/\d{4}\b                                                      # 10/17/2022
    | \b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4}\b
    | \b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?\s+\d{4}\b
    """
)


def guess_title(text: str) -> str | None:
    """The first line if it reads like a headline: a few words, no final full stop."""
    from pipeline.boilerplate import classify

    lines = [ln.strip() for ln in text.split("\n") if ln.strip()][:4]
    verdicts = classify(lines) if lines else []
    for line, verdict in zip(lines, verdicts):
        if verdict.reason is not None:
            continue  # navigation remnants before the headline
        words = line.split()
        bare = line.rstrip("\"”’') ")
        several_sentences = re.search(r"[.!?][\"”’]?\s+[A-Z“\"]", line) is not None
        if 3 <= len(words) <= _TITLE_MAX_WORDS and not bare.endswith((".", ",", ";")) and not several_sentences:
            return line
        return None
    return None


_NUMERIC_MDY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_DATEPARSER_SETTINGS = {"TIMEZONE": "UTC", "RETURN_AS_TIMEZONE_AWARE": True, "DATE_ORDER": "MDY",
                        "PREFER_DAY_OF_MONTH": "first"}


def _plain_date(found: str) -> datetime | None:
    """The two unambiguous forms the date pattern finds, without dateparser: ISO 8601
    (naive times are UTC) and a valid month/day/year. None for anything else (month
    names, 13/10/2022, 2022-02-30), which goes to dateparser; both give the same
    datetime (`tests/test_ingest.py`). dateparser's first call in a process costs
    ~0.3 s (locale data), on every run's critical path."""
    if found[:4].isdigit() and found[4:5] == "-":
        try:
            parsed = datetime.fromisoformat(found)
        except ValueError:
            return None
        return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)
    m = _NUMERIC_MDY.fullmatch(found)
    if m:
        month, day, year = (int(g) for g in m.groups())
        try:
            return datetime(year, month, day, tzinfo=timezone.utc)
        except ValueError:
            return None
    return None


def guess_published_at(text: str, head_chars: int = 3000) -> datetime | None:
    """The first explicit calendar date near the top of the article, read by dateparser
    (the plain ISO and month/day/year forms directly, see `_plain_date`); None when there
    is none, or when it is no representable time (9999-12-31T23:59:59-14:00 is past
    year 9999 in UTC)."""
    try:
        return _guess_published_at(text, head_chars)
    except (OverflowError, ValueError, OSError):
        return None


def _guess_published_at(text: str, head_chars: int) -> datetime | None:
    match = _DATE_PATTERNS.search(text[:head_chars])
    if not match:
        return None
    plain = _plain_date(match.group(0))
    if plain is not None:
        return plain
    import dateparser

    parsed = dateparser.parse(match.group(0), settings=_DATEPARSER_SETTINGS)
    if parsed is None:
        return None
    return parsed.astimezone(timezone.utc)


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or None when there is no prose to judge."""
    sample = text[:5000]
    if sum(ch.isalpha() for ch in sample) < 20 or len(set(sample.lower().split())) < 3:
        return None
    lang, _score = language_identifier().classify(sample)
    return lang if len(lang) == 2 and lang.isalpha() else None


_cache = {"dir": Path.home() / ".cache" / "news-claims-pipeline"}  # `set_cache_dir` (the settings' cache_dir)


def set_cache_dir(path: Path) -> None:
    """Where this process keeps the unpacked language model (see `language_identifier`)."""
    _cache["dir"] = Path(path)


def _langid_cache_file(model: Path) -> Path:
    root = _cache["dir"]
    st = model.stat()
    return root / f"py3langid-{st.st_size}-{st.st_mtime_ns}.npz"


@lru_cache(maxsize=1)
def language_identifier():
    """py3langid's identifier, loaded once per process.

    The package ships its model LZMA-compressed (4.5 MB, 68 MB unpacked); unpacking it
    costs about 0.6 s of every run's critical path. The unpacked arrays are kept in the
    user's cache folder (`$XDG_CACHE_HOME` or `~/.cache`, `news-claims-pipeline/`, named
    after the model file's size and mtime) and read back in about 0.2 s; the identifier
    is built exactly as py3langid builds it. Any problem with the cache falls back to
    py3langid's own loader.
    """
    import numpy as np
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
    from py3langid.modelio import _to_array, load_model

    model = MODEL_DIR / MODEL_FILE
    try:
        cache = _langid_cache_file(model)
        if not cache.exists():
            ptc, pc, classes, nextmove, row, output = load_model(model)
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
            with tmp.open("wb") as fh:
                np.savez(fh, ptc=np.asarray(ptc), pc=np.asarray(pc), classes=np.asarray(classes),
                         nextmove=np.asarray(nextmove), nextmove_row=np.asarray(row),
                         out_feat=np.asarray(output, dtype=np.int32))
            os.replace(tmp, cache)
        with np.load(cache, allow_pickle=False) as data:
            return LanguageIdentifier(np.asarray(data["ptc"]), np.asarray(data["pc"]), data["classes"].tolist(),
                                      _to_array(data["nextmove"]), data["out_feat"].tolist(),
                                      tk_row=_to_array(data["nextmove_row"]))
    except (OSError, ValueError, KeyError):
        return LanguageIdentifier.from_model_file(MODEL_FILE)


# ---------------------------------------------------------------- formats
def _from_html(html: str) -> tuple[str, str, str | None, datetime | None, str | None]:
    """(page text, article text, title, published, url) of an HTML page.

    The document's text is the page's whole visible text, one paragraph per block
    (:func:`pipeline.pagetext.page_text`): the paragraph stage marks its navigation,
    teasers and comments with their reason instead of an extractor deleting them unseen.
    trafilatura's extraction of the article (with favor_recall, the best of its settings on
    real pages: eval.webpages --trafilatura-settings) comes along as `article_text`: the
    paragraph model of HTML pages reads how much of each paragraph it holds.
    """
    import trafilatura

    from pipeline.pagetext import page_text

    try:
        doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False, as_dict=True,
                                          favor_recall=True)
    except (RecursionError, ValueError, TypeError):  # a tree too deep or odd for the parser
        doc = None
    doc = doc or {}
    article = doc.get("text") or ""
    article = clean_text(article) if article.strip() else ""
    # lxml builds no tree from some pages (50,000 nested tags): the standard library's parser
    # reads any depth
    text = page_text(html) or visible_text(html)
    if not text.strip():
        raise RejectedInput("HTML without visible text")
    text = clean_text(text)
    published = guess_published_at(doc["date"]) if doc.get("date") else None
    return text, article, doc.get("title"), published, doc.get("url")


class _VisibleText(HTMLParser):
    """The visible text of an HTML page, blocks on lines of their own. The standard
    library's parser reads tags as events, so any depth of nesting is read in one pass."""

    SKIP = {"script", "style", "noscript", "template", "head", "svg"}
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "article", "section",
              "blockquote", "pre", "table", "ul", "ol", "header", "footer", "nav", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return "\n\n".join(line for line in lines if line)


def _finish(rec: DocumentRecord) -> DocumentRecord:
    if rec.status == "ok":
        # an HTML page's title, date and language are guessed from its article, not from the
        # menu and teasers at the top of the whole page
        basis = rec.article_text if rec.article_text and rec.article_text.strip() else rec.text
        rec.title = rec.title or guess_title(basis)
        rec.published_at = rec.published_at or guess_published_at(basis)
        rec.language = detect_language(basis)
    return rec


def _rejected(doc_id: str, source_path: str, n_bytes: int, reason: str, fmt: str, encoding: str = "unknown") -> DocumentRecord:
    return DocumentRecord(
        doc_id=doc_id, source_path=source_path, text="", encoding=encoding, n_bytes=n_bytes,
        status="rejected", reason=reason, source_format=fmt,
    )


def parse_bytes(raw: bytes, source_path: str, fmt: str) -> DocumentRecord:
    """One document from its raw bytes; never raises for bad content."""
    did = ids.doc_id(raw)
    try:
        if fmt == "html":
            html, encoding = decode_bytes(raw)
            text, article, title, published, url = _from_html(html)
            rec = DocumentRecord(did, source_path, text, encoding, len(raw), title=title,
                                 published_at=published, url=url, source_format="html", article_text=article)
        else:
            text, encoding = decode_bytes(raw)
            rec = DocumentRecord(did, source_path, text, encoding, len(raw), source_format=fmt)
    except RejectedInput as exc:
        return _rejected(did, source_path, len(raw), str(exc), fmt)
    return _finish(rec)


def parse_jsonl_line(raw_line: bytes, source_path: str) -> DocumentRecord:
    did = ids.doc_id(raw_line)
    try:
        obj = json.loads(raw_line.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _rejected(did, source_path, len(raw_line), f"malformed JSON line: {exc}", "jsonl")
    if not isinstance(obj, dict) or not (isinstance(obj.get("text"), str) or isinstance(obj.get("html"), str)):
        return _rejected(did, source_path, len(raw_line), "JSON line without a 'text' or 'html' string", "jsonl", "utf-8")
    try:
        if isinstance(obj.get("text"), str) and obj["text"].strip():
            text, article, title, published, url = clean_text(obj["text"]), None, None, None, None
        else:
            text, article, title, published, url = _from_html(obj.get("html") or "")
    except RejectedInput as exc:
        return _rejected(did, source_path, len(raw_line), str(exc), "jsonl", "utf-8")
    rec = DocumentRecord(did, source_path, text, "utf-8", len(raw_line), source_format="jsonl",
                         title=obj.get("title") if isinstance(obj.get("title"), str) else title,
                         url=obj.get("url") if isinstance(obj.get("url"), str) else url,
                         published_at=published, article_text=article)
    if isinstance(obj.get("published_at"), str):
        rec.published_at = guess_published_at(obj["published_at"]) or _parse_any_date(obj["published_at"])
    return _finish(rec)


def _parse_any_date(value: str) -> datetime | None:
    import dateparser

    try:
        parsed = dateparser.parse(value[:200], settings={"TIMEZONE": "UTC", "RETURN_AS_TIMEZONE_AWARE": True})
        return parsed.astimezone(timezone.utc) if parsed else None
    except (OverflowError, ValueError, OSError, TypeError):
        return None  # no representable time: the document keeps no date


def format_of(relpath: str) -> str | None:
    """txt, html or jsonl by the file name's suffix; None for an unsupported one."""
    return _format_of(Path(relpath))


def _format_of(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return "txt"
    if suffix in HTML_SUFFIXES:
        return "html"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    return None


def _lstat(path: Path) -> os.stat_result | None:
    """The file's stat as the folder scan takes it (`files.scan`): through a symlink when
    it leads somewhere, else of the link itself."""
    for follow in (True, False):
        try:
            return os.stat(path, follow_symlinks=follow)
        except (OSError, ValueError):
            continue
    return None


def _stamped(rec: DocumentRecord, st: os.stat_result | None, sha: str | None) -> DocumentRecord:
    """The record with what was known of its file when it was read (the plan's fingerprint)."""
    rec.file_sha256 = sha
    if st is not None:
        rec.file_size, rec.file_mtime_ns, rec.file_ctime_ns, rec.file_inode = (
            st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    return rec


def feed_lines(raw: bytes) -> list[bytes]:
    """The lines of a .jsonl feed (a final newline ends the last line, it adds none)."""
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def read_file(path: Path, raw_dir: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES,
              lines: tuple[int, int] | None = None) -> Iterator[DocumentRecord]:
    """The document records of one raw file (several for `.jsonl`), or of lines
    `first..last` (1-based, inclusive) of a long .jsonl feed (a unit of work of its own,
    `pipeline.files.jsonl_units`; `file_sha256` is then the digest of those lines).

    Never raises for anything about the file: a file that cannot be read becomes a
    `rejected` record with the reason. Each record carries the file's stat as it was
    before its bytes were read, so a file that changes later is read again.
    """
    rel = display_path(path.relative_to(raw_dir).as_posix())
    fmt = _format_of(path)
    placeholder = ids.doc_id(f"unreadable:{rel}".encode())

    def refused(reason: str, size: int = 0) -> DocumentRecord:
        return _stamped(_rejected(placeholder, rel, size, reason, fmt or "unknown"), _lstat(path), None)

    try:
        resolved = path.resolve(strict=True)
        if not resolved.is_relative_to(raw_dir.resolve()):
            yield refused("symlink pointing outside the raw folder (refused)")
            return
        before = resolved.stat()
        if not stat.S_ISREG(before.st_mode):
            yield refused("not a regular file (pipe, device or folder)")
            return
        if before.st_size > max_bytes:
            yield refused(f"file larger than the maximum of {max_bytes} bytes", before.st_size)
            return
        with open(resolved, "rb") as fh:
            raw = fh.read(max_bytes + 1)
            after = os.fstat(fh.fileno())
    except FileNotFoundError:
        yield refused("file vanished before it could be read")
        return
    except RuntimeError as exc:  # pathlib's "Symlink loop"
        yield refused(f"not a regular file ({exc})")
        return
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            yield refused("not a regular file (symlink loop)")
        else:
            yield refused(f"unreadable: {exc.strerror or exc}")
        return
    if len(raw) > max_bytes:
        yield refused(f"file larger than the maximum of {max_bytes} bytes", len(raw))
        return
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or len(raw) != before.st_size:
        yield _stamped(_rejected(ids.doc_id(raw), rel, len(raw), "file changed while it was read (it is read again "
                                 "by the next run)", fmt or "unknown"), before, None)
        return
    if lines is not None and fmt == "jsonl":
        part = feed_lines(raw)[lines[0] - 1:lines[1]]
        unit_sha = ids.doc_id(b"\n".join(part))
        for number, line in enumerate(part, start=lines[0]):
            if line.strip():
                yield _stamped(parse_jsonl_line(line.rstrip(b"\r"), f"{rel}#{number}"), before, unit_sha)
        return
    file_sha = ids.doc_id(raw)
    for rec in _records(raw, rel, fmt, path):
        yield _stamped(rec, before, file_sha)


def display_path(rel: str) -> str:
    """A relative path as text that any table can store: bytes of a file name that are not
    UTF-8 (kept by Python as lone surrogates) are shown as `\\xNN`."""
    try:
        rel.encode("utf-8")
        return rel
    except UnicodeEncodeError:
        return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _records(raw: bytes, rel: str, fmt: str | None, path: Path) -> Iterator[DocumentRecord]:
    if fmt is None:
        yield _rejected(ids.doc_id(raw), rel, len(raw), f"unsupported file type {path.suffix or '(none)'!r}", "unknown")
    elif fmt == "jsonl":
        lines = raw.split(b"\n")
        for number, line in enumerate(lines, start=1):
            if line.strip():
                yield parse_jsonl_line(line.rstrip(b"\r"), f"{rel}#{number}")
    else:
        yield parse_bytes(raw, rel, fmt)


def ingest(raw_dir: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> list[DocumentRecord]:
    """All documents of the raw folder, one record per distinct doc_id.

    Identical bytes under several names are one document (same id); the other names
    are kept in `extra_paths`. Documents whose decoded text is identical to an
    earlier one (another encoding of the same article) become `duplicate`.
    """
    raw_dir = Path(raw_dir)
    by_id: dict[str, DocumentRecord] = {}
    for path in list_raw_files(raw_dir):
        for rec in read_file(path, raw_dir, max_bytes):
            if rec.doc_id in by_id:
                by_id[rec.doc_id].extra_paths.append(rec.source_path)
            else:
                by_id[rec.doc_id] = rec
    return mark_exact_duplicates(by_id.values())


def mark_exact_duplicates(records: Iterable[DocumentRecord]) -> list[DocumentRecord]:
    from pipeline.text import normalize_key

    seen: dict[str, str] = {}
    out = list(records)
    for rec in out:
        if rec.status != "ok":
            continue
        key = normalize_key(rec.text)
        if key in seen:
            rec.status, rec.reason, rec.duplicate_of = "duplicate", "same_text", seen[key]
        else:
            seen[key] = rec.doc_id
    return out
