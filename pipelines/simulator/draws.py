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
from itertools import chain

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


class OrderDraws:
    """The day's orders' draws of one kind, handed to one order at a time: order k's are row k
    of one block of uniforms, then a generator keyed by the order.

    `of(k)` points the draws at order k, continuing where they were if k is already the order
    drawing; they are order k's until another order is pointed at. One object for the day
    rather than one per order, and `random` a C-level `__next__` over the order's row (made
    Python floats only when the order is pointed at): the day's orders draw a few each, and
    objects, frames and floats made per order cost more than the draws themselves.
    `randint` scales one uniform draw: uniform to well within what the world needs (ranges here
    are at most a few days of seconds against 2**53 steps), and one call rather than the frames
    of `random.Random.randint`.
    """

    __slots__ = ("random", "_block", "_key", "_k", "_overflow")

    def __init__(self, seed: int, kind: int, day: int, orders: int) -> None:
        self._block = stream(seed, kind, day).random((orders, DRAWS_PER_ORDER))
        self._key = (seed, kind, day)
        self._k = -1
        self._overflow = _Overflow(self)
        self.random: Callable[[], float] = self._unpointed

    def of(self, k: int) -> OrderDraws:
        if k != self._k:
            self._k = k
            # chain asks _overflow for its iterator only once the row is used up.
            self.random = chain(self._block[k].tolist(), self._overflow).__next__
        return self

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.random()

    @staticmethod
    def _unpointed() -> float:
        raise RuntimeError("draws asked for before an order was pointed at (OrderDraws.of)")


class _Overflow:
    """What the order being pointed at draws after its row: a generator seeded by the order's
    key, so the overflow is as much the order's own as its row."""

    __slots__ = ("_draws",)

    def __init__(self, draws: OrderDraws) -> None:
        self._draws = draws

    def __iter__(self) -> Iterator[float]:
        d = self._draws
        return iter(random.Random(repr((*d._key, d._k))).random, None)


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
