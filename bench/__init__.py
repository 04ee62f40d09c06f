"""Benchmarks: `make bench` (`python -m bench`). Figures are ratios against same-run baselines."""
