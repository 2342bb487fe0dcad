"""One measured job end to end: open backends, load the dataset, run, write the results.

``cinderbench run`` and ``cinderbench compare`` both call ``run_job``; they
differ only in where the backends come from. The locust workloads drive the
same ``Run`` from their users and write the same ``run.json`` (``run_metadata``).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.drive.clusters.base import Cluster
from bench.drive.faults import install as install_faults
from bench.drive.kills import KillSchedule
from bench.drive.runner import Run, run_workload
from bench.drive.spec import RunSpec
from bench.measure.failover import failover_facts
from bench.measure.floor import measure_floor
from bench.measure.oplog import read_oplog
from bench.measure.provenance import git_revision, machine, versions
from bench.measure.results import Results, load_results, write_results
from bench.workload.datasets import Dataset, build_dataset, load_dataset
from bench.workload.mixes import resolve_mix
from cinderdb import backend_class, open_backend
from cinderdb.base import Backend


def backend_labels(specs: Sequence[str]) -> list[tuple[str, str]]:
    """``[LABEL=]URL`` arguments as ``(label, url)``; labels default to the engine, made unique."""
    pairs: list[tuple[str, str]] = []
    for spec in specs:
        label, sep, url = spec.partition("=")
        if not sep or "://" in label:
            label, url = "", spec
        if not label:
            label = backend_class(url).default_label(url)
        taken = {existing for existing, _ in pairs}
        unique, n = label, 2
        while unique in taken:
            unique, n = f"{label}-{n}", n + 1
        pairs.append((unique, url))
    return pairs


def default_output(command: str) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("results") / f"{command}-{stamp}"


def run_metadata(
    command: str,
    run: Run,
    backends: Sequence[tuple[str, Backend]],
    timing: dict[str, Any],
    parameters: dict[str, Any],
    dataset: Dataset,
    engines: Mapping[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``run.json`` (without ``format``) for a finished run; the locust workloads use it too.

    ``timing`` has ``started_epoch``, ``ended_epoch``, ``duration_s`` and ``operations``.
    ``engines`` (label -> ``engine_info()``) as taken before the run; asked now otherwise.
    """
    engines = engines or {}
    baseline_of = dict(run.pairings)
    return {
        "command": command,
        "argv": sys.argv,
        "started_at": dt.datetime.fromtimestamp(timing["started_epoch"], dt.UTC).isoformat(),
        **timing,
        "parameters": parameters,
        "dataset": {
            "spec": dataset.spec.to_dict(),
            "records": {name: len(records) for name, records in dataset.data.sections()},
        },
        "backends": [
            {
                "label": label,
                "url": backend.url,
                "engine": engines[label] if label in engines else backend.engine_info(),
                "baseline": baseline_of.get(label),
            }
            for label, backend in backends
        ],
        "versions": versions(),
        "git": git_revision(),
        "machine": machine(),
        "totals": {
            "operations": timing["operations"],
            "skipped": dict(run.recorder.skipped),
            "divergent": dict(run.recorder.divergent),
            "harness_failures": run.harness_failure_count,
        },
        "harness_failures": run.harness_failures,
    }


def run_job(
    spec: RunSpec,
    output: str | Path | None = None,
    *,
    load: bool = True,
    progress: bool = True,
    command: str = "run",
    extra: dict[str, Any] | None = None,
    clusters: Mapping[str, Cluster] | None = None,
) -> Results:
    """Open each backend of ``spec``, load the dataset (resetting the schema), run, write
    the results directory and return it. Faults (``spec.faults``) are installed on the
    MagnetoDB backends once loaded; what they injected goes to ``faults.jsonl``.
    ``spec.node_kills`` kill nodes of ``clusters`` (side -> cluster) during the measured
    phase; run.json's ``node_kills`` says when, and what each backend it served saw."""
    kills = KillSchedule(spec.node_kills, clusters or {}, spec.backends)
    directory = Path(output) if output else default_output(command)
    directory.mkdir(parents=True, exist_ok=True)
    mix = resolve_mix(spec.mix)
    dataset = build_dataset(spec.dataset)
    opened: list[tuple[str, Backend]] = []
    injectors = []
    run = None
    loads: dict[str, float] = {}
    try:
        for label, url in spec.backends:
            backend = open_backend(url)
            opened.append((label, backend))
            if load:
                backend.drop_schema()
                seconds = load_dataset(backend, dataset.data, label=label, quiet=not progress)
                loads[label] = round(seconds, 3)
            injector = install_faults(backend, spec.faults, directory / "faults.jsonl")
            if injector is not None:
                injectors.append(injector)
        # as the run starts: a node killed during it must not change the topology reported
        engines = {label: backend.engine_info() for label, backend in opened}
        oplog = directory / "oplog.jsonl"
        oplog.unlink(missing_ok=True)
        run = Run(
            opened,
            dataset,
            mix,
            seed=spec.seed,
            distribution=spec.distribution,
            oplog_path=oplog if spec.oplog else None,
            baselines=spec.baselines,
        )
        try:
            timing = run_workload(run, spec, progress=progress, on_start=kills.start)
        finally:
            killed = kills.stop()
        parameters = {**spec.parameters(), "mix_weights": mix}
        meta = run_metadata(command, run, opened, timing, parameters, dataset, engines)
        if clusters:
            meta["clusters"] = {side: cluster.state() for side, cluster in clusters.items()}
        if killed:
            if run.oplog is not None:
                run.oplog.flush()
                failover_facts(read_oplog(run.oplog.path), killed)
            meta["node_kills"] = killed
        meta["dataset"].update(loaded=load, load_seconds=loads)
        meta["floor"] = measure_floor(opened)  # transport floor per backend, for the report
        if spec.faults.active:
            injected = sum(len(injector.faults) for injector in injectors)
            meta["faults"] = {**spec.faults.to_dict(), "injected": injected}
        write_results(directory, {**meta, **(extra or {})}, run.recorder, run.comparison())
    finally:
        if run is not None:
            run.close()
        for _, backend in opened:
            backend.close()
    return load_results(directory)
