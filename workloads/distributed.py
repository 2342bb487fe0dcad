"""Who coordinates a test: the local runner or the master (``Coordinator``), and the workers.

- **test_start** on the master (or local runner) opens the backends (by default
  a SQLite file and a MagnetoDB server it starts, as ``cinderbench compare``),
  seeds the dataset when they do not hold it, and sends each worker a
  ``cinderbench:setup`` message: the resolved settings and its share of the
  projects (``DatasetView`` partitions, so two processes never hold the same
  volume). Users wait until their process is set up.
- **Precise numbers** (µs HdrHistograms, counters, paired ratios, oplog) go
  from workers to the master as deltas under ``cinderbench`` in
  ``report_to_master``; ``worker_report`` merges them (``Recorder.merge``, i.e.
  ``decode_and_add``). A worker sends its last delta as ``cinderbench:final``
  once its users stopped; the master waits for every final.
- **test_stop** on the master (or local runner) writes the results directory
  with ``bench.measure.results.write_results``, the files of ``cinderbench run``
  (README.md, "Load with locust", says what differs for locust), runs the
  validators (``validators.pipeline.after_run``), prints the summary and sets
  the exit code (``workloads.common`` lists them).
"""

from __future__ import annotations

import contextlib
import dataclasses
import heapq
import json
import logging
import re
import subprocess
import sys
import time
import traceback
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import gevent
from locust.env import Environment
from locust.runners import STATE_RUNNING, STATE_SPAWNING

from bench.drive.runner import KEPT_FAILURES
from bench.measure.oplog import dumps_line, loads_line
from bench.workload.datasets import Dataset, load_dataset
from bench.workload.mixes import resolve_mix
from cinderdb import EMBEDDED_URLS, embedded_store, exception, features_of, get_admin_context
from workloads.harness import (
    DRAIN_SECONDS,
    ChunkedOplog,
    CinderUser,
    Harness,
    Test,
    TestSetup,
    serialized,
)
from workloads.options import run_spec

logger = logging.getLogger("cinderbench.locust")

EXIT_ERRORS, EXIT_DIVERGENCE, EXIT_HARNESS = 1, 3, 4
REPORT_KEY = "cinderbench"
SETUP, FINAL, FINISH = "cinderbench:setup", "cinderbench:final", "cinderbench:finish"
_FAULT_REF = re.compile(rb"injected fault #(\d+)")


def dataset_state(backend: Any, dataset: Dataset) -> str:
    """``ours`` (the dataset's first volume is there), ``empty``, or ``other``."""
    context = get_admin_context()
    try:
        backend.volume_get(context, dataset.data.volumes[0]["id"])
        return "ours"
    except exception.VolumeNotFound:
        pass
    except exception.CinderException:  # no schema yet
        return "empty"
    try:
        return "other" if backend.volume_get_all(context, None, 1) else "empty"
    except exception.CinderException:
        return "empty"


# ------------------------------------------------------- local runner, master


@contextlib.contextmanager
def _console_stats_held() -> Iterator[None]:
    """Hold locust's console table while the validators run: headless, it reprints the
    (finished) test's table every 2 s, twenty copies in the middle of the validators'
    report for a 40 s replay. The final summary prints as usual afterwards."""
    console = logging.getLogger("locust.stats_logger")
    was_disabled, console.disabled = console.disabled, True
    try:
        yield
    finally:
        console.disabled = was_disabled


class Coordinator(Harness):
    """The local runner or the master: settings, seeding, results, verdict."""

    #: (setup, seconds per load) made ready before the test (headless runs)
    prepared: tuple[TestSetup, dict[str, float]] | None = None

    def settings(self) -> TestSetup:
        """This test's setup (what workers receive, but their partition)."""
        options = self.environment.parsed_options
        classes = [c for c in self.environment.user_classes if issubclass(c, CinderUser)]
        mixes = {c.__name__: resolve_mix(c.mix) for c in classes}
        named = [c.mix for c in classes if isinstance(c.mix, str)]
        mix = options.mix or (named[0] if named else next(iter(mixes.values()), "standard"))
        return TestSetup(
            run=run_spec(options, classes, self.resolve_urls(options), mix),
            mix_override=bool(options.mix),
            mix_name=options.mix or "+".join(named) or "custom",
            mixes=mixes,
        )

    def resolve_urls(self, options: Any) -> list[tuple[str, str]]:
        """``(label, url)`` per backend of ``--backend``; SQL first (the ratio's baseline)."""
        from bench.drive.job import backend_labels

        sides = list(EMBEDDED_URLS) if options.backend == "both" else [options.backend]
        urls: dict[str, str] = {}
        for side in sides:  # SQL first: an embedded MagnetoDB matches its durability
            given = getattr(options, f"{side}_url")
            urls[side] = given or self.embedded_url(side, urls.get("sql"), options)
        return backend_labels([urls[side] for side in sides])

    def embedded_url(self, side: str, sql_url: str | None = None, options: Any = None) -> str:
        """A store of ``side``'s own (``cinderdb.embedded_store``), made on first use and kept
        for the process; a MagnetoDB server fsyncs its commits as ``--magnetodb-fsync`` says
        (auto: as ``sql_url`` does)."""
        if side not in self.embedded:
            from bench.drive.scratch import magnetodb_durability

            durable, why = False, "its default durability"
            if side == "magnetodb":
                choice = getattr(options, "magnetodb_fsync", "auto")
                durable, why = magnetodb_durability(sql_url, choice)
            store = embedded_store(side, str(self.scratch_dir()), durable=durable)
            self.embedded[side] = self.resources.enter_context(store)
            logger.info("cinderbench: %s: a store of its own (%s)", side, why)
        return self.embedded[side]

    def seed(self, setup: TestSetup, reset: bool) -> dict[str, float]:
        """Load the dataset unless every backend holds it already; then into all of them,
        so they start from one state. Another dataset is replaced only in a backend of
        our own or with ``--reset-dataset``. Returns the seconds per load."""
        dataset = self.load(setup.run.dataset)
        states = {label: dataset_state(backend, dataset) for label, backend in self.opened}
        if not reset and all(state == "ours" for state in states.values()):
            return {}
        for label, url in self.urls:
            if states[label] == "other" and not reset and url not in self.embedded.values():
                raise RuntimeError(
                    f"{label} ({url}) holds other data; use an empty database or --reset-dataset"
                )
        loads = {}
        for label, backend in self.opened:
            if states[label] != "empty":
                backend.drop_schema()
            loads[label] = round(load_dataset(backend, dataset.data, label=label, quiet=True), 3)
            logger.info("cinderbench: dataset loaded into %s in %.1f s", label, loads[label])
        return loads

    def results_dir(self, number: int) -> Path:
        from bench.drive.job import default_output

        given = self.environment.parsed_options.results_dir
        path = Path(given) if given else default_output("locust")
        if number > 1 or (not given and path.exists()):
            path = path.with_name(f"{path.name}-{number}")
        return path

    def prepare(self) -> None:
        """Headless: open and seed now, so locust's ``-t`` (which starts with the test)
        measures load, not loading; the test then finds the dataset in place."""
        options = self.environment.parsed_options
        with contextlib.suppress(Exception):  # test_start reports what goes wrong
            setup = self.settings()
            self.open(list(setup.run.backends))
            self.prepared = (setup, self.seed(setup, options.reset_dataset))

    def test_start(self) -> None:
        self.ready.clear()
        options = self.environment.parsed_options
        try:
            setup = self.settings()
            self.open(list(setup.run.backends))
            prepared, self.prepared = self.prepared, None
            if prepared is not None and prepared[0] == setup:
                loads = prepared[1]
            else:
                loads = self.seed(setup, options.reset_dataset)
            self.begin(dataclasses.replace(setup, fresh=bool(loads)), loads)
        except Exception as error:
            self.test = None
            self.fail(EXIT_HARNESS, f"setup failed: {type(error).__name__}: {error}")
            logger.error(traceback.format_exc())
            runner = self.environment.runner
            gevent.spawn(runner.quit if options.headless else runner.stop)
        finally:
            self.ready.set()

    def begin(self, setup: TestSetup, loads: dict[str, float]) -> None:
        """Start the test proper: a ``Run``, and the workers told (master)."""

    def finish(self, test: Test) -> None:
        """``write``, and a failure to write is the harness's (exit code 4)."""
        try:
            self.write(test)
        except Exception as error:
            logger.error(traceback.format_exc())
            self.fail(EXIT_HARNESS, f"writing {test.directory} failed: {error!r}")

    def write(self, test: Test) -> None:
        """Write the results directory, validate, print the summary, set the exit code."""
        from bench.drive.job import run_metadata
        from bench.measure.floor import measure_floor
        from bench.measure.results import load_results, write_results
        from reports.console import print_summary

        test.close()  # flushes the local oplog
        ended = time.time()
        options = self.environment.parsed_options
        setup, bench = test.setup, test.bench
        timing = {
            "started_epoch": test.started,
            "ended_epoch": ended,
            "duration_s": round(ended - test.started, 3),
            "operations": test.operations,
        }
        users = test.peak_users or options.num_users
        run = dataclasses.replace(setup.run, threads=max(users or 1, 1))
        parameters = {
            **run.parameters(),
            "mix": setup.mix_name,
            "duration": options.run_time,
            "threads": users,
            "mix_weights": bench.mix,
            "mixes": setup.mixes,
            "pace_per_user": run.pace,
            "serialized": serialized(run),
        }
        meta = run_metadata("locust", bench, self.opened, timing, parameters, self.dataset)
        meta["dataset"].update(loaded=bool(test.loads), load_seconds=test.loads)
        meta["floor"] = measure_floor(self.opened)
        meta["locust"] = self.describe(test)
        if run.faults.active:
            meta["faults"] = run.faults.to_dict()
        self.write_logs(test)
        write_results(test.directory, meta, bench.recorder, bench.comparison())
        self.written.append(test.directory)
        if bench.harness_failure_count:
            self.fail(EXIT_HARNESS, f"{bench.harness_failure_count} harness failures (run.json)")
        for note in test.notes:
            self.fail(EXIT_HARNESS, note)
        self.validate(test, options)
        print_summary(load_results(test.directory))
        print(f"cinderbench results: {test.directory}", flush=True)

    def describe(self, test: Test) -> dict[str, Any]:
        """run.json's ``locust`` section: how locust drove the run."""
        options = self.environment.parsed_options
        shape = self.environment.shape_class
        return {
            "role": self.role,
            "test": test.number,
            "locustfile": options.locustfile,
            "user_classes": [c.__name__ for c in self.environment.user_classes],
            "users": options.num_users,
            "peak_users": test.peak_users,
            "spawn_rate": options.spawn_rate,
            "run_time": options.run_time,
            "shape": type(shape).__name__ if shape else None,
            "workers": sorted(test.participants.values()),
            "notes": test.notes,
        }

    def write_logs(self, test: Test) -> None:
        """Oplog and faults the workers sent (master); the local runner wrote its own."""

    def validate(self, test: Test, options: Any) -> None:
        """``validators.pipeline.after_run`` on the results (``workloads.after_run``);
        divergence → exit 3."""
        from bench.measure.results import load_results

        local = [url for _, url in self.urls if not features_of(url).multi_process]
        skip = (
            "--no-validate"
            if options.no_validate
            else "no oplog"
            if not test.setup.run.oplog
            else f"in-process backends ({', '.join(local)})"
            if local
            else None
        )
        if skip:
            print(f"cinderbench: validators skipped: {skip}")
            return
        # A process of its own: the replay takes seconds to minutes, and this event loop
        # must keep serving the web UI and the workers' heartbeats meanwhile.
        answer = self.scratch_dir() / f"validators-{test.number}.json"
        command = [sys.executable, "-m", "workloads.after_run", str(test.directory),
                   str(answer), *(f"{label}={url}" for label, url in self.urls)]  # fmt: skip
        started = time.perf_counter()
        with _console_stats_held():
            done = subprocess.run(command, check=False)  # gevent's: the loop runs meanwhile
        logger.info("cinderbench: validators took %.1f s", time.perf_counter() - started)
        if done.returncode != 0 or not answer.exists():
            self.fail(EXIT_HARNESS, f"the validators exited with {done.returncode}")
            return
        for name, result in json.loads(answer.read_text()).items():
            if isinstance(result, dict) and "error" in result:
                self.fail(EXIT_HARNESS, f"validator {name} crashed: {result['error']}")
        results = load_results(test.directory)
        for name in ("validation", "diff"):
            findings = results.findings(name)
            if findings is not None and not findings.get("ok", True):
                self.fail(EXIT_DIVERGENCE, f"the validators report divergence ({name}.json)")

    def quit(self, exit_code: int) -> None:
        super().quit(exit_code)  # stopping the server yields: print after it
        for path in self.written:
            print(f"cinderbench results: {path}", flush=True)
        if self.reasons:
            print(f"cinderbench exit code {exit_code}: " + "; ".join(self.reasons), flush=True)


class LocalHarness(Coordinator):
    """``locust`` without ``--master``/``--worker``: one process does everything."""

    role = "local"

    def begin(self, setup: TestSetup, loads: dict[str, float]) -> None:
        number = next(self.numbers)
        directory = self.results_dir(number)
        directory.mkdir(parents=True, exist_ok=True)
        oplog = directory / "oplog.jsonl"
        oplog.unlink(missing_ok=True)
        faults = directory / "faults.jsonl" if setup.run.faults.active else None
        bench = self.new_bench(setup, (0, 1), oplog if setup.run.oplog else None, faults)
        self.test = Test(number, setup, bench, directory=directory, loads=loads)

    def test_stop(self) -> None:
        test, self.test = self.test, None
        if test is not None:
            self.drain(test)
            self.finish(test)


# -------------------------------------------------------------------- master


class MasterHarness(Coordinator):
    """``--master`` (also the parent of ``--processes``): seeds, merges, writes."""

    role = "master"

    def register(self) -> None:
        self.environment.runner.register_message(FINAL, self.on_final)

    def resolve_urls(self, options: Any) -> list[tuple[str, str]]:
        urls = super().resolve_urls(options)
        local = [url for _, url in urls if not features_of(url).multi_process]
        if local:
            raise ValueError(f"workers cannot share in-process backends: {', '.join(local)}")
        return urls

    def begin(self, setup: TestSetup, loads: dict[str, float]) -> None:
        runner = self.environment.runner
        number = next(self.numbers)
        clients = sorted(runner.clients.ready + runner.clients.running + runner.clients.spawning,
                         key=lambda node: node.id)  # fmt: skip
        bench = self.new_bench(setup, (0, 1), executes=False)  # merges the workers' deltas
        test = Test(number, setup, bench, directory=self.results_dir(number), loads=loads)
        test.directory.mkdir(parents=True, exist_ok=True)
        self.test = test
        for index, client in enumerate(clients):
            test.participants[client.id] = index
            share = dataclasses.replace(setup, test=number, partition=(index, len(clients)))
            runner.send_message(SETUP, share.to_dict(), client.id)

    def absorb(self, client: str, payload: Mapping[str, Any]) -> None:
        """Add one worker delta to this test's bench (``Recorder.merge``, paired samples...)."""
        test = self.test
        number = payload.get("test")
        if test is None or number != test.number or client not in test.participants:
            return
        index = test.participants[client]
        if payload.get("error"):
            test.notes.append(f"worker {index}: {payload['error']}")
        test.notes.extend(f"worker {index}: {note}" for note in payload.get("notes", ()))
        if "recorder" not in payload:  # an empty final: nothing measured since the last one
            return
        bench = test.bench
        bench.recorder.merge(payload["recorder"])
        bench.merge_pairs(payload["pairs"])
        room = KEPT_FAILURES - len(bench.harness_failures)
        bench.harness_failures.extend(payload["failures"][: max(room, 0)])
        bench.harness_failure_count += payload["failure_count"]
        test.operations += payload["operations"]
        if payload["oplog"]:
            path = test.chunks.setdefault(index, self.scratch_dir() / f"oplog-{number}-{index}")
            with open(path, "ab") as stream:
                stream.write(zlib.decompress(payload["oplog"]))
        for line in zlib.decompress(payload["faults"]).splitlines() if payload["faults"] else ():
            fault = loads_line(line)
            test.fault_ids[(index, fault["id"])] = len(test.faults) + 1
            test.faults.append({**fault, "id": len(test.faults) + 1, "worker": index})

    def on_report(self, client_id: str, data: dict[str, Any]) -> None:
        if REPORT_KEY in data:
            self.absorb(client_id, data[REPORT_KEY])

    def on_final(self, environment: Environment, msg: Any, **_: Any) -> None:
        test = self.test
        self.absorb(msg.node_id, msg.data)
        if test is not None and msg.data.get("test") == test.number:
            test.finals.add(msg.node_id)
            if set(test.participants) <= test.finals:
                test.all_final.set()

    def test_stop(self) -> None:
        """Ask every worker that has not sent its final for it (locust's quit stops the master
        before the workers), wait for all, then write the results."""
        test = self.test
        if test is None:
            return
        runner = self.environment.runner
        for client in set(test.participants) - test.finals:
            runner.send_message(FINISH, {"test": test.number}, client)
        deadline = time.monotonic() + DRAIN_SECONDS + (self.environment.stop_timeout or 0)
        while not test.all_final.wait(1.0) and time.monotonic() < deadline:
            gone = set(test.participants) - {node.id for node in runner.clients.all}
            if gone <= test.finals:
                continue
            test.notes.append(f"workers {sorted(test.participants[c] for c in gone)} went away")
            test.finals |= gone
            test.all_final.set()
        missing = sorted(test.participants[c] for c in set(test.participants) - test.finals)
        if missing:
            test.notes.append(f"no final report from workers {missing}: results are partial")
        self.test = None
        self.finish(test)

    @staticmethod
    def fault_ref(test: Test, index: int, match: re.Match[bytes]) -> bytes:
        """A worker's fault number in a message, as the run-wide number of faults.jsonl."""
        number = test.fault_ids.get((index, int(match[1])), int(match[1]))
        return b"injected fault #%d" % number

    def write_logs(self, test: Test) -> None:
        """One oplog in start order over all workers, with run-wide ``seq`` and fault ids."""
        from bench.measure.oplog import read_oplog
        from validators.replay import in_seq_order

        def lines(index: int, path: Path) -> Iterator[tuple[float, int, int, dict[str, Any]]]:
            for line in in_seq_order(read_oplog(path)):  # a worker's seq order is its t order
                yield line["t"], index, line["seq"], line

        if test.setup.run.oplog:
            merged = heapq.merge(*(lines(i, p) for i, p in sorted(test.chunks.items())))
            with open(test.directory / "oplog.jsonl", "wb") as stream:
                for seq, (_, index, _, line) in enumerate(merged):
                    line["seq"], line["worker"] = seq, index
                    raw = dumps_line(line)
                    if test.fault_ids and b"injected fault #" in raw:
                        raw = _FAULT_REF.sub(lambda m, i=index: self.fault_ref(test, i, m), raw)
                    stream.write(raw)
        if test.faults:
            with open(test.directory / "faults.jsonl", "wb") as stream:
                stream.writelines(dumps_line(fault) for fault in test.faults)


# -------------------------------------------------------------------- worker


class WorkerHarness(Harness):
    """``--worker``: runs users on the master's setup, reports deltas, sends its final."""

    def register(self) -> None:
        runner = self.environment.runner
        runner.register_message(SETUP, self.on_setup)
        runner.register_message(FINISH, self.on_finish, concurrent=True)

    def on_setup(self, environment: Environment, msg: Any, **_: Any) -> None:
        number = msg.data.get("test")
        self.ready.clear()
        try:
            setup = TestSetup.from_dict(msg.data)
            self.open(list(setup.run.backends))
            fault_log = self.scratch_dir() / f"faults-{setup.test}.jsonl"
            fault_log.unlink(missing_ok=True)
            bench = self.new_bench(setup, setup.partition, None, fault_log)
            if setup.run.oplog:
                bench.oplog = ChunkedOplog()
            self.test = Test(setup.test, setup, bench, fault_log=fault_log)
        except Exception as error:
            self.test = None
            logger.error("cinderbench: setup failed\n%s", traceback.format_exc())
            failure = {"test": number, "error": f"setup failed: {error!r}"}
            self.environment.runner.send_message(FINAL, failure)
        finally:
            self.ready.set()

    def delta(self, test: Test) -> dict[str, Any]:
        """What changed since the last report, with no greenlet switch in between."""
        bench = test.bench
        for (backend, kind, name), series in bench.recorder.series.items():
            test.totals[f"{backend}|{kind}|{name}"] += series.service.get_total_count()
        recorder = bench.recorder.take_delta()
        pairs = bench.take_pairs()
        failures = bench.harness_failures[test.shipped["kept"] :]
        count = bench.harness_failure_count - test.shipped["failures"]
        operations = test.operations - test.shipped["operations"]
        test.shipped.update(kept=len(failures), failures=count, operations=operations)
        test.totals["operations"] += operations
        oplog = bench.oplog.take() if isinstance(bench.oplog, ChunkedOplog) else b""
        faults = b""
        if test.fault_log is not None and test.fault_log.exists():
            with open(test.fault_log, "rb") as stream:
                stream.seek(test.shipped["fault_bytes"])
                faults = stream.read()
            faults = faults[: faults.rfind(b"\n") + 1]
            test.shipped["fault_bytes"] += len(faults)
        return {
            "test": test.number,
            "recorder": recorder,
            "pairs": pairs,
            "failures": failures,
            "failure_count": count,
            "operations": operations,
            "oplog": zlib.compress(oplog) if oplog else b"",
            "faults": zlib.compress(faults) if faults else b"",
        }

    def on_report(self, client_id: str, data: dict[str, Any]) -> None:
        test = self.test
        if test is not None and not test.final_sent:
            data[REPORT_KEY] = self.delta(test)

    def test_stop(self) -> None:
        """The users stopped: drain, send the last delta as the final, keep own totals."""
        test = self.test
        if test is None or test.final_sent:
            return
        self.drain(test)
        self.ready.clear()
        final = self.delta(test)
        final["notes"] = test.notes
        test.final_sent = True
        self.environment.runner.send_message(FINAL, final)
        test.close()
        folder = self.environment.parsed_options.worker_totals
        if folder:
            path = Path(folder) / f"worker-{test.setup.partition[0]}-{test.number}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(dict(test.totals), sort_keys=True))

    def on_finish(self, environment: Environment, msg: Any, **_: Any) -> None:
        """The master stopped without stopping us first (locust's quit): stop, which sends
        the final through test_stop; an already sent final is confirmed again."""
        test, runner = self.test, self.environment.runner
        if test is None or test.number != msg.data["test"]:
            runner.send_message(FINAL, {"test": msg.data["test"], "error": "not set up"})
        elif runner.state in (STATE_RUNNING, STATE_SPAWNING):
            runner.stop()
        elif test.final_sent:
            runner.send_message(FINAL, {"test": test.number})
