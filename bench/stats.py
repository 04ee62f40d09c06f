"""The figures every benchmark reports of a list of samples."""

from __future__ import annotations

import statistics


def percentiles(samples: list[float], digits: int = 2) -> dict[str, float]:
    """p50, p99 and max of `samples`, rounded to `digits`."""
    ordered = sorted(samples)
    return {"p50": round(statistics.median(ordered), digits),
            "p99": round(ordered[max(0, int(len(ordered) * 0.99) - 1)], digits),
            "max": round(ordered[-1], digits)}
