"""The cross-document indexes kept between runs (see `pipeline.neardup`, `pipeline.templates`);
loaded and saved by `pipeline.state`, used by `pipeline.build`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.neardup import NearDupIndex
    from pipeline.templates import TemplateCounter


@dataclass
class CorpusIndexes:
    documents: "NearDupIndex"
    paragraphs: "NearDupIndex"
    templates: "TemplateCounter"
    text_digests: dict[str, str] = field(default_factory=dict)  # exact_digest -> text_digest (documents)
    # text_digest -> the first document with that text, in corpus order: made by an assembly
    # (`pipeline.build`), kept with the last corpus (`pipeline.state.CorpusSnapshot`), not here
    first_with_text: dict[str, str] | None = None
