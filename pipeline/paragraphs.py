"""Splitting a document into paragraphs with exact character offsets.

Two layouts occur in scraped news: paragraphs separated by blank lines, and one
paragraph per line with single newlines. Both reduce to "one non-empty line is one
paragraph", except for hard-wrapped text (every line cut near the same width), where
the lines of a blank-line block are one paragraph. The source text is never edited:
a paragraph is a pair of offsets into it, trimmed of surrounding whitespace.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_BLOCK_SEP = re.compile(r"\n[ \t\r\f\v]*\n")
_TERMINAL = tuple(".!?:;\"”’)")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def _lines(text: str, start: int, end: int) -> list[Span]:
    spans = []
    pos = start
    for line in text[start:end].split("\n"):
        a, b = pos, pos + len(line)
        pos = b + 1
        stripped = line.strip()
        if stripped:
            lead = len(line) - len(line.lstrip())
            spans.append(Span(a + lead, a + lead + len(stripped)))
    return spans


def _is_hard_wrapped(text: str, lines: list[Span]) -> bool:
    """Lines of nearly equal width that mostly run on into the next one."""
    if len(lines) < 3:
        return False
    widths = [s.end - s.start for s in lines[:-1]]
    widest = max(widths)
    if not 40 <= widest <= 100:
        return False
    near_full = sum(w >= 0.75 * widest for w in widths) / len(widths)
    runs_on = sum(not text[s.start:s.end].endswith(_TERMINAL) for s in lines[:-1]) / len(widths)
    return near_full >= 0.7 and runs_on >= 0.6


LONG_BLOCK_CHARS = 5000  # a hard-wrapped block longer than this holds several paragraphs


def _wrapped_paragraphs(text: str, lines: list[Span]) -> list[Span]:
    """A long hard-wrapped block (a whole article wrapped at 72 columns with no blank line)
    cut into paragraphs: after a short line that ends a sentence (where a paragraph ends
    in wrapped text), and after any sentence-ending line once a paragraph is half of
    `LONG_BLOCK_CHARS` long. A block within the limit is one paragraph."""
    if lines[-1].end - lines[0].start <= LONG_BLOCK_CHARS:
        return [Span(lines[0].start, lines[-1].end)]
    widest = max(s.end - s.start for s in lines)
    out, first = [], lines[0]
    for i, line in enumerate(lines):
        last = i == len(lines) - 1
        ends_sentence = text[line.start:line.end].endswith(_TERMINAL)
        short = line.end - line.start < 0.75 * widest
        if last or (ends_sentence and (short or line.end - first.start >= LONG_BLOCK_CHARS // 2)):
            out.append(Span(first.start, line.end))
            if not last:
                first = lines[i + 1]
    return out


LONG_LINE_CHARS = 20_000  # a line longer than this is not one paragraph (the stage drops longer ones as blobs)
LINE_PIECE_CHARS = 2_000  # ... it is cut into pieces of about this size
# where an over-long line is cut: a table-cell separator (an HTML extractor flattens a layout
# table into one line of " | " cells) always; a sentence end once the piece is long enough
_CELL_SEP = re.compile(r"\s\|(?:\s*\|)*\s")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s+(?=\S)")


def _cut_long_line(text: str, span: Span) -> list[Span]:
    """An over-long line (a flattened layout table, an article without line breaks) cut at
    its table-cell separators and, in pieces longer than `LINE_PIECE_CHARS`, after a
    sentence end: pieces a reader would call paragraphs. Offsets stay into `text`; a
    piece without any sentence end or separator stays whole however long."""
    cells: list[tuple[int, int]] = []
    pos = span.start
    for m in _CELL_SEP.finditer(text, span.start, span.end):
        cells.append((pos, m.start()))
        pos = m.end()
    cells.append((pos, span.end))
    out: list[Span] = []
    for a, b in cells:
        piece_start = a
        if b - a > LINE_PIECE_CHARS:
            for m in _SENTENCE_END.finditer(text, a, b):
                if m.end() - piece_start >= LINE_PIECE_CHARS:
                    out.append(Span(piece_start, m.end()))
                    piece_start = m.end()
        out.append(Span(piece_start, b))
    trimmed = []
    for s in out:  # trimmed of whitespace and of stray cell bars at either end
        seg = text[s.start:s.end]
        lead = len(seg) - len(seg.lstrip(" \t|"))
        core = seg.strip(" \t|\r\f\v\n")
        if core:
            trimmed.append(Span(s.start + lead, s.start + lead + len(core)))
    return trimmed or [span]


def split_paragraphs(text: str) -> list[Span]:
    """Paragraph spans in document order; `text[s.start:s.end]` is the paragraph."""
    out: list[Span] = []
    pos = 0
    bounds = []
    for m in _BLOCK_SEP.finditer(text):
        bounds.append((pos, m.start()))
        pos = m.end()
    bounds.append((pos, len(text)))
    for a, b in bounds:
        lines = _lines(text, a, b)
        if not lines:
            continue
        if _is_hard_wrapped(text, lines):
            out.extend(_wrapped_paragraphs(text, lines))
        else:
            out.extend(lines)
    if any(s.end - s.start > LONG_LINE_CHARS for s in out):
        out = [piece for s in out
               for piece in (_cut_long_line(text, s) if s.end - s.start > LONG_LINE_CHARS else (s,))]
    return out
