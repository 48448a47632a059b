"""Reading the BBC News corpus (one article per file, first line the headline)."""
from __future__ import annotations

from pathlib import Path


def read_text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # sport/199.txt
    return text.replace("\r\n", "\n")


def bbc_articles(corpus: str | Path) -> list[tuple[str, str]]:
    """[(id "topic/NNN", text)] in a fixed order (topic folder, then file name)."""
    root = Path(corpus)
    files = sorted(p for p in root.glob("*/*.txt"))
    if not files:
        raise SystemExit(f"no */*.txt articles under {root}")
    return [(f"{p.parent.name}/{p.stem}", read_text(p)) for p in files]


def paragraphs_of(text: str) -> list[str]:
    """Non-empty lines: the headline first, then the paragraphs."""
    return [line.strip() for line in text.split("\n") if line.strip()]
