"""`pipeline.isolation.culprits`: the files a failing corpus check comes from, by bisection."""
from __future__ import annotations

from pipeline.isolation import culprits


def _checker(bad: set[str], together: set[str] = frozenset(), log: list | None = None):
    """A corpus check that fails with any file of `bad`, or with all of `together`."""
    def passes(included: list[str]) -> bool:
        if log is not None:
            log.append(list(included))
        inc = set(included)
        return not (inc & bad) and not (together and together <= inc)
    return passes


def test_one_culprit_among_many_is_found_in_few_probes():
    suspects = [f"f{i:03d}" for i in range(200)]
    assert culprits(suspects, _checker({"f137"}), max_probes=100) == ["f137"]
    probes = []
    culprits(suspects, _checker({"f137"}, log=probes), max_probes=100)
    assert len(probes) <= 2 * 8 + 2  # about 2·log2(200)


def test_several_culprits_are_all_found():
    suspects = [f"f{i}" for i in range(16)]
    assert culprits(suspects, _checker({"f2", "f11", "f12"}), max_probes=100) == ["f2", "f11", "f12"]


def test_a_failure_without_any_suspect_is_not_theirs():
    assert culprits(["a", "b"], lambda included: False) == []
    assert culprits([], lambda included: False) == []


def test_files_that_fail_only_together_are_returned_together():
    assert culprits(["a", "b", "c", "d"], _checker(set(), together={"a", "d"}), max_probes=100) == ["a", "b", "c", "d"]


def test_out_of_probes_the_group_left_is_held_whole():
    suspects = [f"f{i}" for i in range(64)]
    found = culprits(suspects, _checker({"f40"}), max_probes=3)
    assert "f40" in found and len(found) > 1
    probes: list = []
    culprits(suspects, _checker({"f40"}, log=probes), max_probes=3)
    assert len(probes) <= 4
