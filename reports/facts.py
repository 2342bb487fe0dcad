"""What ran: engines, versions, dataset, parameters, machine and git, from run.json.

A reader deciding from a report must see first whether the run is the one they
think it is (MySQL or SQLite? which dataset? how long?), so these facts come
straight from ``Results.meta`` with nothing inferred.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bench.measure.results import Results
from reports import format as fmt
from reports.model import Table


def run_title(results: Results) -> str:
    meta = results.meta
    started = meta.get("started_at") or ""
    return f"{meta.get('command', 'run')} {started[:19].replace('T', ' ')}"


def summary_facts(results: Results) -> list[tuple[str, str]]:
    """Label/value pairs of the run as a whole."""
    meta = results.meta
    params = meta.get("parameters") or {}
    totals = meta.get("totals") or {}
    git = meta.get("git") or {}
    machine = meta.get("machine") or {}
    memory = machine.get("memory_bytes")
    revision = git.get("revision") or "unknown"
    rate = params.get("rate")
    pacing = f"paced at {fmt.number(rate)}/s" if rate else "closed loop"
    facts = [
        ("results", str(results.path)),
        ("command", " ".join(str(a) for a in meta.get("argv") or []) or fmt.DASH),
        ("started", str(meta.get("started_at") or fmt.DASH)),
        ("measured phase", f"{fmt.number(meta.get('duration_s'))} s"),
        ("operations", fmt.count(meta.get("operations"))),
        (
            "mix",
            f"{params.get('mix')} · {params.get('threads')} threads · "
            f"{pacing}"
            f" · {params.get('distribution')} keys · seed {params.get('seed')}",
        ),
        (
            "stop rule",
            ", ".join(
                part
                for part in (
                    f"{params['duration']} s" if params.get("duration") else "",
                    f"{params['operations']} operations" if params.get("operations") else "",
                )
                if part
            )
            or fmt.DASH,
        ),
        ("git", f"{revision[:12]}{' (uncommitted changes)' if git.get('dirty') else ''}"),
        (
            "machine",
            f"{machine.get('cpu_model') or '?'} · {machine.get('cpus')} CPUs · "
            f"{fmt.number(memory / 2**30) + ' GiB' if memory else '?'} · "
            f"{machine.get('platform') or '?'} · host {machine.get('hostname') or '?'}",
        ),
        (
            "outcome divergences",
            _divergent_text(totals.get("divergent") or {}),
        ),
        ("skipped draws", _mapping_text(totals.get("skipped") or {})),
        ("harness failures", fmt.count(totals.get("harness_failures", 0))),
    ]
    notes = (meta.get("compare") or {}).get("notes") or []
    facts += [("note", str(note)) for note in notes]
    return facts


def _divergent_text(divergent: dict[str, int]) -> str:
    if not divergent:
        return "none (every operation had the same outcome on every backend)"
    return _mapping_text(divergent)


def _mapping_text(mapping: dict[str, Any]) -> str:
    return ", ".join(f"{name} {value}" for name, value in sorted(mapping.items())) or "none"


def engines_table(results: Results) -> Table:
    """One row per backend: label, kind, engine, version/transport, load time, floor."""
    load = ((results.meta.get("dataset") or {}).get("load_seconds")) or {}
    floor = results.floor
    table = Table(
        ["label", "backend", "engine", "details", "URL", "dataset load", "round-trip floor"]
    )
    for backend in results.meta.get("backends", []):
        engine = dict(backend.get("engine") or {})
        label = backend.get("label", "?")
        details = ", ".join(
            f"{k} {v}" for k, v in engine.items() if k not in ("backend", "engine", "url") and v
        )
        measured = floor.get(label) or {}
        table.add(
            label,
            str(engine.get("backend", "?")),
            str(engine.get("engine", "?")),
            details or fmt.DASH,
            str(backend.get("url", fmt.DASH)),
            f"{fmt.number(load[label])} s" if label in load else fmt.DASH,
            f"{fmt.us(measured.get('p50_us'))} ({measured.get('probe', '?')}, n={measured['n']})"
            if measured
            else "not measured",
        )
    return table


def dataset_table(results: Results) -> Table:
    dataset = results.meta.get("dataset") or {}
    records = dataset.get("records") or {}
    spec = dataset.get("spec") or {}
    table = Table(list(records))
    table.add(*(fmt.count(value) for value in records.values()))
    table.caption = " · ".join(f"{k} {v}" for k, v in spec.items())
    return table


def versions_text(results: Results) -> str:
    versions = results.meta.get("versions") or {}
    return " · ".join(f"{name} {value or '?'}" for name, value in versions.items())


def generated_at() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
