"""Offline dual-write validation of a MagnetoDB store: the twin of ``validators.online``.

``validate_run(results_dir, label, url)`` checks every declared pair of a
finished run's MagnetoDB backend, attributes the findings shown to the logged
operations and writes ``validation.json``; ``connect`` refuses a URL that
cannot hold a cinderbench store before anything is read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cinderdb import features_of, side_of
from validators.console import print_report
from validators.dualwrite import MAX_EXAMPLES, Validation
from validators.findings import append_validation, write_validation


class ValidateError(Exception):
    """A validation that could not run (``cinderbench validate`` exits 2)."""


def magnetodb_backends(meta: dict[str, Any]) -> list[tuple[str, str]]:
    """``(label, url)`` of the MagnetoDB backends a run.json lists."""
    return [
        (backend["label"], backend["url"])
        for backend in meta.get("backends", [])
        if side_of(str(backend.get("url", ""))) == "magnetodb"
    ]


def connect(url: str) -> Any:
    """A client to the backend's server, checked to answer and to hold the design's tables."""
    from magnetodb.errors import MagnetoError, MagnetoTransportError
    from validators.reader import open_client

    if side_of(url) != "magnetodb":
        raise ValidateError(f"{url} is not a MagnetoDB backend: only its dual writes need checking")
    if not features_of(url).persistent:
        raise ValidateError(
            f"{url} kept its data in memory, gone with the run: nothing left to validate"
        )
    try:
        client = open_client(url)
        names = set(client.table_names(client.list_tables()))
    except MagnetoTransportError as error:
        raise ValidateError(
            f"cannot reach {url} ({error}); an embedded run's server stops with the run: "
            "pass --url of a server that holds its data"
        ) from error
    except (MagnetoError, ValueError) as error:
        raise ValidateError(f"{url}: {error}") from error
    from validators.reader import store_design

    try:
        design = store_design(client)
    except (MagnetoError, ValueError) as error:
        client.close()
        raise ValidateError(f"{url}: {error}") from error
    wanted = {ref.split(".")[0] for p in design.pairs for ref in (p.source, p.target)}
    if not wanted <= names:
        client.close()
        missing = ", ".join(sorted(wanted - names))
        raise ValidateError(f"{url} lacks the design's tables ({missing}): not a cinderbench store")
    return client


def validate_store(
    client: Any,
    *,
    online: bool = False,
    duration: float = 30.0,
    settle: float = 2.0,
    progress: Any = None,
) -> Validation:
    from validators.dualwrite import validate
    from validators.online import validate_online
    from validators.reader import Reader

    reader = Reader(client)
    if online:
        return validate_online(reader, duration, settle, progress=progress)
    return validate(reader)


def attribute_examples(
    examples: list[Any], directory: Path | None, label: str, meta: dict[str, Any]
) -> int:
    """Attribute the findings shown from the run's log and fault log (0 without a log)."""
    from validators.attribution import attribute, oplog_lines, read_faults

    if directory is None or not examples:
        return 0
    unsafe = bool((meta.get("faults") or {}).get("unsafe_no_conditions"))
    return attribute(
        examples, oplog_lines(directory), label, faults=read_faults(directory), unsafe=unsafe
    )


def validate_run(
    results_dir: str | Path,
    label: str,
    url: str,
    *,
    quiet: bool = False,
    max_examples: int = MAX_EXAMPLES,
    append: bool = False,
) -> Validation:
    """Offline validation of one MagnetoDB backend of a finished run, into its
    ``validation.json`` (``validators.pipeline`` calls this after ``compare``); with
    ``append``, its checks and findings join the file's (a run of several designs)."""
    directory = Path(results_dir)
    meta = json.loads((directory / "run.json").read_text())
    client = connect(url)
    try:
        validation = validate_store(client)
    finally:
        client.close()
    examples = validation.examples(max_examples)
    explained = attribute_examples(examples, directory, label, meta)
    if append:
        for summary in validation.summaries:
            summary.name = f"{label}:{summary.name}"
        for finding in examples:
            finding.check = f"{label}:{finding.check}"
        append_validation(
            directory,
            backend=label,
            checks=validation.summaries,
            findings=examples,
            seconds=validation.seconds,
        )
    else:
        write_result(directory, validation, examples, label, url, None, explained)
    print_report(validation, examples, None, quiet=quiet)
    return validation


def write_result(
    directory: Path,
    validation: Validation,
    examples: list[Any],
    label: str,
    url: str,
    plan: Any,
    explained: int,
) -> Path:
    index = {id(f): i for i, f in enumerate(validation.findings)}
    shown = {index[id(f)]: i for i, f in enumerate(examples)}
    extra = {
        "url": url,
        "reads": validation.reads,
        "findings_total": len(validation.divergences()),
        "transient_total": len(validation.findings) - len(validation.divergences()),
        "attributed": explained,
    }
    directory.mkdir(parents=True, exist_ok=True)
    return write_validation(
        directory,
        backend=label,
        mode=validation.mode,
        checks=validation.summaries,
        findings=examples,
        seconds=validation.seconds,
        repair=plan.to_json(shown) if plan is not None else None,
        extra=extra,
    )
