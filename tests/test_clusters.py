"""pipeline.clusters: cross-document clusters of claims stating the same thing."""
from __future__ import annotations

import random

import pandas as pd
import pytest

from pipeline import ids
from pipeline.clusters import ClaimFeatures, build_features, cluster_claims, jaccard, linked


def _c(claim_id, doc_id, lemmas, cw=0.7, entities=(), quantities=()):
    return ClaimFeatures(claim_id, doc_id, frozenset(lemmas.split()), frozenset(entities), tuple(quantities), cw)


# two paraphrases of one claim (content lemmas as the claims stage writes them)
PARA_A = "arrive belarus russian troop week"
PARA_B = "arrive belarus russian soldier troop week"  # jaccard 5/6
UNRELATED = "border drill helicopter gomel tank"


def test_jaccard():
    assert jaccard(frozenset("a b c".split()), frozenset("b c d".split())) == 0.5
    assert jaccard(frozenset(), frozenset("a".split())) == 0.0
    assert jaccard(frozenset("a".split()), frozenset("a".split())) == 1.0


def test_paraphrases_in_different_documents_cluster():
    claims = [_c("c_a", "doc1", PARA_A, 0.6), _c("c_b", "doc2", PARA_B, 0.9), _c("c_x", "doc3", UNRELATED)]
    (cluster,) = cluster_claims(claims)
    assert cluster.claim_ids == ("c_a", "c_b")
    assert cluster.n_documents == 2
    assert cluster.cluster_id == ids.cluster_id(["c_a", "c_b"])
    assert cluster.representative_claim_id == "c_b"


def test_same_document_pairs_never_cluster():
    claims = [_c("c_a", "doc1", PARA_A), _c("c_b", "doc1", PARA_A)]  # identical, same document
    assert cluster_claims(claims) == []


def test_same_document_claims_join_only_through_another_document():
    claims = [_c("c_a", "doc1", PARA_A), _c("c_b", "doc1", PARA_A), _c("c_c", "doc2", PARA_A)]
    (cluster,) = cluster_claims(claims)
    assert cluster.claim_ids == ("c_a", "c_b", "c_c")
    assert cluster.n_documents == 2


def test_cluster_ids_deterministic_and_order_independent():
    claims = [
        _c("c_1", "doc1", PARA_A), _c("c_2", "doc2", PARA_B), _c("c_3", "doc3", PARA_A),
        _c("c_4", "doc1", UNRELATED), _c("c_5", "doc4", UNRELATED + " ukraine"),
    ]
    first = cluster_claims(claims)
    assert [c.claim_ids for c in first] == sorted(
        [("c_1", "c_2", "c_3"), ("c_4", "c_5")], key=lambda m: ids.cluster_id(m)
    )
    rng = random.Random(7)
    for _ in range(5):
        shuffled = claims[:]
        rng.shuffle(shuffled)
        assert cluster_claims(shuffled) == first
    assert [c.cluster_id for c in first] == sorted(c.cluster_id for c in first)


def test_representative_has_highest_checkworthiness():
    claims = [_c("c_1", "doc1", PARA_A, 0.55), _c("c_2", "doc2", PARA_B, 0.95), _c("c_3", "doc3", PARA_A, 0.7)]
    (cluster,) = cluster_claims(claims)
    assert cluster.representative_claim_id == "c_2"


def test_representative_tie_is_first_member():
    claims = [_c("c_2", "doc2", PARA_B, 0.8), _c("c_1", "doc1", PARA_A, 0.8)]
    (cluster,) = cluster_claims(claims)
    assert cluster.representative_claim_id == "c_1"


def test_weak_overlap_needs_entity_and_compatible_quantity():
    a_lemmas, b_lemmas = "arrive belarus russian troop", "belarus russian troop border drill ministry say"  # 3/8
    assert 0.25 <= jaccard(frozenset(a_lemmas.split()), frozenset(b_lemmas.split())) < 0.5
    a = _c("c_a", "doc1", a_lemmas, entities={"Belarus"}, quantities=[(9000.0, "at_most", "troop")])
    b = _c("c_b", "doc2", b_lemmas, entities={"Belarus"}, quantities=[(9000.0, "less_than", "soldier")])
    assert linked(a, b)
    assert len(cluster_claims([a, b])) == 1
    # incompatible numbers, no shared entity, or different units: no link
    b_far = _c("c_b", "doc2", b_lemmas, entities={"Belarus"}, quantities=[(20000.0, "exact", "troop")])
    b_other = _c("c_b", "doc2", b_lemmas, entities={"Ukraine"}, quantities=[(9000.0, "less_than", "troop")])
    b_unit = _c("c_b", "doc2", b_lemmas, entities={"Belarus"}, quantities=[(9000.0, "less_than", "tank")])
    for other in (b_far, b_other, b_unit):
        assert not linked(a, other)
        assert cluster_claims([a, other]) == []


def test_build_features_from_table_rows():
    claims = [{"claim_id": "c_1", "doc_id": "doc1", "content_lemmas": "arrive troop", "checkworthiness": 0.8},
              {"claim_id": "c_2", "doc_id": "doc2", "content_lemmas": None, "checkworthiness": 0.6}]
    quantities = [{"claim_id": "c_1", "value": 9000, "qualifier": "at_most", "unit": "troop"}]
    entities = [{"claim_id": "c_1", "text": "Russia's", "canonical": "Russia"},
                {"claim_id": "c_1", "text": "Belarus", "canonical": None}]
    f1, f2 = build_features(claims, quantities, entities)
    assert f1 == ClaimFeatures("c_1", "doc1", frozenset({"arrive", "troop"}), frozenset({"Russia", "Belarus"}),
                               ((9000.0, "at_most", "troop"),), 0.8)
    assert f2.lemmas == frozenset() and f2.entities == frozenset() and f2.quantities == ()


def _brute_force_pairs(claims, min_sim, max_postings):
    """Every pair the rule names, by looking at every pair: i < j, different documents,
    sharing a lemma found in at most `max_postings` claims, Jaccard >= min_sim."""
    from collections import Counter

    df = Counter(lemma for c in claims for lemma in c.lemmas)
    out = []
    for i in range(len(claims)):
        for j in range(i + 1, len(claims)):
            a, b = claims[i], claims[j]
            if a.doc_id == b.doc_id or not any(df[lemma] <= max_postings for lemma in a.lemmas & b.lemmas):
                continue
            if (sim := jaccard(a.lemmas, b.lemmas)) >= min_sim:
                out.append((i, j, round(sim, 12)))
    return out


def test_candidate_pairs_equal_brute_force_with_small_blocks_and_frequent_lemmas(monkeypatch):
    """The sparse product gives exactly the pairs a look at every pair gives: with one
    block or many small ones, and with frequent lemmas counted from bitsets (pairs that
    share only those are no candidates, but they count in every similarity)."""
    import numpy as np

    from pipeline import clusters

    rng = random.Random(11)
    vocab = [f"w{i}" for i in range(60)]  # the first words are in more claims than the last ones
    claims = [_c(f"c_{i}", f"doc{i % 17}", " ".join(rng.sample(vocab[:12 + (i % 4) * 16], rng.randint(2, 8))))
              for i in range(300)]

    def pairs(min_sim):
        left, right, sim = clusters.candidate_pairs(claims, min_sim)
        assert left.dtype == right.dtype == np.int64
        return sorted(zip(left.tolist(), right.tolist(), np.round(sim, 12).tolist()))

    for max_postings in (clusters.MAX_POSTINGS, 30):
        monkeypatch.setattr(clusters, "MAX_POSTINGS", max_postings)
        for min_sim in (0.0, 0.25, 0.5):
            expected = _brute_force_pairs(claims, min_sim, max_postings)
            assert len(expected) > (10 if min_sim else 1000)
            assert pairs(min_sim) == expected
            monkeypatch.setattr(clusters, "PAIR_CHUNK", 64)  # many blocks, some of a single claim
            assert pairs(min_sim) == expected
            monkeypatch.undo()
            monkeypatch.setattr(clusters, "MAX_POSTINGS", max_postings)
    assert clusters.candidate_pairs(claims[:1]) [0].size == 0
    assert clusters.candidate_pairs([_c("a", "d1", "x y"), _c("b", "d2", "z")])[0].size == 0  # nothing shared


# ---------------------------------------------------------------- issue #16: one statement across outlets
def test_one_figure_of_one_event_about_a_shared_subject_clusters_with_few_words_in_common():
    from pipeline.clusters import same_statement

    # "Norway will station about 4,000 soldiers in Finland" / "as many as 4,000 Norwegian troops are
    # being sent to Finland": almost no lemma in common, same figure, event and subject
    a = _c("c_a", "doc1", "norway station soldier finland", entities=("Norway", "Finland"),
           quantities=[(4000.0, "approximate", "soldier")])
    b = _c("c_b", "doc2", "norwegian send troop finland border", entities=("Norwegian", "Finland"),
           quantities=[(4000.0, "at_most", "troop")])
    assert jaccard(a.lemmas, b.lemmas) < 0.25 and not linked(a, b)
    assert same_statement(a, b)
    (cluster,) = cluster_claims([a, b])
    assert set(cluster.claim_ids) == {"c_a", "c_b"}


def test_other_figure_or_other_event_or_no_shared_subject_does_not_cluster():
    from pipeline.clusters import same_statement

    base = _c("c_a", "doc1", "norway station soldier finland", entities=("Norway",),
              quantities=[(4000.0, "exact", "soldier")])
    other_figure = _c("c_b", "doc2", "norway send troop finland", entities=("Norway",),
                      quantities=[(6500.0, "exact", "troop")])
    other_event = _c("c_c", "doc3", "norway kill troop accident", entities=("Norway",),
                     quantities=[(4000.0, "exact", "troop")])
    other_subject = _c("c_d", "doc4", "chile send troop border", entities=("Chile",),
                       quantities=[(4000.0, "exact", "troop")])
    for other in (other_figure, other_event, other_subject):
        assert not same_statement(base, other)


def test_a_shared_quotation_clusters_two_reports():
    from pipeline.clusters import quoted_passages, same_statement

    text_a = 'The minister said: "We will never accept a deal that closes the northern harbour to our fleet."'
    text_b = 'Speaking on radio, she repeated "we will never accept a deal that closes the northern harbour".'
    a = ClaimFeatures("c_a", "doc1", frozenset("minister deal harbour".split()), frozenset(), (), 0.5,
                      quoted_passages(text_a))
    b = ClaimFeatures("c_b", "doc2", frozenset("radio repeat deal".split()), frozenset(), (), 0.5,
                      quoted_passages(text_b))
    assert same_statement(a, b)
    assert quoted_passages("no quotation here at all, just words in a row") == frozenset()


def test_statement_pairs_skip_blocks_larger_than_max_postings():
    from pipeline.clusters import MAX_POSTINGS, statement_pairs

    many = [_c(f"c{i}", f"doc{i}", "rise", quantities=[(5.0, "exact", "percent")]) for i in range(MAX_POSTINGS + 5)]
    assert statement_pairs(many) == []
    few = many[:3]
    assert len(statement_pairs(few)) == 3


def _random_claims(rng: random.Random, n: int, docs: int, vocabulary: int = 40) -> list[ClaimFeatures]:
    """Claims over a small vocabulary (many pairs, lemmas near MAX_POSTINGS claims), some
    with quantities and quoted passages (the statement pairs)."""
    words = [f"w{k}" for k in range(vocabulary)]
    out = []
    for k in range(n):
        quantities = ((float(rng.choice([100, 300, 900, 2700, 8100])), rng.choice(["exact", "approximate"]), "troop"),) \
            if rng.random() < 0.4 else ()
        quotes = frozenset({f"we will not back down now or ever {rng.randrange(5)}"}) if rng.random() < 0.4 else frozenset()
        out.append(ClaimFeatures(f"c{k:04d}", f"d{rng.randrange(docs)}", frozenset(rng.sample(words, rng.randint(2, 6))),
                                 frozenset(rng.sample(["Russia", "Belarus", "NATO"], rng.randint(0, 2))), quantities,
                                 rng.random(), quotes))
    return out


@pytest.mark.parametrize("vocabulary", [40, 300])
def test_incremental_clustering_equals_a_full_one(monkeypatch, vocabulary):
    """A LinkMemo of one corpus, applied to the next (claims added, removed, changed; lemmas
    and statement blocks crossing MAX_POSTINGS both ways), gives the clusters of a full run."""
    from pipeline import clusters
    from pipeline.clusters import LinkMemo

    monkeypatch.setattr(clusters, "MAX_POSTINGS", 12)
    rng = random.Random(5)
    claims = _random_claims(rng, 160, 50, vocabulary)
    memo = LinkMemo()
    assert cluster_claims(claims, memo) == cluster_claims(claims)
    reused = 0
    for step in range(12):
        corpus = list(claims)
        if step % 3 == 0:  # new claims
            corpus += _random_claims(random.Random(100 + step), 10 + step, 60, vocabulary)
            corpus = [ClaimFeatures(f"{c.claim_id}_{step}" if k >= len(claims) else c.claim_id, *(
                getattr(c, f) for f in ("doc_id", "lemmas", "entities", "quantities", "checkworthiness", "quotes")))
                for k, c in enumerate(corpus)]
        elif step % 3 == 1:  # claims removed
            corpus = [c for c in corpus if rng.random() > 0.15]
        else:  # some claims changed (other words; an entity renamed across the corpus)
            corpus = [ClaimFeatures(c.claim_id, c.doc_id, rng.choice(corpus).lemmas, c.entities | {"Minsk"},
                                    c.quantities, c.checkworthiness, c.quotes) if rng.random() < 0.1 else c
                      for c in corpus]
        memo = LinkMemo.from_json(memo.to_json())  # as kept between runs
        assert cluster_claims(corpus, memo) == cluster_claims(corpus), step
        reused += memo.reused
        claims = corpus
    assert reused > 0  # the memo was used, not only rebuilt


def test_link_memo_of_other_rules_is_not_used(monkeypatch):
    from pipeline import clusters
    from pipeline.clusters import LinkMemo

    claims = _random_claims(random.Random(2), 40, 10)
    memo = LinkMemo()
    cluster_claims(claims, memo)
    text = memo.to_json()
    assert LinkMemo.from_json(text).digests == memo.digests
    monkeypatch.setattr(clusters, "MAX_POSTINGS", 7)
    assert LinkMemo.from_json(text).digests == {}
    monkeypatch.undo()
    monkeypatch.setattr(clusters, "_source_digest", lambda: "other code")
    assert LinkMemo.from_json(text).digests == {}


def test_clusters_with_memo_in_the_state_folder(tmp_path, seed_frames):
    from pipeline import build

    claims, quantities, entities = (seed_frames[t] for t in ("claims", "claim_quantities", "claim_entities"))
    full = build.clusters_table(claims, quantities, entities)
    first, reused = build.clusters_with_memo(claims, quantities, entities, tmp_path)
    assert reused == 0 and (tmp_path / "cluster_links.json").exists()
    again, reused = build.clusters_with_memo(claims, quantities, entities, tmp_path)
    assert reused == len(claims)
    for df in (first, again):
        pd.testing.assert_frame_equal(df, full)
    (tmp_path / "cluster_links.json").write_text("{not json")
    pd.testing.assert_frame_equal(build.clusters_with_memo(claims, quantities, entities, tmp_path)[0], full)


def test_a_changed_claim_is_paired_again():
    """A claim whose words changed, with no lemma crossing the pairing bounds: its links
    are computed again (here it becomes a paraphrase of a claim of another document)."""
    from pipeline.clusters import LinkMemo

    before = [_c("a", "d1", "p q r s"), _c("c", "d1", "p q r s"), _c("b", "d2", "p q x y"), _c("d", "d3", "x y z w")]
    after = before[:2] + [_c("b", "d2", "p q r x"), before[3]]
    memo = LinkMemo()
    assert cluster_claims(before, memo) == []
    (cluster,) = cluster_claims(after, memo)
    assert cluster_claims(after) == [cluster] and set(cluster.claim_ids) == {"a", "b", "c"}
