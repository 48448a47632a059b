"""The whole visible text of an HTML page, one paragraph per block.

An HTML page becomes a document whose text is *all* of its visible text, not an
extractor's guess at the article: navigation, teasers, comments and footers stay in the
document and the paragraph stage marks them with their reason, as it does for a text file
saved from a page. Nothing the page shows is deleted before the stage has judged it.

The rules are those of a plain page dump (the form of the `.txt` pages the paragraph model
learned from): the contents of ``script``, ``style``, ``head`` and the other
non-text elements are dropped, as are comments; every block element (``p``, ``div``,
``li``, ``h1`` ...) starts and ends a paragraph; ``<br>`` ends a line, and two in a row end
the paragraph; a table cell adds a space; whitespace runs become one space, except inside
``pre`` and ``textarea``, whose line breaks stay.
"""
from __future__ import annotations

import re

# elements whose content is never visible text
HIDDEN = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe", "object", "embed",
                    "canvas", "video", "audio"})
# elements that start and end a paragraph
BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog", "dir",
    "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "frameset", "h1", "h2", "h3", "h4",
    "h5", "h6", "header", "hgroup", "hr", "html", "legend", "li", "main", "menu", "nav", "ol", "optgroup",
    "option", "p", "pre", "section", "select", "summary", "table", "tbody", "textarea", "tfoot", "thead", "tr",
    "ul",
})
CELLS = frozenset({"td", "th"})
KEEP_LINES = frozenset({"pre", "textarea"})

_SPACES = re.compile(r"\s+")
_LINE, _BLOCK = 1, 2  # markers among the text pieces


def _local_name(tag) -> str | None:
    if not isinstance(tag, str):  # comments, processing instructions, entities
        return None
    return tag.rsplit("}", 1)[-1].lower()


def _pieces(root) -> list:
    """Text pieces and break markers in document order (iterative: some pages nest
    deeper than Python's recursion limit)."""
    out: list = []

    def text(s: str, keep_lines: bool) -> None:
        if not keep_lines:
            out.append(_SPACES.sub(" ", s))
            return
        for n, line in enumerate(s.split("\n")):
            if n:
                out.append(_LINE)
            out.append(line)

    stack = [(root, False, False)]
    while stack:
        el, closing, keep_lines = stack.pop()
        name = _local_name(el.tag)
        if closing:
            out.append(_BLOCK if name in BLOCKS else " " if name in CELLS else "")
            if el.tail:
                text(el.tail, keep_lines)
            continue
        if name is None or name in HIDDEN or name == "br":
            if name == "br":
                out.append(_LINE)
            if el.tail:
                text(el.tail, keep_lines)
            continue
        out.append(_BLOCK if name in BLOCKS else " " if name in CELLS else "")
        inner = keep_lines or name in KEEP_LINES
        if el.text:
            text(el.text, inner)
        stack.append((el, True, keep_lines))
        stack.extend((child, False, inner) for child in reversed(el))
    return out


def _join(pieces: list) -> str:
    blocks: list[str] = []
    lines: list[str] = []
    current: list[str] = []

    def end_block() -> None:
        if lines:
            blocks.append("\n".join(lines))
            lines.clear()

    def end_line() -> None:
        line = _SPACES.sub(" ", "".join(current)).strip()
        current.clear()
        if line:
            lines.append(line)
        else:  # an empty line (<br><br>) ends the paragraph
            end_block()

    for piece in pieces:
        if piece is _BLOCK:
            end_line()
            end_block()
        elif piece is _LINE:
            end_line()
        else:
            current.append(piece)
    end_line()
    end_block()
    return "\n\n".join(blocks)


def page_text(html: str) -> str:
    """Every visible text block of the page, blocks separated by a blank line, lines of a
    block by a newline. An empty string when lxml cannot build the page."""
    from lxml import etree
    from lxml import html as lxml_html

    parser = lxml_html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True)
    try:
        root = lxml_html.document_fromstring(html.encode("utf-8", "surrogatepass"), parser=parser)
    except (etree.ParserError, ValueError, RecursionError):  # nothing lxml can build a tree from
        return ""
    return _join(_pieces(root))
