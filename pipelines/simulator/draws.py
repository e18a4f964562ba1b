"""Where the world's random draws come from: streams keyed by what they belong to.

Two runs of one world that route differently (the closed-loop experiment) must share every
draw a routing decision does not cause: the same orders, the same shrink on the same shelves,
the same carrier misses per shipment slot. One shared sequence cannot give that: an extra
rejection in one order would shift every draw after it. So each kind of draw has its own stream,
keyed by the seed, the kind and the day, and the draws that belong to an order come from that
order's own block: order k of a day reads row k, whatever the orders before it did.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence

import numpy as np

# The kinds of draws, each its own stream (the numbers are part of the world's bytes).
WORLD, DEMAND, RECEIPTS, DRIFT, SHRINK, WALK_INS, COUNTS = 1, 2, 3, 4, 5, 6, 7
NODE_DAYS, ORDER_WALK, PARCEL_SLOTS, AFTERCARE = 8, 9, 10, 11
# Uniform draws kept per order for its walk and for its aftercare. An order needs a handful;
# the rare one that needs more continues on a generator keyed by the order (OrderDraws).
DRAWS_PER_ORDER = 16


def stream(seed: int, kind: int, day: int = 0) -> np.random.Generator:
    """The generator of one kind of draw on one day."""
    return np.random.default_rng([seed, kind, day])


def _row_then_more(block: np.ndarray, key: tuple[int, ...]) -> Iterator[float]:
    """Order k's draws (k = key[-1]): its row of the day's block, then a generator of its own."""
    yield from block[key[-1]].tolist()
    # Seeded by the order's key, so the overflow is as much the order's own as its row.
    more = random.Random(repr(key)).random
    while True:
        yield more()


class OrderDraws:
    """One order's uniform draws, in the order it asks for them.

    `random` is a generator's `__next__`: one C-level call per draw, and the order's row becomes
    Python floats only at its first draw (converting every row of the day up front cost more than
    the draws themselves: most orders use a few of their 16, the walk's mostly none).
    `randint` scales one uniform draw: uniform to well within what the world needs (ranges here
    are at most a few days of seconds against 2**53 steps), and one call rather than the frames
    of `random.Random.randint`.
    """

    __slots__ = ("random",)

    def __init__(self, block: np.ndarray, key: tuple[int, ...]) -> None:
        self.random: Callable[[], float] = _row_then_more(block, key).__next__

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.random()


class DayDraws:
    """The day's orders' draws of one kind: order k's are row k of one block of uniforms.

    `of(k)` makes order k's draws when it first asks, and gives the same draws, continuing, when
    it asks again before the next order does.
    """

    __slots__ = ("_block", "_key", "_k", "_draws")

    def __init__(self, seed: int, kind: int, day: int, orders: int) -> None:
        self._block = stream(seed, kind, day).random((orders, DRAWS_PER_ORDER))
        self._key = (seed, kind, day)
        self._k, self._draws = -1, None

    def of(self, k: int) -> OrderDraws:
        if k != self._k:
            self._k, self._draws = k, OrderDraws(self._block, (*self._key, k))
        return self._draws


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
