"""One measured job end to end: open backends, load the dataset, run, write the results.

``cinderbench run`` and ``cinderbench compare`` both call ``execute_run``;
they differ only in where the backends come from. Run metadata (versions,
engines, git revision, machine) is gathered here, once.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.drive.runner import Bench, RunParameters, run_workload
from bench.measure.floor import measure_floor
from bench.measure.results import Results, load_results, write_results
from bench.workload.datasets import Dataset, DatasetSpec, build_dataset, load_dataset
from bench.workload.mixes import resolve_mix
from cinderdb import open_backend, scheme_of
from cinderdb.magneto.faults import FaultOptions
from cinderdb.magneto.faults import install as install_faults

#: Distributions whose versions a run records.
PACKAGES = (
    "cinderbench",
    "SQLAlchemy",
    "PyMySQL",
    "hdrhistogram",
    "lmdb",
    "orjson",
    "httptools",
    "rich",
    "numpy",
)
_SCHEME_LABELS = {"sqlite": "sqlite", "mysql+pymysql": "mysql", "magnetodb": "magnetodb"}


def backend_labels(specs: Sequence[str]) -> list[tuple[str, str]]:
    """``[LABEL=]URL`` arguments as ``(label, url)``; labels default to the engine, made unique."""
    pairs: list[tuple[str, str]] = []
    for spec in specs:
        label, sep, url = spec.partition("=")
        if not sep or "://" in label:
            label, url = "", spec
        if not label:
            scheme = scheme_of(url)
            label = _SCHEME_LABELS.get(scheme, scheme.replace("+", "-"))
        taken = {existing for existing, _ in pairs}
        unique, n = label, 2
        while unique in taken:
            unique, n = f"{label}-{n}", n + 1
        pairs.append((unique, url))
    return pairs


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def git_revision() -> dict[str, Any]:
    """The checkout's revision and whether it had uncommitted changes (None outside git)."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    revision = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if revision else None
    return {"revision": revision, "dirty": bool(status) if status is not None else None}


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "hostname": platform.node(),
    }
    try:
        with open("/proc/cpuinfo") as stream:
            models = [line.split(":", 1)[1].strip() for line in stream if "model name" in line]
        info["cpu_model"] = models[0] if models else None
        with open("/proc/meminfo") as stream:
            total_kb = next(int(line.split()[1]) for line in stream if line.startswith("MemTotal"))
        info["memory_bytes"] = total_kb * 1024
    except (OSError, StopIteration, ValueError):
        info.setdefault("cpu_model", None)
    return info


def default_output(command: str) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("results") / f"{command}-{stamp}"


def run_metadata(
    command: str,
    bench: Bench,
    backends: Sequence[tuple[str, Any]],
    timing: dict[str, Any],
    parameters: dict[str, Any],
    dataset: Dataset,
) -> dict[str, Any]:
    """``run.json`` (without ``format``) for a finished run; the locust workloads use it too.

    ``timing`` has ``started_epoch``, ``ended_epoch``, ``duration_s`` and ``operations``.
    """
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
            {"label": label, "url": backend.url, "engine": backend.engine_info()}
            for label, backend in backends
        ],
        "versions": versions(),
        "git": git_revision(),
        "machine": machine(),
        "totals": {
            "operations": timing["operations"],
            "skipped": dict(bench.recorder.skipped),
            "divergent": dict(bench.recorder.divergent),
            "harness_failures": bench.harness_failure_count,
        },
        "harness_failures": bench.harness_failures,
    }


def execute_run(
    backends: Sequence[tuple[str, str]],
    spec: DatasetSpec,
    params: RunParameters,
    output: str | Path | None = None,
    *,
    load: bool = True,
    progress: bool = True,
    command: str = "run",
    extra: dict[str, Any] | None = None,
    faults: FaultOptions | None = None,
) -> Results:
    """Open each ``(label, url)``, load the dataset (resetting the schema), run, write results.

    ``faults`` makes the MagnetoDB backends fail as asked once loaded
    (``cinderdb.magneto.faults``: injected faults go to ``faults.jsonl``)."""
    directory = Path(output) if output else default_output(command)
    directory.mkdir(parents=True, exist_ok=True)
    mix = resolve_mix(params.mix)
    dataset = build_dataset(spec)
    opened: list[tuple[str, Any]] = []
    bench = None
    loads: dict[str, float] = {}
    try:
        for label, url in backends:
            backend = open_backend(url)
            opened.append((label, backend))
            if load:
                backend.drop_schema()
                seconds = load_dataset(backend, dataset.data, label=label, quiet=not progress)
                loads[label] = round(seconds, 3)
            if faults is not None:
                install_faults(backend, faults, directory / "faults.jsonl")
        oplog = directory / "oplog.jsonl"
        oplog.unlink(missing_ok=True)
        bench = Bench(
            opened,
            dataset,
            mix,
            seed=params.seed,
            distribution=params.distribution,
            oplog_path=oplog,
        )
        timing = run_workload(bench, params, progress=progress)
        meta = run_metadata(
            command, bench, opened, timing, {**params.to_dict(), "mix_weights": mix}, dataset
        )
        meta["dataset"].update(loaded=load, load_seconds=loads)
        meta["floor"] = measure_floor(opened)  # transport floor per backend, for the report
        if faults is not None and faults.active:
            injected = [
                len(b.fault_injector.faults) for _, b in opened if hasattr(b, "fault_injector")
            ]
            meta["faults"] = {**faults.to_dict(), "injected": sum(injected)}
        write_results(directory, {**meta, **(extra or {})}, bench.recorder, bench.comparison())
    finally:
        if bench is not None:
            bench.close()
        for _, backend in opened:
            backend.close()
    return load_results(directory)


def _ms(value: float) -> str:
    return f"{value / 1000:.1f}" if value >= 10_000 else f"{value / 1000:.2f}"


def print_summary(results: Results, limit: int | None = None) -> None:
    """Per operation: count, p50/p99 service time (ms) per backend, the paired ratio with
    its 95% CI, and rejected/errors per backend."""
    from rich.console import Console
    from rich.table import Table

    backends = results.backends
    comparison = (results.comparison or {}).get("operations", {})
    table = Table(title=f"service time per operation, ms ({results.path})")
    table.add_column("operation")
    table.add_column("n", justify="right")
    for label in backends:
        table.add_column(f"{label}\np50", justify="right")
        table.add_column("p99", justify="right")
    if comparison:
        table.add_column(f"{backends[1]}/{backends[0]}\nmedian [95% CI]", justify="right")
    table.add_column("rejected/errors", justify="right")
    per_op = results.operations
    names = sorted(per_op, key=lambda n: -max(s["count"] for s in per_op[n].values()))
    for name in names[:limit] if limit else names:
        per = per_op[name]
        row = [name, str(max(s["count"] for s in per.values()))]
        for label in backends:
            service = (per.get(label) or {}).get("service_us")
            row += [_ms(service["p50"]), _ms(service["p99"])] if service else ["-", "-"]
        if comparison:
            ratio = comparison.get(name, {})
            ci = ratio.get("ci95")
            text = f"{ratio['median']:.2f}" if ratio.get("median") else "-"
            row.append(f"{text} [{ci[0]:.2f}-{ci[1]:.2f}]" if ci else text)
        row.append(
            " ".join(
                f"{per[label]['rejected']}/{per[label]['errors']}" if label in per else "-"
                for label in backends
            )
        )
        table.add_row(*row)
    meta = results.meta
    console = Console()
    console.print(table)
    console.print(
        f"{meta['operations']} operations in {meta['duration_s']:.1f} s; "
        f"divergent outcomes: {sum(meta['totals']['divergent'].values())}; "
        f"harness failures: {meta['totals']['harness_failures']}"
    )


#: The counters shown per backend kind (the first one present decides the kind).
COUNTER_VIEWS = (
    ("statements", ("statements", "joins", "tables", "rows"), "stmts/joins/tables/rows"),
    ("requests", ("requests", "items_read", "items_written", "dual_writes"), "req/read/write/dual"),
)
KEY_CALLS = ("volume_get", "volume_get_all_by_project", "snapshot_get", "quota_reserve")


def _counter_text(stats: dict[str, Any] | None) -> str:
    counters = (stats or {}).get("counters") or {}
    for marker, names, _ in COUNTER_VIEWS:
        if marker in counters:
            cells = []
            for name in names:
                stats = counters.get(name, {"mean": 0.0, "min": 0, "max": 0})
                exact = stats["min"] == stats["max"]
                cells.append(f"{stats['mean']:.3g}" if exact else f"~{stats['mean']:.3g}")
            return "/".join(cells)
    return "-"


def print_counters(results: Results, limit: int = 12) -> None:
    """Join avoidance: mean counters per call and per operation, backend by backend.

    A ``~`` marks a mean over calls whose counts differ (data-dependent); a plain
    number is the same for every call.
    """
    from rich.console import Console
    from rich.table import Table

    backends = results.backends
    legend = f"SQL {COUNTER_VIEWS[0][2]}, MagnetoDB {COUNTER_VIEWS[1][2]}"
    table = Table(title=f"counters per call / operation (mean): {legend}")
    table.add_column("")
    for label in backends:
        table.add_column(label, justify="right")
    for name in KEY_CALLS:
        per = results.calls.get(name, {})
        for context in ("admin", "user"):
            cells = [
                _counter_text((per.get(b) or {}).get("by_context", {}).get(context))
                for b in backends
            ]
            if any(cell != "-" for cell in cells):
                table.add_row(f"call {name} ({context})", *cells)
    ops = sorted(
        results.operations, key=lambda n: -sum(s["count"] for s in results.operations[n].values())
    )
    for name in ops[:limit]:
        per = results.operations[name]
        table.add_row(f"op {name}", *(_counter_text(per.get(b)) for b in backends))
    Console().print(table)
