"""The day's stream of Python draws, and the one way a named outcome is drawn by its weights."""

from __future__ import annotations

import random
from collections.abc import Sequence


class DayRandom(random.Random):
    """The day's stream of Python draws, with a `randint` that costs one `random()` call.

    `random.Random.randint` goes through `randrange`, its argument checks and `_randbelow`; the
    order loop calls it several times per order, so those frames were a noticeable share of the
    run. Scaling one uniform draw is uniform to well within what the world needs (ranges here are
    at most a few days of seconds against 2**53 steps).
    """

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))


def weighted_choice(r: float, names: Sequence[str], weights: Sequence[float]) -> str:
    """The name whose share of [0, 1) holds the uniform draw `r`, shares in the order given.

    Weights that sum to less than 1 leave the rest to the last name. The running sum is taken in
    the order given on every call, so the same draw always gives the same name.
    """
    acc = 0.0
    for name, weight in zip(names, weights, strict=True):
        acc += weight
        if r < acc:
            return name
    return names[-1]
