from __future__ import annotations

import hashlib
import re

from pipeline import ids

DOC = hashlib.sha256(b"some article bytes").hexdigest()
OTHER_DOC = hashlib.sha256(b"other article bytes").hexdigest()
CHILD_RE = re.compile(r"^(?P<prefix>[a-z]+)_(?P<hex>[0-9a-f]{24})$")


# ---------------------------------------------------------------- doc_id
def test_doc_id_is_hex_sha256_of_raw_bytes():
    raw = "Ein Artikel über Minsk.\r\n".encode("utf-8")
    assert ids.doc_id(raw) == hashlib.sha256(raw).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", ids.doc_id(raw))


def test_doc_id_known_value_for_empty_input():
    assert ids.doc_id(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_doc_id_depends_on_every_byte():
    assert ids.doc_id(b"abc") != ids.doc_id(b"abd")
    assert ids.doc_id(b"abc") != ids.doc_id(b"abc\n")
    assert ids.doc_id(b"abc") == ids.doc_id(bytes(b"abc"))


# ---------------------------------------------------------------- child ids: format
def test_child_id_format_prefix_and_24_hex():
    for value, prefix in [
        (ids.paragraph_id(DOC, 0, 10), "p"),
        (ids.sentence_id(DOC, 0, 10), "s"),
        (ids.claim_id("s_0123456789abcdef01234567"), "c"),
        (ids.cluster_id(["c_1", "c_2"]), "k"),
        (ids.child_id("xyz", DOC, 1), "xyz"),
    ]:
        m = CHILD_RE.match(value)
        assert m, value
        assert m["prefix"] == prefix
        assert len(value) == len(prefix) + 1 + 24


def test_child_id_is_truncated_sha256_of_parent_and_parts():
    expected = hashlib.sha256(f"{DOC}\x1f3\x1f17".encode()).hexdigest()[:24]
    assert ids.paragraph_id(DOC, 3, 17) == f"p_{expected}"
    assert ids.child_id("p", DOC, 3, 17) == ids.paragraph_id(DOC, 3, 17)


# ---------------------------------------------------------------- determinism
def test_ids_are_deterministic():
    assert ids.paragraph_id(DOC, 5, 42) == ids.paragraph_id(DOC, 5, 42)
    assert ids.sentence_id(DOC, 5, 42) == ids.sentence_id(DOC, 5, 42)
    assert ids.claim_id("s_abc") == ids.claim_id("s_abc")
    # a pinned value guards against accidental changes of the scheme between runs/machines
    assert ids.paragraph_id("d", 0, 1) == "p_" + hashlib.sha256(b"d\x1f0\x1f1").hexdigest()[:24]


def test_cluster_id_ignores_member_order():
    assert ids.cluster_id(["c_b", "c_a", "c_c"]) == ids.cluster_id(["c_c", "c_b", "c_a"])
    assert ids.cluster_id(iter(["c_a", "c_b"])) == ids.cluster_id(("c_b", "c_a"))


# ---------------------------------------------------------------- uniqueness
def test_paragraph_ids_unique_across_positions():
    generated = {ids.paragraph_id(DOC, a, b) for a in range(0, 200, 3) for b in range(a + 1, a + 30)}
    assert len(generated) == len(range(0, 200, 3)) * 29


def test_positions_are_not_ambiguous_when_concatenated():
    # (1, 23) and (12, 3) would collide if the parts were joined without a separator
    assert ids.paragraph_id(DOC, 1, 23) != ids.paragraph_id(DOC, 12, 3)
    assert ids.paragraph_id(DOC, 0, 10) != ids.paragraph_id(DOC, 10, 0)


def test_ids_differ_across_documents_and_kinds():
    assert ids.paragraph_id(DOC, 0, 10) != ids.paragraph_id(OTHER_DOC, 0, 10)
    # a sentence covering a whole paragraph still has a distinct id
    assert ids.paragraph_id(DOC, 0, 10)[2:] == ids.sentence_id(DOC, 0, 10)[2:]
    assert ids.paragraph_id(DOC, 0, 10) != ids.sentence_id(DOC, 0, 10)


def test_claim_and_cluster_ids_unique():
    sids = [ids.sentence_id(DOC, i, i + 5) for i in range(100)]
    cids = [ids.claim_id(s) for s in sids]
    assert len(set(cids)) == 100
    assert ids.cluster_id(["c_a", "c_b"]) != ids.cluster_id(["c_a"])
    assert ids.cluster_id(["c_a", "c_b"]) != ids.cluster_id(["c_a", "c_c"])
