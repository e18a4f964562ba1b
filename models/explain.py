"""Why one row scored what it did: the factors that moved it most, with their sign.

Method (path attribution over the trees): in each tree, a row follows one path from the root to a
leaf. Every split on the way moves the tree's expected score (the training-weighted mean of the
leaves below a node) from the parent's to the child's, and the move is credited to the factor
that owns the split's feature. Summed over the trees, a row's factor contributions plus the
model's average raw score equal its raw score exactly (log-odds, before calibration); positive
means the factor raised the risk. The factors are the named feature groups of the spec, so an
explanation reads "promise_slack +1.8" rather than a list of columns.

It is computed from the model itself in the same single pass over the trees that gives the raw
score (`models/tree_paths.py`), which is what lets a million open orders be explained within the
time one prediction takes; per-factor occlusion, used before, cost one extra full prediction per
factor (decision log: "Explanations").
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from models.features import FeatureSpec
from models.tree_paths import LeafFinder, trees_of

TOP_FACTORS = 3
# Features of the spec that no named factor owns are reported together under this name.
UNGROUPED = "other"
# Rows per pass over the trees: a block's contributions stay in the processor's cache while
# every tree adds to them.
BLOCK_ROWS = 1 << 16


class PathExplainer:
    """Raw scores and per-factor contributions of a fitted booster, in one pass over its trees."""

    def __init__(self, booster: HistGradientBoostingClassifier, spec: FeatureSpec) -> None:
        self.names = list(spec.factors)
        position = {factor: i for i, factor in enumerate(self.names)}
        group = {f: position[name] for name, fs in spec.factors.items() for f in fs}
        if any(f not in group for f in spec.features):
            self.names.append(UNGROUPED)
        group_of_feature = np.array(
            [group.get(f, len(self.names) - 1) for f in spec.features], dtype=np.int64
        )
        self.finder = LeafFinder(booster)
        self.trees = []
        for tree in trees_of(booster):
            shares = tree.path_shares(group_of_feature, len(self.names))
            used = np.flatnonzero(np.abs(shares).sum(axis=0) > 0)
            self.trees.append((tree, shares, used))
        # The model's average raw score: what every row starts from before its path.
        self.average = self.finder.baseline + sum(tree.expected[0] for tree, _, _ in self.trees)

    def explain(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The raw scores (log-odds) and an (rows x factors) array of signed contributions."""
        x = self.finder.prepare(x)
        n = x.shape[0]
        contributions = np.zeros((n, len(self.names)), order="F")
        blocks = [slice(start, min(start + BLOCK_ROWS, n)) for start in range(0, n, BLOCK_ROWS)]
        # Blocks run on a thread each, every tree single-threaded within a block: the trees'
        # compiled code releases the GIL, and unlike one OpenMP region per tree (a barrier per
        # tree and block) this keeps both cores busy when the machine is shared.
        with ThreadPoolExecutor(max_workers=self.finder.threads) as pool:
            done = pool.map(lambda block: self._add_paths(x[block], contributions[block]), blocks)
            list(done)  # raises what a block raised
        return self.average + contributions.sum(axis=1), contributions

    def _add_paths(self, rows: np.ndarray, into: np.ndarray) -> None:
        for tree, shares, used in self.trees:
            leaf = self.finder.leaves(tree, rows, threads=1)
            for g in used:
                into[:, g] += shares[leaf, g]


def top_factors(
    names: list[str], contributions: np.ndarray, k: int = TOP_FACTORS
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the k factor names with the largest |contribution|, and their contributions."""
    order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :k]
    rows = np.arange(contributions.shape[0])[:, None]
    return np.asarray(names, dtype=object)[order], contributions[rows, order]
