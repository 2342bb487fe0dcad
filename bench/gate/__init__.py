"""The CI regression gate: a results directory against a baseline.

``config`` reads gate.toml, ``baseline`` snapshots what is gated (or loads a
stored snapshot), ``checks`` compares (counters strictly, latency ratios with
Mann-Whitney U, findings), ``junit`` writes JUnit XML and ``cli`` is
``cinderbench gate``. It reads results through ``bench.measure.results`` only.
"""
