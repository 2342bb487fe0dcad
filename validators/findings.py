"""Findings: what a validator found, written to and read from a results directory.

The file shapes are documented in ``docs/findings-format.md``; this module is
the one writer and the one reader of ``validation.json`` and ``diff.json``, so
the report and the gate never parse them by hand.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

FORMAT = "cinderbench-findings/1"
VALIDATION_FILE = "validation.json"
DIFF_FILE = "diff.json"

#: The classes of dual-write and quota findings.
MISSING = "missing"  # the second copy lacks an entry the first implies
ORPHAN = "orphan"  # the second copy has an entry nothing implies
STALE = "stale"  # both have the entry, with different values
OVER_QUOTA = "over_quota"  # committed usage above its limit
USAGE_MISMATCH = "usage_mismatch"  # in_use or reserved differs from what exists
FINDING_CLASSES = (MISSING, ORPHAN, STALE, OVER_QUOTA, USAGE_MISMATCH)


@dataclass
class Attribution:
    """A logged operation that last touched an item of a finding."""

    seq: int
    operation: str
    backend: str
    calls: list[str] = dataclasses.field(default_factory=list)
    #: what this operation did to the items, in a few words ("put the row; its 2nd write
    #: failed: injected fault #3")
    note: str = ""


@dataclass
class Finding:
    check: str
    cls: str  # one of FINDING_CLASSES ("class" in the file)
    table: str
    key: dict[str, Any]
    field: str | None = None
    expected: Any = None
    actual: Any = None
    transient: bool = False
    attributed_to: list[Attribution] = dataclasses.field(default_factory=list)
    #: the minimal explanation, Elle style ("attach #812 wrote the row; its 2nd write failed")
    explanation: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["class"] = data.pop("cls")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        data = dict(data)
        data["cls"] = data.pop("class")
        known = {f.name for f in dataclasses.fields(Attribution)}
        data["attributed_to"] = [
            Attribution(**{k: v for k, v in a.items() if k in known})
            for a in data.get("attributed_to", [])
        ]
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


@dataclass
class CheckSummary:
    """One declared pair or invariant: how much was compared and what was found."""

    name: str
    kind: str
    checked: int = 0
    missing: int = 0
    orphan: int = 0
    stale: int = 0
    seconds: float = 0.0
    convergence_ms: float | None = None
    #: online: findings seen and gone within the settle window (not counted above)
    transient: int = 0
    #: online: time to converge of the transient findings, ms (n, p50, p99, max)
    convergence: dict[str, float] | None = None
    #: quota invariants (kind "quota", validators.quota): findings of each quota class
    usage_mismatch: int = 0
    over_quota: int = 0

    def count(self, finding_class: str, transient: bool = False) -> None:
        if transient:
            self.transient += 1
        elif finding_class in (MISSING, ORPHAN, STALE):
            setattr(self, finding_class, getattr(self, finding_class) + 1)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data, indent=1, sort_keys=False, default=str) + "\n")
    return path


def write_validation(
    directory: str | Path,
    *,
    backend: str,
    mode: str,
    checks: list[CheckSummary],
    findings: list[Finding],
    seconds: float,
    repair: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``validation.json`` into a results directory; returns its path.

    ``ok`` ignores transient findings (online mode: gone within the settle window);
    ``extra`` adds top-level keys (``url``, ``faults``...).
    """
    data: dict[str, Any] = {
        "format": FORMAT,
        "ok": not any(not finding.transient for finding in findings),
        "mode": mode,
        "backend": backend,
        "started_at": _now(),
        "seconds": round(seconds, 3),
        "checks": [asdict(check) for check in checks],
        "findings": [finding.to_json() for finding in findings],
    }
    if repair is not None:
        data["repair"] = repair
    data.update(extra or {})
    return _write(Path(directory) / VALIDATION_FILE, data)


def append_validation(
    directory: str | Path,
    *,
    backend: str,
    checks: list[CheckSummary],
    findings: list[Finding],
    seconds: float,
) -> Path:
    """Add checks and findings to ``validation.json`` (made if absent, ``mode`` offline).

    The quota invariants run on every backend of a run after the dual-write
    validation of the MagnetoDB one: their rows and findings join the same file
    (check names ``quota:<backend label>...`` tell whose), ``ok`` and ``seconds``
    cover both, and ``backends`` lists every label validated.
    """
    data = read_findings(directory, VALIDATION_FILE)
    if data is None:
        data = {
            "format": FORMAT,
            "ok": True,
            "mode": "offline",
            "backend": backend,
            "started_at": _now(),
            "seconds": 0.0,
            "checks": [],
            "findings": [],
        }
    labels = data.setdefault("backends", [data["backend"]])
    if backend not in labels:
        labels.append(backend)
    data["checks"].extend(asdict(check) for check in checks)
    data["findings"].extend(finding.to_json() for finding in findings)
    data["ok"] = bool(data["ok"]) and not any(not f.transient for f in findings)
    data["seconds"] = round(float(data.get("seconds") or 0.0) + seconds, 3)
    return _write(Path(directory) / VALIDATION_FILE, data)


def note_arm(directory: str | Path, file: str, label: str, **figures: Any) -> Path:
    """Add ``figures`` to the ``arms`` entry of ``label`` in ``validation.json`` or
    ``diff.json`` (``file``): what the validators found per arm of a run of several
    designs, for the report's design section and the gate."""
    data = read_findings(directory, file)
    if data is None:
        raise ValueError(f"no {file} in {directory} to note arm {label!r} in")
    data.setdefault("arms", {}).setdefault(label, {}).update(figures)
    return _write(Path(directory) / file, data)


def write_diff(directory: str | Path, data: dict[str, Any]) -> Path:
    """Write ``diff.json`` (the shape of docs/findings-format.md) into a results directory."""
    return _write(Path(directory) / DIFF_FILE, {"format": FORMAT, **data})


def read_findings(directory: str | Path, name: str) -> dict[str, Any] | None:
    """``validation.json`` or ``diff.json`` of a results directory, or None if absent."""
    path = Path(directory) / name
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    if data.get("format") != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} file")
    return data
