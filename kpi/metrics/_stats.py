"""How sure a rate is, and whether a change is more than noise: Wilson intervals, NPS intervals, XmR limits, a
two-proportion test. Plain functions on counts, so pages, reports and the ranking judge change the same way."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054  # two-sided 95%
XMR_FACTOR = 2.66  # 3 / d2 with d2 = 1.128 for moving ranges of two points (Wheeler)


def wilson_interval(successes: float, n: float, z: float = Z95) -> tuple[float, float] | None:
    """95% Wilson score interval of a proportion successes/n; None when n is 0."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie in 0..n, got {successes} of {n}")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def poisson_interval(count: float, z: float = Z95) -> tuple[float, float] | None:
    """95% score interval of a Poisson count's mean (count + z²/2 ± z·sqrt(count + z²/4)); None when negative.
    55 complaints: 42.3 to 71.6."""
    if count < 0:
        return None
    z2 = z * z
    half = z * math.sqrt(count + z2 / 4)
    return max(0.0, count + z2 / 2 - half), count + z2 / 2 + half


def nps_interval(promoters: float, passives: float, detractors: float, z: float = Z95) -> tuple[float, float] | None:
    """95% interval of NPS (-100..100) from its three-way split: the variance of (promoter - detractor) indicators."""
    n = promoters + passives + detractors
    if n <= 0:
        return None
    p, d = promoters / n, detractors / n
    nps = p - d
    se = math.sqrt(max(p + d - nps * nps, 0.0) / n)
    return max(-100.0, 100 * (nps - z * se)), min(100.0, 100 * (nps + z * se))


@dataclass(frozen=True)
class XmrLimits:
    """Natural process limits of an individuals (XmR) chart built on a baseline series."""
    centre: float
    mean_moving_range: float
    lower: float
    upper: float
    points: int

    def judge(self, value: float) -> str:
        """'above', 'below' or 'within' the limits."""
        if value > self.upper:
            return "above"
        if value < self.lower:
            return "below"
        return "within"


def xmr_limits(baseline: Sequence[float | None]) -> XmrLimits | None:
    """Limits from the baseline's mean and mean moving range (missing points skipped); None with fewer than 2 points."""
    xs = [float(x) for x in baseline if x is not None and not (isinstance(x, float) and math.isnan(x))]
    if len(xs) < 2:
        return None
    centre = sum(xs) / len(xs)
    mr = sum(abs(b - a) for a, b in zip(xs, xs[1:])) / (len(xs) - 1)
    return XmrLimits(centre, mr, centre - XMR_FACTOR * mr, centre + XMR_FACTOR * mr, len(xs))


def two_proportion_z(x1: float, n1: float, x2: float, n2: float) -> float | None:
    """z of p1 - p2 with the pooled proportion; None when either n is 0 or the pooled rate is 0 or 1."""
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return None
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return (x1 / n1 - x2 / n2) / se
