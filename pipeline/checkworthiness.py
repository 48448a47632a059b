"""Check-worthiness from text: a linear model over hashed n-grams, applied in numpy.

The score of a sentence is a calibrated probability that it is a check-worthy factual
claim (ClaimBuster's sense):

    p = sigmoid(a * z + b)                       Platt calibration (out-of-fold)
    z = intercept + sum_block scale_block * w_block . x_block + w_dense . features

over four sparse blocks of the parsed sentence, each hashed into its own space and
L2-normalized, exactly as scikit-learn's ``HashingVectorizer(analyzer=<ours>,
alternate_sign=True, norm="l2")`` does (MurmurHash3 x86 32-bit, seed 0, index
``|h| % n_features``, sign of ``h``):

  words   word 1-3-grams of the lower-cased tokens, digits written as 0, with sentence
          start / end marks
  chars   character 2-5-grams inside each lower-cased word padded with spaces
          (scikit-learn's ``char_wb``)
  pos     fine POS-tag (Penn tags) 1-3-grams with start / end marks
  mixed   2-3-grams of a "pattern" string: function words kept as words, other tokens
          as their tag ("we VBD CD NNS in the NNP")

plus the eight sentence features of ``pipeline.claims`` (quantity, named_entity,
entity_count, date, attribution, long_enough, hedged, opinion) with their own weights.
The text part (``text_margin``) does not depend on the document-level attribution, so
``pipeline.claims`` computes it once per sentence and adds the dense features at the
end (``probability``).

The weights are trained offline with scikit-learn on ClaimBuster by
``eval/checkworthiness.py`` and shipped in ``pipeline/models/checkworthiness.npz``
(weights stored as float16; metadata as JSON inside the archive). Inference needs numpy
and ``murmurhash`` (a dependency of spaCy), not scikit-learn.
"""
from __future__ import annotations

import json
import math
from array import array
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

try:  # spaCy's own dependency: MurmurHash3_x86_32, the same function scikit-learn uses
    from murmurhash import hash as _murmur
except ImportError:  # pragma: no cover - spaCy always brings it
    _murmur = None

if TYPE_CHECKING:  # pragma: no cover
    from spacy.tokens import Doc, Span

MODEL_PATH = Path(__file__).resolve().parent / "models" / "checkworthiness.npz"
DENSE_FEATURES = ("quantity", "named_entity", "entity_count", "date", "attribution", "long_enough", "hedged", "opinion")
BLOCKS = ("words", "chars", "pos", "mixed")
TEXT_MARGIN = "text_margin"  # key of the text part of the margin in pipeline.claims' feature dict

_DIGIT = re.compile(r"\d")
_QUOTE_ONLY = re.compile("[\"'`´“”„‟‘’‚‛«»‹›]+")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "´": "'", "`": "'"})
UNITS_VERSION = 2  # bump when `Units.from_doc` changes (the eval script's cache key)


# ------------------------------------------------------------------ sentence units
@dataclass(frozen=True)
class Units:
    """What the model reads of a parsed sentence (picklable, JSON-able)."""
    words: tuple[str, ...]  # lower-cased tokens, digits -> 0
    tags: tuple[str, ...]  # fine POS tags
    stops: tuple[bool, ...]  # spaCy's is_stop, per token

    @classmethod
    def from_doc(cls, doc: "Doc | Span") -> "Units":
        """Quotation marks are left out and typographic apostrophes written as ASCII: the
        training transcripts have almost none (125 of 9,674 sentences hold a straight
        double quote, 2 a curly one), news quotes are full of them."""
        toks = [t for t in doc if not t.is_space and not _QUOTE_ONLY.fullmatch(t.text)]
        return cls(
            tuple(_DIGIT.sub("0", t.lower_.translate(_APOSTROPHES)) for t in toks),
            tuple(t.tag_ or t.pos_ or "X" for t in toks),
            tuple(bool(t.is_stop) for t in toks),
        )

    def to_list(self) -> list:
        return [list(self.words), list(self.tags), [int(s) for s in self.stops]]

    @classmethod
    def from_list(cls, data: Sequence) -> "Units":
        return cls(tuple(data[0]), tuple(data[1]), tuple(bool(s) for s in data[2]))


def _ngrams(seq: Sequence[str], lo: int, hi: int) -> list[str]:
    out = []
    n_items = len(seq)
    for n in range(lo, hi + 1):
        for i in range(n_items - n + 1):
            out.append(" ".join(seq[i:i + n]))
    return out


def word_ngrams(u: Units) -> list[str]:
    return _ngrams(("<s>", *u.words, "</s>"), 1, 3)


def char_ngrams(u: Units) -> list[str]:
    out = []
    for w in u.words:
        p = f" {w} "
        size = len(p)
        for n in range(2, 6):
            if size <= n:
                out.append(p)
                break
            out.extend(p[i:i + n] for i in range(size - n + 1))
    return out


def pos_ngrams(u: Units) -> list[str]:
    return _ngrams(("<s>", *u.tags, "</s>"), 1, 3)


def mixed_ngrams(u: Units) -> list[str]:
    pattern = ["<s>", *(w if s else t for w, t, s in zip(u.words, u.tags, u.stops)), "</s>"]
    return _ngrams(pattern, 2, 3)


ANALYZERS = {"words": word_ngrams, "chars": char_ngrams, "pos": pos_ngrams, "mixed": mixed_ngrams}


# ------------------------------------------------------------------ hashing
def murmur3_32(key: str, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit of the UTF-8 bytes of `key`, as a signed int (the value of
    scikit-learn's ``murmurhash3_32(key, seed)``). Pure Python; `hash_features` uses the
    compiled one from the ``murmurhash`` package when it is installed."""
    data = key.encode("utf-8")
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed & mask
    n_blocks = len(data) // 4
    for i in range(n_blocks):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    tail = data[4 * n_blocks:]
    k = 0
    if len(tail) >= 3:
        k ^= tail[2] << 16
    if len(tail) >= 2:
        k ^= tail[1] << 8
    if tail:
        k ^= tail[0]
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


_hash = _murmur if _murmur is not None else murmur3_32


@lru_cache(maxsize=1 << 15)
def _word_char_hashes(word: str) -> array:
    """32-bit hashes of a word's char n-grams (an array of ~0.2 kB; with key and cache entry ~10 MB when full)."""
    return array("i", map(_hash, char_ngrams(Units((word,), ("X",), (False,)))))


def block_hashes(block: str, units: Units) -> Iterable[int]:
    """The signed MurmurHash3 (seed 0) of each of one block's features. Char n-grams never
    cross words: their hashes are cached per word."""
    if block == "chars":
        return chain.from_iterable(map(_word_char_hashes, units.words))
    return map(_hash, ANALYZERS[block](units))


def hashed_row(hashes: Iterable[int], n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of one L2-normalized hashed row, as scikit-learn's
    ``HashingVectorizer(alternate_sign=True, norm="l2")`` computes it: each token adds
    +-1 (the sign of its hash) at ``|h| % n_features``; duplicate indices are summed;
    the row is divided by its Euclidean norm. Indices whose sum is 0 are dropped.
    (A Python dict: on a sentence's few hundred features it beats numpy's unique.)"""
    acc: dict[int, float] = {}
    get = acc.get
    for h in hashes:
        i = (-h if h < 0 else h) % n_features
        acc[i] = get(i, 0.0) + (1.0 if h >= 0 else -1.0)
    idx = np.fromiter((i for i, v in acc.items() if v), dtype=np.int64)
    val = np.fromiter((v for v in acc.values() if v), dtype=np.float64)
    norm = math.sqrt(float(val @ val)) if val.size else 0.0
    return idx, (val / norm if norm > 0 else val)


def hash_features(tokens: Iterable[str], n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """`hashed_row` of the features `tokens`."""
    return hashed_row(map(_hash, tokens), n_features)


# ------------------------------------------------------------------ the model
@dataclass
class Model:
    n_features: dict[str, int]
    scales: dict[str, float]
    weights: dict[str, np.ndarray]  # block -> float64 weights (already multiplied by nothing)
    dense: dict[str, float]  # dense feature -> weight
    intercept: float
    calib_a: float
    calib_b: float
    meta: dict

    def block_margin(self, block: str, units: Units) -> float:
        idx, val = hashed_row(block_hashes(block, units), self.n_features[block])
        if not idx.size:
            return 0.0
        return self.scales[block] * float(self.weights[block][idx] @ val)

    def text_margin(self, units: Units) -> float:
        """The part of the margin read from the text (no intercept, no dense features)."""
        return sum(self.block_margin(b, units) for b in BLOCKS)

    def margin(self, features: dict[str, float], text_margin: float = 0.0) -> float:
        return self.intercept + text_margin + sum(
            w * float(features.get(f, 0.0)) for f, w in self.dense.items()
        )

    def calibrate(self, margin: float) -> float:
        """Platt scaling of a raw margin into a probability."""
        x = self.calib_a * margin + self.calib_b
        return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))

    def probability(self, features: dict[str, float], text_margin: float = 0.0) -> float:
        return self.calibrate(self.margin(features, text_margin))


def save(path: Path, model: Model) -> None:
    meta = dict(model.meta, n_features=model.n_features, scales=model.scales, dense=model.dense,
                intercept=model.intercept, calib_a=model.calib_a, calib_b=model.calib_b)
    arrays = {f"w_{b}": model.weights[b].astype(np.float16) for b in BLOCKS}
    arrays["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def load(path: str | Path | None = None) -> Model:
    with np.load(Path(path) if path else MODEL_PATH) as npz:
        meta = json.loads(npz["meta"].tobytes().decode("utf-8"))
        weights = {b: npz[f"w_{b}"].astype(np.float64) for b in BLOCKS}
    return Model(
        n_features={b: int(meta["n_features"][b]) for b in BLOCKS},
        scales={b: float(meta["scales"][b]) for b in BLOCKS},
        weights=weights,
        dense={f: float(meta["dense"][f]) for f in DENSE_FEATURES},
        intercept=float(meta["intercept"]), calib_a=float(meta["calib_a"]), calib_b=float(meta["calib_b"]),
        meta={k: v for k, v in meta.items()
              if k not in {"n_features", "scales", "dense", "intercept", "calib_a", "calib_b"}},
    )


@lru_cache(maxsize=1)
def model() -> Model:
    """The shipped model, loaded once per process."""
    return load()


def text_margin(doc: "Doc | Span") -> float:
    """The text part of the shipped model's margin for one parsed sentence."""
    return model().text_margin(Units.from_doc(doc))


def probability(features: dict[str, float]) -> float:
    """Calibrated check-worthiness of a sentence from `pipeline.claims`' feature dict
    (the eight features, plus ``text_margin`` when the text was scored)."""
    m = model()
    return m.probability(features, float(features.get(TEXT_MARGIN, 0.0)))
