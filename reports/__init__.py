"""The HTML comparison report: ``cinderbench report RESULTS... -o report.html``.

One self-contained page (inline CSS, charts as inline PNG, no script) that a
person deciding whether Cinder can move to MagnetoDB reads top to bottom: the
verdict, what ran, latency side by side, percentiles, time series, join
avoidance, writes, transport share, findings, the gate and trends.

Modules, one job each: ``build`` (assemble and render), ``verdict`` (the summary),
``facts`` (what ran), ``tables`` (per-operation tables), ``findings``
(validation/diff/gate files), ``trends`` (several runs), ``charts``
(matplotlib), ``model`` (cells, tables, sides), ``format`` (numbers as text),
``cli`` (the command and compare's last step). Everything is read through
``bench.measure.results.load_results``.
"""
