"""A made-up sweep index, for the tests of the sweep page and its sections."""

from __future__ import annotations

from bench.drive.sweep import SWEEP_FORMAT, projects_for


def synthetic_index() -> dict:
    """Three sizes x two levels: ``page`` grows as the data, ``get`` does not; on ``sql``
    page's growth is client CPU (ORM hydration), on ``mdb`` the store's."""
    points = {}
    for volumes in (1_000, 10_000, 100_000):
        for threads in (1, 4):
            page = 100.0 * volumes**0.98
            operations = {
                "page": {
                    "sql": _row(page, threads, client=0.9 * page - 40.0, store=None),
                    "mdb": _row(page, threads, client=40.0, store=0.9 * page - 40.0),
                },
                "get": {
                    "sql": _row(300.0, threads, client=200.0, store=None),
                    "mdb": _row(300.0, threads, client=100.0, store=150.0),
                },
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


def _row(p50: float, threads: int, client: float, store: float | None) -> dict:
    """One operation on one arm at one point; its mean is its p50, split into ``client``
    CPU, ``store`` (None: not reported) and the rest."""
    return {
        "time_split": {
            "client_cpu_us": client,
            "store_us": store,
            "rest_us": p50 - client - (store or 0.0),
        },
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
