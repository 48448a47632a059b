"""Evaluation scripts that print figures; each takes the corpus path (nothing of a corpus is stored here).

    .venv/bin/python -m eval.bbc_neardup --corpus ../shared/corpus/bbc
    .venv/bin/python -m eval.boilerplate_eval --corpus ../shared/corpus/bbc
"""
