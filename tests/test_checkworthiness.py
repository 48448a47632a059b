"""pipeline.checkworthiness: the shipped text model, its numpy inference against scikit-learn."""
from __future__ import annotations

import fnmatch
import math
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest

from pipeline import checkworthiness as cw
from pipeline.claims import CLAIM_THRESHOLD, SentenceInput, analyze, checkworthiness

PROJECT = Path(__file__).resolve().parent.parent

# made-up sentences, not from the seeds or from ClaimBuster
CHECK_WORTHY = [
    "The city's unemployment rate fell from 9.4 percent in 2019 to 5.1 percent last year.",
    "Our state spends $2.3 billion a year on prisons, more than it spends on its universities.",
    "Since 2015 the company has closed 14 factories and cut 12,000 jobs in Ohio and Michigan.",
]
CHIT_CHAT = [
    "Thank you all so much, it is wonderful to see so many friends here tonight.",
    "Well, I appreciate the question and I am glad you asked it.",
    "Let me just say hello to my family watching at home.",
]
MIXED = CHECK_WORTHY + CHIT_CHAT + [
    "“Nobody expected the bridge to reopen before spring,” the mayor said.",
    "The agency said on Tuesday that about 700 homes were still without power.",
    "Why would anyone believe that?",
    "",
]


def _score(nlp, text: str) -> float:
    return checkworthiness(analyze(nlp(text), SentenceInput("s", "d", "p", text, 0)).features)


def _inputs(nlp, texts):
    out = []
    for t in texts:
        doc = nlp(t)
        a = analyze(doc, SentenceInput("s", "d", "p", t, 0))
        out.append({"units": cw.Units.from_doc(doc), "features": {f: a.features[f] for f in cw.DENSE_FEATURES},
                    "all_features": a.features})
    return out


# ------------------------------------------------------------------ the artifact
def test_model_file_loads_quickly_and_is_complete():
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        m = cw.load()
        times.append(time.perf_counter() - t0)
    assert min(times) < 0.2, times
    assert set(m.weights) == set(cw.BLOCKS)
    for b in cw.BLOCKS:
        assert m.weights[b].shape == (m.n_features[b],)
        assert np.isfinite(m.weights[b]).all() and np.count_nonzero(m.weights[b]) > 1000
    assert set(m.dense) == set(cw.DENSE_FEATURES)
    assert m.calib_a > 0
    assert m.meta["cv_auc_mean"] >= 0.88 and len(m.meta["cv_auc_folds"]) == 5


def test_model_file_is_package_data():
    conf = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = conf["tool"]["setuptools"]["package-data"]["pipeline"]
    rel = cw.MODEL_PATH.relative_to(PROJECT / "pipeline").as_posix()
    assert any(fnmatch.fnmatch(rel, p) for p in patterns), (rel, patterns)


def test_claim_threshold_is_the_one_chosen_with_the_model():
    assert CLAIM_THRESHOLD == pytest.approx(cw.model().meta["claim_threshold"])


# ------------------------------------------------------------------ scores
def test_scores_are_probabilities(nlp):
    scores = [_score(nlp, t) for t in MIXED]
    assert all(0.0 <= s <= 1.0 for s in scores), scores
    assert len(set(scores)) > len(MIXED) // 2  # not a constant
    m = cw.model()
    for z in (-1e6, -50.0, 0.0, 50.0, 1e6):  # no overflow at the extremes
        assert 0.0 <= m.calibrate(z) <= 1.0


def test_check_worthy_sentences_score_above_chit_chat(nlp):
    worthy = [_score(nlp, t) for t in CHECK_WORTHY]
    chat = [_score(nlp, t) for t in CHIT_CHAT]
    assert min(worthy) > max(chat), (worthy, chat)
    assert min(worthy) >= CLAIM_THRESHOLD > max(chat)


def test_quotation_marks_do_not_change_the_score(nlp):
    plain = "The total cost will be a little more than 40 million dollars."
    quoted = f"“{plain}”"
    assert cw.Units.from_doc(nlp(plain)) == cw.Units.from_doc(nlp(quoted))
    assert _score(nlp, plain) == _score(nlp, quoted)


def test_text_margin_is_kept_when_claims_rescore_with_the_document_attribution(nlp):
    """document_claims re-scores a claim with its resolved attribution: only the attribution
    weight may move the score, the text part stays."""
    text = CHECK_WORTHY[0]
    feats = analyze(nlp(text), SentenceInput("s", "d", "p", text, 0)).features
    assert feats[cw.TEXT_MARGIN] != 0.0
    m = cw.model()
    lo = checkworthiness(dict(feats, attribution=0.0))
    hi = checkworthiness(dict(feats, attribution=1.0))
    expected = m.calibrate(m.margin(dict(feats, attribution=1.0), feats[cw.TEXT_MARGIN]))
    assert hi == pytest.approx(expected, abs=1e-6)
    assert (hi > lo) == (m.dense["attribution"] > 0)


# ------------------------------------------------------------------ hashing = scikit-learn's
HASH_SAMPLES = ["", "a", "ab", "abc", "abcd", "abcde", "the cat sat", "<s> we", " 0,000 ", "é", "naïve café",
                "中文 字", "n't", "CD NNS IN", "x" * 37]


def test_pure_python_murmurhash_matches_the_compiled_one():
    from murmurhash import hash as compiled

    for s in HASH_SAMPLES:
        assert cw.murmur3_32(s) == compiled(s), s


def test_murmurhash_matches_scikit_learn():
    pytest.importorskip("sklearn")
    from sklearn.utils import murmurhash3_32

    for s in HASH_SAMPLES:
        assert cw.murmur3_32(s) == murmurhash3_32(s, seed=0), s
        assert cw._hash(s) == murmurhash3_32(s, seed=0), s


@pytest.mark.parametrize("n_features", [2 ** 4, 2 ** 18])  # 16 buckets: collisions and cancellations
def test_hashed_rows_match_hashing_vectorizer(nlp, n_features):
    pytest.importorskip("sklearn")
    from sklearn.feature_extraction.text import HashingVectorizer

    units = [cw.Units.from_doc(nlp(t)) for t in MIXED]
    for block in cw.BLOCKS:
        hv = HashingVectorizer(analyzer=cw.ANALYZERS[block], n_features=n_features, alternate_sign=True, norm="l2")
        expected = hv.transform(units).toarray()
        for u, row in zip(units, expected):
            got = np.zeros(n_features)
            idx, val = cw.hashed_row(cw.block_hashes(block, u), n_features)
            got[idx] = val
            np.testing.assert_allclose(got, row, atol=1e-12, err_msg=f"{block}: {u.words}")


def _sklearn_probabilities(m: cw.Model, inputs) -> np.ndarray:
    """The scikit-learn pipeline of eval/checkworthiness.py carrying the model's weights."""
    from eval.checkworthiness import DENSE_SCALE, sklearn_pipeline

    pipe = sklearn_pipeline(n_features=m.n_features, scales=m.scales)
    pipe.named_steps["features"].fit(inputs)
    lr = pipe.named_steps["lr"]
    lr.coef_ = np.concatenate([m.weights[b] for b in cw.BLOCKS]
                              + [np.array([m.dense[f] / DENSE_SCALE for f in cw.DENSE_FEATURES])])[None, :]
    lr.intercept_ = np.array([m.intercept])
    lr.classes_ = np.array([0, 1])
    z = pipe.decision_function(inputs)
    return 1.0 / (1.0 + np.exp(-(m.calib_a * z + m.calib_b)))


def test_numpy_inference_equals_scikit_learn_on_the_shipped_weights(nlp):
    pytest.importorskip("sklearn")
    m = cw.model()
    inputs = _inputs(nlp, MIXED)
    expected = _sklearn_probabilities(m, inputs)
    got = np.array([m.probability(r["features"], m.text_margin(r["units"])) for r in inputs])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    # and what the claims stage computes (rounded to 6 decimals there)
    claims = np.array([checkworthiness(r["all_features"]) for r in inputs])
    np.testing.assert_allclose(claims, expected, rtol=0, atol=1e-6)


def test_trained_scikit_learn_pipeline_converts_to_the_same_numpy_model(nlp, tmp_path):
    """The training path: fit the scikit-learn pipeline, convert and save it as the eval
    script does, reload it with the runtime, compare (float16 weights in the file)."""
    pytest.importorskip("sklearn")
    from eval.checkworthiness import sklearn_pipeline, to_model

    inputs = _inputs(nlp, MIXED)
    labels = np.array([1] * len(CHECK_WORTHY) + [0] * len(CHIT_CHAT) + [1, 1, 0, 0])
    pipe = sklearn_pipeline(c=10.0).fit(inputs, labels)
    a, b = 1.3, -0.2
    path = tmp_path / "cw.npz"
    cw.save(path, to_model(pipe, a, b, {"note": "test"}))
    m = cw.load(path)
    assert m.meta == {"note": "test"}
    z = pipe.decision_function(inputs)
    expected = 1.0 / (1.0 + np.exp(-(a * z + b)))
    got = np.array([m.probability(r["features"], m.text_margin(r["units"])) for r in inputs])
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-3)
    assert math.isclose(float(np.corrcoef(got, expected)[0, 1]), 1.0, abs_tol=1e-4)


def test_runtime_does_not_import_scikit_learn():
    """The claims stage scores with numpy alone: with scikit-learn made unimportable, the
    model loads and scores (a fresh interpreter, so nothing imported it before)."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "from pipeline import claims, checkworthiness as cw\n"
        "u = cw.Units(('prices', 'rose', '0', '%', '.'), ('NNS', 'VBD', 'CD', 'NN', '.'), (False,) * 5)\n"
        "m = cw.model()\n"
        "p = claims.checkworthiness({'quantity': 1.0, cw.TEXT_MARGIN: m.text_margin(u)})\n"
        "assert 0.0 <= p <= 1.0 and 'sklearn' not in [k for k, v in sys.modules.items() if v is not None]\n"
        "print(p)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert 0.0 <= float(out.stdout) <= 1.0
