"""TEMPORARY stub (replaced by the reader branch)."""

from __future__ import annotations


class Vocabulary:
    pass


def load_vocabulary() -> Vocabulary:
    return Vocabulary()
