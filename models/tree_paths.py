"""The leaf each row reaches in each tree of a fitted gradient-boosted model, and what it adds.

scikit-learn's histogram boosters have no public `apply` (the forests do), yet one pass that
tells each row's leaf per tree gives both the raw score and an exact per-feature split of it
(the path attribution in `models/explain.py`) for the price of one prediction. So this module
reads the fitted trees' node arrays and asks each tree's own compiled predictor for the node a
row ends in (missing values and category bitsets handled exactly as in `predict`). It is the one
place that touches the booster's internals; `tests/test_ml.py` checks that the leaves' values add
up to `decision_function` and the calibrated probability to `predict_proba`, so a scikit-learn
release that changes them fails there, not in a scoring run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads


@dataclass(frozen=True)
class Tree:
    """One fitted tree: per node its expected raw score, and a predictor that returns node ids."""

    expected: np.ndarray
    feature: np.ndarray
    parent: np.ndarray
    is_leaf: np.ndarray
    node_finder: TreePredictor

    def path_shares(self, group_of_feature: np.ndarray, groups: int) -> np.ndarray:
        """(nodes x groups): what the splits on each group's features added on the way to a leaf.

        Walking from the root, each split moves the expected score from the parent's to the
        child's; the move is credited to the group of the split's feature. A leaf's row sums to
        its value minus the root's expected score. Only leaf rows are filled.
        """
        shares = np.zeros((len(self.expected), groups))
        for leaf in np.flatnonzero(self.is_leaf):
            node = leaf
            while self.parent[node] >= 0:
                up = self.parent[node]
                shares[leaf, group_of_feature[self.feature[up]]] += (
                    self.expected[node] - self.expected[up]
                )
                node = up
        return shares


def trees_of(booster: HistGradientBoostingClassifier) -> list[Tree]:
    if booster.n_trees_per_iteration_ != 1:
        raise ValueError("path attribution is implemented for binary classifiers only")
    return [_tree(predictors[0]) for predictors in booster._predictors]


def _tree(predictor: TreePredictor) -> Tree:
    nodes = predictor.nodes
    n = len(nodes)
    is_leaf = nodes["is_leaf"].astype(bool)
    parent = np.full(n, -1, dtype=np.int64)
    internal = np.flatnonzero(~is_leaf)
    parent[nodes["left"][internal]] = internal
    parent[nodes["right"][internal]] = internal
    # A leaf holds its (shrunk) value; a split node the training-count-weighted mean of its
    # children, so "expected" is the model's average score over the rows that reached the node.
    expected = np.where(is_leaf, nodes["value"], 0.0)
    counts = nodes["count"].astype(np.float64)
    for node in internal[np.argsort(-nodes["depth"][internal], kind="stable")]:
        left, right = nodes["left"][node], nodes["right"][node]
        total = counts[left] + counts[right]
        expected[node] = (
            (counts[left] * expected[left] + counts[right] * expected[right]) / total
            if total > 0
            else 0.5 * (expected[left] + expected[right])
        )
    ids = nodes.copy()
    ids["value"] = np.arange(n, dtype=np.float64)
    finder = TreePredictor(ids, predictor.binned_left_cat_bitsets, predictor.raw_left_cat_bitsets)
    return Tree(expected, nodes["feature_idx"].astype(np.int64), parent, is_leaf, finder)


class LeafFinder:
    """Finds, tree by tree, the node each row of a float matrix ends in."""

    def __init__(self, booster: HistGradientBoostingClassifier) -> None:
        self.booster = booster
        self.baseline = float(np.ravel(booster._baseline_prediction)[0])
        self.known_categories, self.feature_map = (
            booster._bin_mapper.make_known_categories_bitsets()
        )
        self.threads = _openmp_effective_n_threads()

    def prepare(self, x: np.ndarray) -> np.ndarray:
        return self.booster._preprocess_X(x, reset=False)

    def leaves(self, tree: Tree, x: np.ndarray, threads: int | None = None) -> np.ndarray:
        found = tree.node_finder.predict(
            x, self.known_categories, self.feature_map, threads or self.threads
        )
        return found.astype(np.intp)
