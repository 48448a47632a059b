from __future__ import annotations

import random

import numpy as np
import pytest

from pipeline.neardup import (
    NearDupConfig,
    NearDupIndex,
    minhash_signature,
    near_duplicate_documents,
    near_duplicate_paragraphs,
    shingles,
)

_WORDS = ("government minister said plans would cut tax rise spending public services economy growth "
          "bank rates inflation company profits shares market investors quarter sales record year "
          "club match goal season players coach win league final film award star music chart album").split()


def article(seed: int, n_words: int = 250) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(_WORDS) for _ in range(n_words)) + "."


def edited(text: str, n_edits: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    words = text.split()
    for _ in range(n_edits):
        words[rng.randrange(len(words))] = "edited"
    return " ".join(words)


def test_shingles_normalize_and_short_texts():
    assert shingles("The  Cat, sat!", 5) == {"the cat sat"}
    assert shingles("a b c d e f", 5) == {"a b c d e", "b c d e f"}
    assert shingles("", 5) == set()


def test_signature_is_deterministic():
    a, b = minhash_signature(article(1)), minhash_signature(article(1))
    assert np.array_equal(a.hashvalues, b.hashvalues)
    assert len(a.hashvalues) == NearDupConfig().num_perm


def test_near_identical_documents_found_and_distinct_not():
    docs = {"a": article(1), "b": article(2), "c": edited(article(1), 3), "d": article(3), "e": edited(article(2), 2)}
    index = NearDupIndex()
    out = near_duplicate_documents(list(docs), list(docs.values()), index)
    assert out == {"c": "a", "e": "b"}
    assert len(index) == 5


def test_query_and_add_sorted_and_no_self_match():
    index = NearDupIndex()
    text = article(7)
    assert index.query_and_add("z", text) == []
    assert index.query_and_add("m", text) == ["z"]
    assert index.query_and_add("a", text) == ["m", "z"]
    assert index.query_and_add("a", text) == ["m", "z"]  # re-adding a key: same answer, no self
    assert len(index) == 3


def test_short_texts_are_ignored():
    index = NearDupIndex()
    assert index.query_and_add("x", "Four words only here") == []
    assert "x" not in index


def test_save_load_round_trip(tmp_path):
    texts = {f"d{n}": article(n % 4) if n % 2 else edited(article(n % 4), 2, n) for n in range(10)}
    index = NearDupIndex()
    first = {k: index.query_and_add(k, t) for k, t in texts.items()}
    index.save(tmp_path / "idx")
    loaded = NearDupIndex.load(tmp_path / "idx", NearDupConfig())
    assert loaded.keys() == index.keys()
    for k, t in texts.items():
        assert loaded.query(t) == index.query(t)
        assert np.array_equal(loaded.signature(k), index.signature(k))
    probe = edited(article(1), 4, 99)
    assert loaded.query_and_add("new", probe) == index.query_and_add("new", probe)
    assert any(first.values())


def test_load_missing_gives_empty_and_config_mismatch_raises(tmp_path):
    assert len(NearDupIndex.load(None)) == 0
    assert len(NearDupIndex.load(tmp_path / "nothing")) == 0
    index = NearDupIndex()
    index.query_and_add("a", article(1))
    index.save(tmp_path / "idx")
    with pytest.raises(ValueError):
        NearDupIndex.load(tmp_path / "idx", NearDupConfig(num_perm=64))


def test_remove():
    index = NearDupIndex()
    index.query_and_add("a", article(1))
    index.remove("a")
    index.remove("unknown")
    assert index.query(article(1)) == [] and len(index) == 0


def test_new_batch_against_persisted_corpus(tmp_path):
    old = NearDupIndex()
    near_duplicate_documents(["old1", "old2"], [article(1), article(2)], old)
    old.save(tmp_path / "idx")
    index = NearDupIndex.load(tmp_path / "idx")
    out = near_duplicate_documents(["old1", "old2", "new"], [article(1), article(2), edited(article(2), 2)], index)
    assert out == {"new": "old2"}


def test_near_duplicate_paragraphs_other_documents_only():
    p = "Officials said that about nine thousand troops would arrive in the country over the next week for drills."
    p2 = p.replace("drills.", "exercises!").upper()
    out = near_duplicate_paragraphs(
        ["p1", "p2", "p3", "p4"], ["d1", "d1", "d2", "d3"], [p, p2, p2, "Something else entirely was said here today."],
        NearDupIndex(NearDupConfig.for_paragraphs()),
    )
    assert out == {"p3": "p1"}


def test_keys_of_earlier_runs_are_answered_from_stored_matches(tmp_path):
    """An old key's answer after load equals a fresh query's (matches are kept both ways),
    and comes without scanning the index."""
    texts = {"a": article(1), "b": article(2), "c": edited(article(1), 3)}
    index = NearDupIndex()
    for key, text in texts.items():
        index.query_and_add(key, text)
    index.save(tmp_path / "idx")
    loaded = NearDupIndex.load(tmp_path / "idx")
    asked = loaded._queries
    assert loaded.query_and_add("a", texts["a"]) == ["c"]  # c came later: stored on a's side too
    assert loaded.query_and_add("c", texts["c"]) == ["a"]
    assert loaded.query_and_add("b", texts["b"]) == []
    assert loaded._queries == asked  # no scan, no table
    fresh = NearDupIndex()
    for key, text in texts.items():
        fresh._insert(key, np.asarray(minhash_signature(text).hashvalues, dtype=np.uint32), None)
    assert [fresh._query(k, fresh.signature(k)) for k in texts] == [["c"], [], ["a"]]
    # a new key that matches an old one joins the old key's stored answer
    assert loaded.query_and_add("d", edited(article(1), 2)) == ["a", "c"]
    assert loaded.query_and_add("a", texts["a"]) == ["c", "d"]
    loaded.remove("c")
    assert loaded.query_and_add("a", texts["a"]) == ["d"]


def test_many_queries_switch_to_band_tables_with_the_same_answers():
    from pipeline import neardup

    texts = [article(i % 40) if i % 3 else edited(article(i % 40), 2, seed=i) for i in range(neardup.SCAN_QUERIES + 60)]
    scanned, tabled = NearDupIndex(), NearDupIndex()
    tabled._queries = neardup.SCAN_QUERIES  # tables from the first query on
    a = [scanned.query_and_add(str(i), t) for i, t in enumerate(texts)]
    b = [tabled.query_and_add(str(i), t) for i, t in enumerate(texts)]
    assert tabled._tables is not None
    assert a == b and any(a)


def test_signatures_made_elsewhere_give_the_same_answers():
    from pipeline.neardup import signatures

    docs = {"a": article(1), "b": article(2), "c": edited(article(1), 3), "short": "too few words", "e": edited(article(2), 2)}
    here = near_duplicate_documents(list(docs), list(docs.values()), NearDupIndex())
    calls = []

    def signer(texts, config):
        calls.append(len(texts))
        return signatures(texts, config)

    index = NearDupIndex()
    assert near_duplicate_documents(list(docs), list(docs.values()), index, signer=signer) == here == {"c": "a", "e": "b"}
    assert calls == [5] and "short" not in index
    assert near_duplicate_documents(list(docs), list(docs.values()), index, signer=signer) == here
    assert calls == [5, 1]  # only the text never indexed (too short) is signed again


def test_texts_signed_ahead_are_taken_once_and_give_the_same_answers():
    """`sign_ahead` (a batch signing its texts while its NLP runs, `pipeline.distributed`)
    saves the corpus stage's signer the signing of those texts, with the same answers; each
    is taken once, and a text signed with other settings is not taken. The domain module
    holds none of it: it calls the signer it is given."""
    from pipeline import distributed, neardup
    from pipeline.neardup import signatures

    docs = {"a": article(1), "b": article(2), "c": edited(article(1), 3), "short": "too few words", "e": edited(article(2), 2)}
    expected = near_duplicate_documents(list(docs), list(docs.values()), NearDupIndex())
    asked: list[list[str]] = []

    def counting(texts, config):
        asked.append(list(texts))
        return signatures(texts, config)

    signer = distributed.with_signed_ahead(counting)
    distributed.drop_signed_ahead()
    try:
        assert distributed.sign_ahead([docs["a"], docs["c"], docs["a"]], NearDupConfig()) == 2  # a repeated text is signed once
        assert distributed.sign_ahead([docs["a"]], NearDupConfig()) == 0  # already there
        distributed.sign_ahead([docs["b"]], NearDupConfig.for_paragraphs())  # other settings: never taken for documents
        near_duplicate_documents(list(docs), list(docs.values()), NearDupIndex(), signer=counting)
        assert distributed.signed_ahead_waiting() == 3  # a signer of its own takes nothing made ahead
        asked.clear()
        out = near_duplicate_documents(list(docs), list(docs.values()), NearDupIndex(), signer=signer)
        assert out == expected == {"c": "a", "e": "b"}
        assert asked == [[docs["b"], docs["short"], docs["e"]]]  # a and c were signed ahead
        assert distributed.signed_ahead_waiting() == 1  # a and c taken; b (paragraph settings) left
        asked.clear()
        near_duplicate_documents(list(docs), list(docs.values()), NearDupIndex(), signer=signer)
        assert asked == [list(docs.values())]  # taken once: a fresh index signs everything again
    finally:
        distributed.drop_signed_ahead()
    assert distributed.signed_ahead_waiting() == 0
    assert not any(name.startswith("_SIGNED") for name in vars(neardup))


def test_many_near_identical_texts_stay_bounded_and_point_at_the_first(tmp_path, monkeypatch):
    """A group of mutual near-duplicates larger than the caps: buckets admit at most
    MAX_BUCKET_ROWS rows, each key keeps at most MAX_KEPT_MATCHES matches, every copy still
    points at the first text, the scanning and the table lookup agree, and a loaded index
    admits the same rows."""
    from pipeline import neardup

    monkeypatch.setattr(neardup, "MAX_BUCKET_ROWS", 8)
    monkeypatch.setattr(neardup, "MAX_KEPT_MATCHES", 4)
    texts = [f"Item {i}: the council met on Monday and approved the budget for the new library in the town centre."
             for i in range(120)]
    keys = [f"k{i:03d}" for i in range(120)]
    index = NearDupIndex()
    out = near_duplicate_documents(keys, texts, index)
    assert out == {k: "k000" for k in keys[1:]}
    index._count_buckets()
    counts = [n for band in index._bucket_rows for n in band.values()]
    assert max(counts) == 8
    bands, admitted = index._band_matrix[:len(keys)], index._admitted[:len(keys)]
    for band in range(index._b):  # admitted rows per band value: the first 8 of each
        values, n = np.unique(bands[admitted[:, band], band], return_counts=True)
        assert n.max() <= 8 and all(admitted[np.nonzero(bands[:, band] == v)[0][:8], band].all() for v in values)
    assert max(len(m) for m in index._matches.values()) == 4
    assert index._matches["k119"] == ["k000", "k001", "k002", "k003"]  # the earliest kept
    scanned, tabled = NearDupIndex(), NearDupIndex()
    tabled._queries = neardup.SCAN_QUERIES
    assert [scanned.query_and_add(k, t) for k, t in zip(keys, texts)] == \
           [tabled.query_and_add(k, t) for k, t in zip(keys, texts)]
    index.save(tmp_path / "idx")
    loaded = NearDupIndex.load(tmp_path / "idx")
    assert (loaded._admitted == index._admitted[:len(keys)]).all()
    assert loaded.query(texts[0]) == index.query(texts[0])
    assert near_duplicate_documents(keys + ["new"], texts + [texts[5].replace("Item 5", "Item 500")], loaded) == \
           {**out, "new": "k000"}


def test_caps_do_not_change_answers_below_them():
    """Lifting the caps changes nothing when no bucket or match list reaches them."""
    from pipeline import neardup

    texts = [article(i % 30) if i % 3 else edited(article(i % 30), 2, seed=i) for i in range(150)]
    index = NearDupIndex()
    capped = [index.query_and_add(str(i), t) for i, t in enumerate(texts)]
    assert max(n for band in index._bucket_rows for n in band.values()) < neardup.MAX_BUCKET_ROWS
    old = neardup.MAX_BUCKET_ROWS, neardup.MAX_KEPT_MATCHES
    neardup.MAX_BUCKET_ROWS = neardup.MAX_KEPT_MATCHES = 10 ** 9
    try:
        free = NearDupIndex()
        assert [free.query_and_add(str(i), t) for i, t in enumerate(texts)] == capped
    finally:
        neardup.MAX_BUCKET_ROWS, neardup.MAX_KEPT_MATCHES = old


@pytest.mark.parametrize("caps", [(64, 16), (3, 2)])
def test_batch_insertion_equals_one_at_a_time(tmp_path, monkeypatch, caps):
    """`add_signed_batch` (used by `near_duplicate_*` for many new keys) gives every key
    the answer `add_signed` in the same order gives, and leaves the same index: stored
    matches, admitted bucket rows and later answers; with an index of earlier runs that
    has a removed key, and with caps that bind."""
    from pipeline import neardup
    from pipeline.neardup import signatures

    monkeypatch.setattr(neardup, "MAX_BUCKET_ROWS", caps[0])
    monkeypatch.setattr(neardup, "MAX_KEPT_MATCHES", caps[1])
    monkeypatch.setattr(neardup, "BATCH_CHUNK", 7)  # several chunks
    texts = [article(i % 9) if i % 4 else edited(article(i % 9), 1 + i % 3, seed=i) for i in range(60)]
    sigs = signatures(texts)
    old = NearDupIndex()
    for i in range(10):
        old.add_signed(f"old{i}", sigs[i])
    old.remove("old3")
    old.save(tmp_path / "idx")
    one, many = NearDupIndex.load(tmp_path / "idx"), NearDupIndex.load(tmp_path / "idx")
    keys = [f"new{i}" for i in range(10, 60)]
    groups = [f"g{i % 5}" for i in range(10, 60)]
    expected = [one.add_signed(k, sigs[i], group=g) for k, i, g in zip(keys, range(10, 60), groups)]
    assert many.add_signed_batch(keys, sigs[10:], groups) == expected
    assert any(len(e) > caps[1] for e in expected) or caps[1] == 16
    assert many.keys() == one.keys() and many._matches == one._matches and many._groups == one._groups
    assert (many._admitted[:many._n_rows] == one._admitted[:one._n_rows]).all()
    probe = edited(article(2), 2, seed=99)
    assert many.query_and_add("probe", probe) == one.query_and_add("probe", probe)
    many.save(tmp_path / "many")
    one.save(tmp_path / "one")
    assert (tmp_path / "many" / "keys.v2.json").read_bytes() == (tmp_path / "one" / "keys.v2.json").read_bytes()


def test_near_duplicate_calls_give_the_same_answers_in_batch(monkeypatch):
    from pipeline import neardup

    texts = [article(i % 7) if i % 3 else edited(article(i % 7), 2, seed=i) for i in range(40)]
    docs = [f"d{i}" for i in range(40)]
    monkeypatch.setattr(neardup, "BATCH_MIN_KEYS", 10 ** 9)
    single = near_duplicate_documents(docs, texts, NearDupIndex())
    paras_single = near_duplicate_paragraphs(docs, [f"doc{i % 13}" for i in range(40)], texts,
                                             NearDupIndex(NearDupConfig.for_paragraphs()))
    monkeypatch.setattr(neardup, "BATCH_MIN_KEYS", 1)
    assert near_duplicate_documents(docs, texts, NearDupIndex()) == single and single
    assert near_duplicate_paragraphs(docs, [f"doc{i % 13}" for i in range(40)], texts,
                                     NearDupIndex(NearDupConfig.for_paragraphs())) == paras_single


def test_an_index_saved_by_older_code_loads_and_is_saved_compact(tmp_path):
    """Older code saved `keys.json` with the matches as keys; it still loads, with the same
    answers, and the next save writes `keys.v2.json` (matches as positions) and removes it."""
    import json

    texts = {"a": article(1), "b": article(2), "c": edited(article(1), 3)}
    index = NearDupIndex()
    for key, text in texts.items():
        index.query_and_add(key, text, group="doc-" + key if key == "b" else key)
    index.save(tmp_path / "idx")
    meta = json.loads((tmp_path / "idx" / "keys.v2.json").read_text())
    assert meta["matches"] == [[2], [], [0]] and meta["groups"] == [1, "doc-b", 1]
    # the older layout: matches and groups spelled out
    legacy = {"keys": meta["keys"], "groups": ["a", "doc-b", "c"], "matches": [["c"], [], ["a"]]}
    (tmp_path / "idx" / "keys.v2.json").unlink()
    (tmp_path / "idx" / "keys.json").write_text(json.dumps(legacy))
    old = NearDupIndex.load(tmp_path / "idx")
    assert old._matches == index._matches and old._groups == index._groups
    assert old.query_and_add("a", texts["a"]) == ["c"]
    old.save(tmp_path / "idx")
    assert not (tmp_path / "idx" / "keys.json").exists()
    again = NearDupIndex.load(tmp_path / "idx")
    assert again._matches == index._matches and again._groups == index._groups and again.keys() == index.keys()


def test_an_index_naming_a_match_position_it_lacks_is_quarantined(tmp_path):
    import json

    from pipeline.state import load_indexes

    index = NearDupIndex()
    index.query_and_add("a", article(1))
    index.query_and_add("c", edited(article(1), 3))
    index.save(tmp_path / "neardup_documents")
    path = tmp_path / "neardup_documents" / "keys.v2.json"
    meta = json.loads(path.read_text())
    meta["matches"][0] = [7]  # no key at that position
    path.write_text(json.dumps(meta))
    loaded = load_indexes(tmp_path)
    assert len(loaded.documents) == 0  # rebuilt from the accepted rows by the corpus stage
    assert not (tmp_path / "neardup_documents").exists()


def test_new_documents_after_a_judged_corpus_get_the_verdicts_of_judging_all_of_them():
    """`near_duplicate_documents` on the new documents only, with the earlier ones as `prior`
    (in the index already, with their verdicts), answers as a call on all of them does:
    copies of copies point at the first document of their group."""
    base = [article(s) for s in range(6)]
    copy = edited(base[0], 12, 1)  # a copy of a, and g a copy of that copy too far from a to match it
    docs = [("a", base[0]), ("b", copy), ("c", base[1]), ("d", base[2]),
            ("e", edited(base[2], 2, 2)), ("f", base[3])]
    new = [("g", edited(copy, 12, 7)), ("h", base[4]), ("i", edited(base[4], 2, 4)), ("j", edited(base[2], 3, 5)),
           ("k", base[5])]
    whole = NearDupIndex(NearDupConfig())
    everything = near_duplicate_documents([d for d, _ in docs + new], [t for _, t in docs + new], whole)

    index = NearDupIndex(NearDupConfig())
    earlier = near_duplicate_documents([d for d, _ in docs], [t for _, t in docs], index)
    assert earlier == {"b": "a", "e": "d"}
    added = near_duplicate_documents([d for d, _ in new], [t for _, t in new], index,
                                     prior=[d for d, _ in docs], prior_copies=earlier)
    assert {**earlier, **added} == everything
    assert added == {"g": "a", "i": "h", "j": "d"}
    # without the earlier verdicts g would point at the copy it matches (a chain)
    again = NearDupIndex(NearDupConfig())
    near_duplicate_documents([d for d, _ in docs], [t for _, t in docs], again)
    assert near_duplicate_documents(["g"], [new[0][1]], again)["g"] == "b"


def test_new_paragraphs_after_a_judged_corpus_get_the_links_of_judging_all_of_them():
    texts = [article(s, 40) for s in range(5)]
    first = article(0, 60)
    copy = edited(first, 1, 1)  # p5 is a copy of this copy that does not match p1 itself
    prior = [("p1", "d1", first), ("p2", "d2", copy), ("p3", "d2", texts[1]), ("p4", "d3", texts[2])]
    new = [("p5", "d4", edited(copy, 1, 8)), ("p6", "d4", edited(texts[1], 1, 3)), ("p7", "d5", texts[3]),
           ("p8", "d6", edited(texts[3], 1, 4)), ("p9", "d6", edited(texts[2], 2, 5))]
    cfg = NearDupConfig.for_paragraphs()
    rows = prior + new
    everything = near_duplicate_paragraphs([p for p, _, _ in rows], [d for _, d, _ in rows], [t for *_, t in rows],
                                           NearDupIndex(cfg))
    index = NearDupIndex(cfg)
    earlier = near_duplicate_paragraphs([p for p, _, _ in prior], [d for _, d, _ in prior], [t for *_, t in prior], index)
    added = near_duplicate_paragraphs([p for p, _, _ in new], [d for _, d, _ in new], [t for *_, t in new], index,
                                      prior=[p for p, _, _ in prior], prior_links=earlier)
    assert {**earlier, **added} == everything
    assert added == {"p5": "p1", "p6": "p3", "p8": "p7", "p9": "p4"}  # p5: the first of its group, not p2
    again = NearDupIndex(cfg)
    near_duplicate_paragraphs([p for p, _, _ in prior], [d for _, d, _ in prior], [t for *_, t in prior], again)
    assert near_duplicate_paragraphs(["p5"], ["d4"], [new[0][2]], again)["p5"] == "p2"  # without the earlier links


def test_an_index_unchanged_since_it_was_loaded_or_saved_is_not_written_again(tmp_path):
    folder = tmp_path / "index"
    index = NearDupIndex(NearDupConfig())
    index.query_and_add("a", article(1))
    index.save(folder)
    stamps = {p.name: p.stat().st_ino for p in folder.iterdir()}
    loaded = NearDupIndex.load(folder, NearDupConfig())
    loaded.query_and_add("a", "")  # a key it holds: nothing changes
    loaded.save(folder)
    assert {p.name: p.stat().st_ino for p in folder.iterdir()} == stamps  # nothing replaced
    loaded.query_and_add("b", article(2))
    loaded.save(folder)
    assert {p.name: p.stat().st_ino for p in folder.iterdir()} != stamps
    assert "b" in NearDupIndex.load(folder, NearDupConfig())
    loaded.save(tmp_path / "elsewhere")  # another folder: written
    assert "b" in NearDupIndex.load(tmp_path / "elsewhere", NearDupConfig())
