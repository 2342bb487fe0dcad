"""The validators after a run: dual-write validation, quota invariants, differential replay.

``after_run(results_dir, backends)`` runs once a run is written, while its
backends are still up (``cinderbench compare`` and the locust workloads call
it). In order:

1. the dual-write validation of every MagnetoDB backend (``validators.offline``)
   writes ``validation.json``;
2. the quota invariants of every backend (``validators.quota``), checked on all
   backends at once, join it (``findings.append_validation``); they run in a
   thread beside step 3, whose work is mostly its replicas' processes (their
   lines are printed first all the same);
3. the differential replay of the run's log (``validators.replay``) writes
   ``diff.json``, on fresh embedded backends (the run's own stay as they are);
   its two replicas' processes are started first, so they load during 1 and 2;
4. on a run that killed nodes or ran on clusters (or when asked), the
   acknowledged-writes check (``validators.acknowledged``): each run store
   against a replay of its own log, every difference and finding classed as
   unacknowledged (a call whose answer was lost) or acknowledged and lost;
   the counts go to run.json.

A run of several designs (``--design``) validates every MagnetoDB arm: their
dual-write checks and findings join ``validation.json`` (check names prefixed
with the arm's label after the first), each arm's replay against SQL runs on
an embedded store of its design, the first one's is ``diff.json``, and both
files say what each arm found under ``arms`` (``findings.note_arm``).

Each step that fails is reported and the next one still runs: the run's
results are already on disk and stay useful. ``validate_quotas`` is step 2
alone (``cinderbench validate`` calls it).
"""

from __future__ import annotations

import contextlib
import functools
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
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

    def check(label: str, url: str) -> Any:
        with open_backend(url) as api:
            return check_quotas(api, label, projects)

    # every backend at once (a server-backed one does its reads in its own process);
    # the findings are attributed and written in order, here
    with ThreadPoolExecutor(max(len(backends), 1), thread_name_prefix="quota") as pool:
        checked = [pool.submit(check, label, url) for label, url in backends]
    found = []
    for (label, _), future in zip(backends, checked, strict=True):
        result = future.result()
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
    replay: bool = True,
    quotas: bool = True,
    acknowledged: bool | None = None,
) -> dict[str, Any]:
    """Validate a finished run (module docstring); returns each step's outcome. Without
    ``replay`` (and ``quotas``) the steps before it only: a sweep checks the dual writes
    at every point, the quotas where its state is complete."""
    from rich.console import Console

    from validators.replay import REPLICAS_IN_CHILDREN, start_replicas

    console = Console(highlight=False, soft_wrap=True)
    outcome: dict[str, Any] = {}
    replays = replays_of(backends) if replay else []
    with contextlib.ExitStack() as stack:
        # the first replay's replicas load in processes of their own during steps 1 and 2
        early = None
        if replays and not aa and REPLICAS_IN_CHILDREN:
            _, first, second = replays[0]
            with contextlib.suppress(Exception):  # step 3 then starts (and reports) it
                early = start_replicas(results_dir, first, second)
                for replica in early:
                    stack.callback(replica.close)
        _steps(
            results_dir,
            backends,
            console,
            outcome,
            replays,
            aa=aa,
            quiet=quiet,
            quotas=quotas,
            early=early,
        )
    meta = load_results(results_dir).meta
    if acknowledged is None:
        acknowledged = bool(meta.get("node_kills") or meta.get("clusters"))
    if acknowledged:
        _acknowledged_step(results_dir, backends, console, outcome, quiet=quiet)
    return outcome


def _acknowledged_step(
    results_dir: str | Path,
    backends: Sequence[tuple[str, str]],
    console: Any,
    outcome: dict[str, Any],
    *,
    quiet: bool,
) -> None:
    """Step 4: every run store against a replay of its own log (``validators.acknowledged``)."""
    from validators.acknowledged import check_acknowledged

    name = "acknowledged writes"
    started = time.perf_counter()
    try:
        checked = check_acknowledged(results_dir, backends)
    except Exception as error:  # reported, as the other steps' failures are
        outcome[name] = {"error": f"{type(error).__name__}: {error}"}
        console.print(f"[red]{name} failed[/red]: {error}")
        if not quiet:
            console.print(traceback.format_exc())
        return
    outcome[name] = {
        "seconds": round(time.perf_counter() - started, 3),
        "unacknowledged": checked["unacknowledged"],
        "lost": checked["lost"],
    }
    print_acknowledged(console, checked)


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


def replays_of(backends: Sequence[tuple[str, str]]) -> list[tuple[str, str | None, str | None]]:
    """``(arm label, first URL, second URL)`` of each differential replay a run gets: one
    (the sides' embedded defaults, or SQL against the design of the one MagnetoDB arm),
    or one per design arm, each against SQL on an embedded store of its design."""
    from bench.drive.designs import design_in, with_design
    from cinderdb import EMBEDDED_URLS, side_of

    magneto = [(label, url) for label, url in backends if side_of(url) == "magnetodb"]
    designs = [(label, design_in(url)) for label, url in magneto if design_in(url)]
    if len(designs) < 2:
        if not designs:
            return [("", None, None)]
        label, design = designs[0]
        return [(label, EMBEDDED_URLS["sql"], with_design(EMBEDDED_URLS["magnetodb"], design))]
    return [
        (label, EMBEDDED_URLS["sql"], with_design(EMBEDDED_URLS["magnetodb"], design))
        for label, design in designs
    ]


def _steps(
    results_dir: str | Path,
    backends: Sequence[tuple[str, str]],
    console: Any,
    outcome: dict[str, Any],
    replays: list[tuple[str, str | None, str | None]],
    *,
    aa: bool,
    quiet: bool,
    quotas: bool,
    early: Any,
) -> None:
    """The three steps of ``after_run``, their outcome into ``outcome``."""
    from cinderdb import side_of
    from validators.findings import VALIDATION_FILE, note_arm
    from validators.offline import validate_run

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

    magneto = [(label, url) for label, url in backends if side_of(url) == "magnetodb"]
    for index, (label, url) in enumerate(magneto):
        work = functools.partial(validate_run, results_dir, label, url, append=index > 0)
        validation = step(f"dual-write validation ({label})", work)
        if validation is not None and len(magneto) > 1:
            note_arm(
                results_dir,
                VALIDATION_FILE,
                label,
                findings=len(validation.divergences()),
                pairs=len(validation.summaries),
                checked=sum(check.checked for check in validation.summaries),
                seconds=round(validation.seconds, 3),
            )
    # step 2 runs beside step 3: the replay's work is mostly its replicas' processes,
    # which leave this one's CPU idle enough to check the quotas meanwhile
    with ThreadPoolExecutor(1, thread_name_prefix="quota-invariants") as pool:
        checks = (
            pool.submit(step, "quota invariants", lambda: validate_quotas(results_dir, backends))
            if quotas
            else None
        )
        printed = False

        def quotas_printed() -> None:
            """The quota step's lines, once, before the replay's (the order of the steps)."""
            nonlocal printed
            if not printed and checks is not None:
                printed = True
                _print_quotas(results_dir, console, outcome, checks.result(), len(magneto) > 1)

        _replay_steps(
            results_dir, console, outcome, replays, step, quotas_printed, aa, quiet, early
        )
        quotas_printed()


def _print_quotas(
    results_dir: str | Path, console: Any, outcome: dict[str, Any], checked: Any, arms: bool
) -> None:
    from validators.findings import VALIDATION_FILE, note_arm

    for result in checked or ():
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
        if arms:
            note_arm(
                results_dir, VALIDATION_FILE, result.label, quota_findings=len(result.findings)
            )


def _replay_steps(
    results_dir: str | Path,
    console: Any,
    outcome: dict[str, Any],
    replays: list[tuple[str, str | None, str | None]],
    step: Any,
    before_printing: Any,
    aa: bool,
    quiet: bool,
    early: Any,
) -> None:
    """Step 3: each replay (``before_printing`` called before the first one's lines)."""
    from validators.console import print_replay
    from validators.findings import DIFF_FILE, note_arm
    from validators.replay import differential_replay, run_diff

    if len(replays) == 1:  # the one replay is diff.json
        _, first, second = replays[0]
        diff = step(
            "differential replay",
            lambda: run_diff(results_dir, first, second, aa=aa, started=early),
        )
        before_printing()
        if diff is not None:
            print_replay(diff, Path(results_dir), quiet=quiet)
            outcome["differential replay"]["ok"] = diff["ok"]
        return
    written = False  # diff.json: the first design arm whose replay ran
    for index, (label, first, second) in enumerate(replays):
        name = f"differential replay ({label})"
        if written:
            work = functools.partial(differential_replay, results_dir, first, second)
        else:
            work = functools.partial(
                run_diff, results_dir, first, second, aa=aa, started=early if index == 0 else None
            )
        diff = step(name, work)
        before_printing()
        if diff is None:
            continue
        if not written:
            print_replay(diff, Path(results_dir), quiet=quiet)
            written = True
        outcome[name]["ok"] = diff["ok"]
        note_arm(results_dir, DIFF_FILE, label, **replay_figures(diff))


def replay_figures(diff: dict[str, Any]) -> dict[str, Any]:
    """What diff.json's ``arms`` keeps of one design arm's replay against SQL (a whole
    diff.json in that shape, for the report of a run with one design arm)."""
    return {
        "second_url": diff.get("second_url"),
        "ok": diff.get("ok"),
        "divergence_count": diff.get("divergence_count", 0),
        "final_differences": (diff.get("final_state") or {}).get("differences", 0),
        "design_divergences": {
            name: entry.get("count", 0)
            for name, entry in (diff.get("design_divergences") or {}).items()
        },
        "diverging_functions": diff.get("diverging_functions") or {},
        "seconds": (diff.get("replay") or {}).get("seconds"),
    }
