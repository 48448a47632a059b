"""Finding the files a failing corpus-level check comes from.

A corpus that passed its check before a batch of new files and fails with them fails
because of some of them (rows that only go wrong beside the rest of a corpus). `culprits`
finds them by bisection over the suspects: each probe is a corpus assembled and checked
with some suspects left out (`passes(included)`), so at most about 2·k·log2(n) probes for
k culprits among n suspects, and never more than `max_probes`. Both ways of running the
pipeline use it: `pipeline run` probes with corpus-only runs, a run the daemon launched
probes inside its `corpus` step.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

MAX_PROBES = 24


def culprits(suspects: Sequence[str], passes: Callable[[list[str]], bool], max_probes: int = MAX_PROBES) -> list[str]:
    """The suspects without which `passes` holds.

    `passes(included)` checks a corpus holding only the suspects in `included` (with
    everything accepted before). Returns [] when even the corpus without any suspect fails
    (not their doing) or when there are none; a group the probes ran out on, or whose
    halves pass alone but fail together, is returned whole."""
    suspects = list(suspects)
    probes = 0

    def probe(included: list[str]) -> bool:
        nonlocal probes
        probes += 1
        return passes(included)

    if not suspects or not probe([]):
        return []

    def search(group: list[str]) -> list[str]:
        if probes >= max_probes:
            return group  # out of probes: hold the whole group
        if probe(group):
            return []
        if len(group) == 1:
            return group
        half = (len(group) + 1) // 2
        found = search(group[:half]) + search(group[half:])
        return found or group  # neither half alone: they fail together

    return search(suspects)
