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
    for kill in meta.get("node_kills") or ():
        facts.append(("node kill", _kill_text(kill)))
    notes = (meta.get("compare") or {}).get("notes") or []
    facts += [("note", str(note)) for note in notes]
    return facts


def _kill_text(kill: dict[str, Any]) -> str:
    if not kill.get("killed"):
        return f"{kill.get('request')}: not reached (the run ended first)"
    return (
        f"{kill.get('request')}: {kill.get('side')} {kill.get('name')} ({kill.get('address')},"
        f" pid {kill.get('pid')}) killed -9 at second {fmt.number(kill.get('second'))}"
    )


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
            f"{k} {v}"
            for k, v in engine.items()
            if k not in ("backend", "engine", "url", "topology") and v
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


def topology(results: Results, label: str) -> dict[str, Any]:
    """The ``topology`` a backend reported (``engine_info``); a single node when it gave none."""
    for backend in results.meta.get("backends", []):
        if backend.get("label") == label:
            return (backend.get("engine") or {}).get("topology") or {}
    return {}


def topology_table(results: Results) -> Table:
    """One row per backend: its shape (single node or a cluster of N), how clients spread
    over the nodes, and how durable a commit is."""
    table = Table(["label", "shape", "nodes", "routing", "durability"])
    for backend in results.meta.get("backends", []):
        label = backend.get("label", "?")
        engine = backend.get("engine") or {}
        shape = topology(results, label)
        if not shape:
            table.add(
                label, "single node", "1", fmt.DASH, str(engine.get("durability") or fmt.DASH)
            )
            continue
        table.add(
            label,
            str(shape.get("kind", "cluster")),
            fmt.count(shape.get("nodes")),
            str(shape.get("routing") or shape.get("policy") or fmt.DASH),
            str(shape.get("durability") or engine.get("durability") or fmt.DASH),
        )
    return table


def members_table(results: Results) -> Table | None:
    """Each node of each clustered backend as the node reported itself when the run
    started (None when no backend is a cluster)."""
    table = Table(["label", "node", "address", "state", "details"])
    for label in results.backends:
        for member in topology(results, label).get("members") or ():
            details = ", ".join(
                f"{k} {v}"
                for k, v in member.items()
                if k not in ("name", "address", "state") and v is not None
            )
            table.add(
                label,
                str(member.get("name") or fmt.DASH),
                str(member.get("address") or fmt.DASH),
                str(member.get("state") or fmt.DASH),
                details or fmt.DASH,
            )
    return table if table.rows else None


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
