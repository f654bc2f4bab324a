"""The busiest second to expect of any randomised, uncoordinated schedule: the floor beside the results.

A fleet whose refreshes are spread at random, each instance independent of the others, sends a Poisson
stream: the requests in one second are a Poisson count of the mean rate, or, when each instance sends a
batch of `b` requests at once (its plan's 3 GetParameters), `b` times a Poisson count of a `b`-th of it.
Seconds are (nearly) independent, so the busiest of `n` seconds is the maximum of `n` such counts, whose
expected value is exact: E[max] = b * sum over k >= 0 of (1 - F(k) ** n), F the Poisson distribution.

The same holds for windows of 10 s (n = 360 in an hour, mean 10 times higher). Only coordination (a fleet
taking turns) or fewer fetchers gets below it; the library's randomised schedule can at best reach it.
"""

from __future__ import annotations

import math

__all__ = ["busiest_over_mean"]


def _poisson_cdf(mean: float, top: int) -> list[float]:
    """P(X <= k) for k = 0..top, X a Poisson count of this mean (computed in logs: no underflow)."""
    cdf, total = [], 0.0
    for k in range(top + 1):
        total += math.exp(k * math.log(mean) - mean - math.lgamma(k + 1)) if mean > 0 else float(k == 0)
        cdf.append(min(1.0, total))
    return cdf


def busiest_over_mean(mean: float, windows: int, batch: int = 1) -> float:
    """The expected busiest of `windows` counts over their mean, for a Poisson stream of batches.

    Args:
        mean: requests per window.
        windows: how many windows (3,600 seconds in an hour; 360 windows of 10 s).
        batch: requests sent together by one instance (each batch is one Poisson event).
    """
    if mean <= 0:
        return math.nan
    events = mean / batch
    top = int(events + 12 * math.sqrt(events) + 30)
    cdf = _poisson_cdf(events, top)
    expected_max = batch * sum(1.0 - p**windows for p in cdf)
    return expected_max / mean
