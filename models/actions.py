"""What to do about an open order at risk: the one place its thresholds live.

- `none`: P(late) below `notify_customer`.
- `reroute`: P(late) at least `reroute` and the factor raising it most is the node (its record
  of lateness or its backlog): another node may keep the promise.
- `expedite`: P(late) at least `expedite` otherwise: a faster service can buy the time back.
- `notify_customer`: in between, or when nothing operational explains the risk: tell the
  customer before they ask (where-is-my-order contacts cost money, see the cost model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACTIONS = ("expedite", "reroute", "notify_customer", "none")
NODE_FACTORS = frozenset({"node", "node_backlog"})
OPERATIONAL_FACTORS = frozenset({"promise_slack", "distance", "carrier", "disruption"})


@dataclass(frozen=True)
class ActionThresholds:
    notify_customer: float = 0.30
    expedite: float = 0.50
    reroute: float = 0.50


DEFAULT_THRESHOLDS = ActionThresholds()


def suggest_actions(
    p_late: np.ndarray,
    leading_factor: np.ndarray,
    leading_contribution: np.ndarray,
    thresholds: ActionThresholds = DEFAULT_THRESHOLDS,
) -> np.ndarray:
    """Per order, one of ACTIONS from its P(late) and the factor raising it most."""
    raises = np.asarray(leading_contribution) > 0
    factor = np.asarray(leading_factor, dtype=object)
    by_node = np.isin(factor, list(NODE_FACTORS))
    operational = np.isin(factor, list(OPERATIONAL_FACTORS))
    # The first condition that holds decides, in the order of the module's docstring.
    return np.select(
        [
            p_late < thresholds.notify_customer,
            (p_late >= thresholds.reroute) & raises & by_node,
            (p_late >= thresholds.expedite) & raises & operational,
        ],
        ["none", "reroute", "expedite"],
        default="notify_customer",
    ).astype(object)
