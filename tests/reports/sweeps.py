"""A made-up sweep index, for the tests of the sweep page and its sections."""

from __future__ import annotations

from bench.drive.sweep import SWEEP_FORMAT, projects_for


def synthetic_index() -> dict:
    """Three sizes x two levels: ``page`` grows as the data, ``get`` does not."""
    points = {}
    for volumes in (1_000, 10_000, 100_000):
        for threads in (1, 4):
            operations = {
                "page": {arm: _row(100.0 * volumes**0.98, threads) for arm in ("sql", "mdb")},
                "get": {arm: _row(300.0, threads) for arm in ("sql", "mdb")},
            }
            name = f"v{volumes}-t{threads}"
            points[name] = {
                "volumes": volumes,
                "projects": projects_for(volumes),
                "threads": threads,
                "directory": name,
                "wall_s": 5.0,
                "invariants": {"ok": True, "findings": 0, "checks": 3, "failed_steps": {}},
                "summary": {
                    "arms": ["sql", "mdb"],
                    "duration_s": 3.0,
                    "operations_total": 10,
                    "throughput_per_s": 3.3,
                    "operations": operations,
                },
            }
    sizes = {
        str(v): {
            "projects": projects_for(v),
            "load_seconds": {"sql": 1.0, "mdb": 1.0},
            "item_sizes": {
                "mdb": {
                    "limit_bytes": 16 * 1024 * 1024,
                    "tables": {
                        "volume_admin_metadata": {
                            "role": "inverted",
                            "items": 2,
                            "largest_bytes": 40 * v,
                            "largest_key": '["readonly","False"]',
                            "share_of_limit": 40 * v / (16 * 1024 * 1024),
                        }
                    },
                    "watched": {
                        "table": "volume_admin_metadata",
                        "property": '["readonly","False"]',
                        "bytes": 40 * v,
                    },
                }
            },
        }
        for v in (1_000, 10_000, 100_000)
    }
    return {
        "format": SWEEP_FORMAT,
        "grid": {"volumes": [1_000, 10_000, 100_000], "threads": [1, 4], "duration": 3.0},
        "arms": ["sql", "mdb"],
        "sizes": sizes,
        "points": points,
        "notes": [],
    }


def _row(p50: float, threads: int) -> dict:
    return {
        "count": 10,
        "rejected": 0,
        "errors": 0,
        "p50_us": p50,
        "p99_us": 2 * p50,
        "mean_us": p50,
        "throughput_per_s": 3.3,
        "arm_throughput_per_s": threads * 1e6 / p50,
        "counters": {},
    }
