"""The validators after a run: dual-write validation, quota invariants, differential replay.

``after_run(results_dir, backends)`` runs once a run is written, while its
backends are still up (``cinderbench compare`` and the locust workloads call
it). In order:

1. the dual-write validation of every MagnetoDB backend (``validators.offline``)
   writes ``validation.json``;
2. the quota invariants of every backend (``validators.quota``) join it
   (``findings.append_validation``);
3. the differential replay of the run's log (``validators.replay``) writes
   ``diff.json``, on fresh embedded backends (the run's own stay as they are);
4. on a run that killed nodes or ran on clusters (or when asked), the
   acknowledged-writes check (``validators.acknowledged``): each run store
   against a replay of its own log, every difference and finding classed as
   unacknowledged (a call whose answer was lost) or acknowledged and lost;
   the counts go to run.json.

Each step that fails is reported and the next one still runs: the run's
results are already on disk and stay useful. ``validate_quotas`` is step 2
alone (``cinderbench validate`` calls it).
"""

from __future__ import annotations

import functools
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.measure.results import Results, load_results


def projects_of(results: Results) -> set[str]:
    """Every project the run's dataset holds or its log names (usages may exist for any)."""
    from bench.workload.datasets import DatasetSpec, build_dataset
    from validators.state import Scope

    dataset = build_dataset(DatasetSpec.from_dict(results.meta["dataset"]["spec"]))
    projects = Scope.from_dataset(dataset.data, dataset.spare_projects).projects
    for line in results.oplog():
        project = (line.get("plan") or {}).get("project_id")
        if project:
            projects.add(project)
    return projects


def validate_quotas(results_dir: str | Path, backends: Sequence[tuple[str, str]]) -> list[Any]:
    """The quota invariants of each ``(label, url)``, appended to ``validation.json``."""
    from cinderdb import open_backend
    from validators.findings import append_validation
    from validators.quota import check_quotas
    from validators.quota_causes import attribute_quota

    results = load_results(results_dir)
    projects = projects_of(results)
    found = []
    for label, url in backends:
        with open_backend(url) as api:
            result = check_quotas(api, label, projects)
        unsafe = bool((results.meta.get("faults") or {}).get("unsafe_no_conditions"))
        attribute_quota(result.findings, results.oplog(), label, unsafe)
        append_validation(
            results_dir,
            backend=label,
            checks=result.checks,
            findings=result.findings,
            seconds=result.seconds,
        )
        found.append(result)
    return found


def after_run(
    results_dir: str | Path,
    backends: Sequence[tuple[str, str]],
    *,
    aa: bool = False,
    quiet: bool = False,
    acknowledged: bool | None = None,
) -> dict[str, Any]:
    """Validate a finished run (module docstring); returns each step's outcome."""
    from rich.console import Console

    from cinderdb import side_of
    from validators.acknowledged import check_acknowledged
    from validators.console import print_replay
    from validators.offline import validate_run
    from validators.replay import run_diff

    console = Console(highlight=False, soft_wrap=True)
    outcome: dict[str, Any] = {}

    def step(name: str, work: Any) -> Any:
        started = time.perf_counter()
        try:
            value = work()
        except Exception as error:  # reported; the next step still runs
            outcome[name] = {"error": f"{type(error).__name__}: {error}"}
            console.print(f"[red]{name} failed[/red]: {error}")
            if not quiet:
                console.print(traceback.format_exc())
            return None
        outcome[name] = {"seconds": round(time.perf_counter() - started, 3)}
        return value

    validated = 0
    for label, url in backends:
        if side_of(url) == "magnetodb":
            work = functools.partial(validate_run, results_dir, label, url, append=validated > 0)
            step(f"dual-write validation ({label})", work)
            validated += 1
    quotas = step("quota invariants", lambda: validate_quotas(results_dir, backends))
    for result in quotas or ():
        verdict = "no finding" if result.ok else f"{len(result.findings)} findings"
        style = "green" if result.ok else "red"
        console.print(
            f"quota invariants on {result.label}: [{style}]{verdict}[/{style}] "
            f"({result.usages} usages, {result.seconds:.2f} s)"
        )
        for finding in result.findings[:5]:
            console.print(
                f"  {finding.cls} {finding.key} {finding.field}: "
                f"expected {finding.expected}, found {finding.actual}"
            )
            if finding.explanation:
                console.print(f"    {finding.explanation}")
        outcome["quota invariants"][result.label] = len(result.findings)
    diff = step("differential replay", lambda: run_diff(results_dir, aa=aa))
    if diff is not None:
        print_replay(diff, Path(results_dir), quiet=quiet)
        outcome["differential replay"]["ok"] = diff["ok"]
    meta = load_results(results_dir).meta
    if acknowledged is None:
        acknowledged = bool(meta.get("node_kills") or meta.get("clusters"))
    if acknowledged:
        checked = step("acknowledged writes", lambda: check_acknowledged(results_dir, backends))
        if checked is not None:
            print_acknowledged(console, checked)
            outcome["acknowledged writes"].update(
                unacknowledged=checked["unacknowledged"], lost=checked["lost"]
            )
    return outcome


def print_acknowledged(console: Any, checked: dict[str, Any]) -> None:
    """One line per backend: what differs from its replay or was found, by class."""
    for label, entry in checked["backends"].items():
        lost = entry["lost"]
        style = "green" if lost == 0 else "red"
        unknown = sum(entry["unknown_outcome_calls"].values())
        console.print(
            f"acknowledged writes on {label}: [{style}]{lost} lost[/{style}], "
            f"{entry['unacknowledged']} differences or findings from unacknowledged calls "
            f"({unknown} calls with unknown outcome, {entry['failed_operations']} failed "
            f"operations; {entry['entries_compared']} entries against a replay of its log "
            f"on {entry['replayed_on']}, {entry['seconds']:.1f} s)"
        )
        for example in entry["examples"]["lost"][:3]:
            console.print(f"  lost: {example}")
