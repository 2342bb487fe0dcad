"""The report of a real short compare: written by compare, rendered by Chromium, escaped."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from bench.measure.results import load_results
from reports import format as fmt
from reports.build import percentile_curve, write_report
from reports.model import judge
from tests.reports.chromium import Chromium
from tests.shortrun import ShortRun, cli

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
#: What the report's own files are allowed to load: itself and inline images.
LOCAL = re.compile(r"^(file|data):")
PAGE_FACTS = {
    "scripts": "document.scripts.length",
    "charts": "document.querySelectorAll('img.chart').length",
    "broken_charts": "[...document.images].filter(i => !i.complete || i.naturalWidth === 0).length",
    "sections": "[...document.querySelectorAll('h2[id], section[id]')].map(e => e.id)",
    "text": "document.body.innerText",
}


def test_compare_ends_with_the_report(short_run: ShortRun) -> None:
    report = short_run.path / "report.html"
    assert report.exists()
    assert f"report: {report}" in short_run.output


def test_report_renders_in_chromium_without_errors(
    short_run: ShortRun, chromium: Chromium, artifacts: Path, record_property
) -> None:
    screenshot = artifacts / "report.png"
    page = chromium.load((short_run.path / "report.html").as_uri(), PAGE_FACTS, screenshot)
    record_property("screenshot", str(screenshot))
    print(f"screenshot: {screenshot}")
    assert page.errors == []
    assert [url for url in page.requests if not LOCAL.match(url)] == []
    assert page.values["scripts"] == 0
    assert page.values["charts"] >= 6
    assert page.values["broken_charts"] == 0
    assert {
        "verdict",
        "ran",
        "latency",
        "percentiles",
        "time",
        "joins",
        "writes",
        "transport",
        "findings",
        "gate",
        "trends",
    } <= set(page.values["sections"])
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.height > 3000


def test_the_error_check_can_fail(chromium: Chromium, tmp_path: Path) -> None:
    """Negative control: a page with a console error, an exception and a remote request."""
    page_file = tmp_path / "bad.html"
    page_file.write_text(
        "<html><body><img src='http://127.0.0.1:9/x.png'>"
        "<script>console.error('broken'); undefinedFunction();</script></body></html>"
    )
    page = chromium.load(page_file.as_uri())
    assert any("broken" in error for error in page.errors)
    assert any("undefinedFunction" in error for error in page.errors)
    assert [url for url in page.requests if not LOCAL.match(url)] == ["http://127.0.0.1:9/x.png"]


def _copy_results(source: Path, target: Path) -> Path:
    """A results directory without its (large) operation log: the report does not read it."""
    shutil.copytree(
        source, target, ignore=shutil.ignore_patterns("oplog.jsonl", "report.html", "gate.json")
    )
    return target


def _hostile_findings(path: Path) -> None:
    volume = {"id": "8c0f", "display_name": SCRIPT, "status": "in-use"}
    (path / "validation.json").write_text(
        json.dumps(
            {
                "format": "cinderbench-findings/1",
                "ok": False,
                "mode": "offline",
                "backend": "magnetodb",
                "started_at": "2026-11-24T20:34:08+00:00",
                "seconds": 0.5,
                "checks": [
                    {
                        "name": "volume_attachments",
                        "kind": "embedded_rows",
                        "checked": 12,
                        "missing": 1,
                        "orphan": 0,
                        "stale": 0,
                        "seconds": 0.1,
                        "convergence_ms": None,
                    }
                ],
                "findings": [
                    {
                        "check": "volume_attachments",
                        "class": "missing",
                        "table": "volume_attachment",
                        "key": {"id": "a-1"},
                        "field": None,
                        "expected": volume,
                        "actual": None,
                        "transient": False,
                        "attributed_to": [
                            {
                                "seq": 12,
                                "operation": "attach",
                                "backend": "magnetodb",
                                "calls": ["volume_attach"],
                            }
                        ],
                    }
                ],
            }
        )
    )
    (path / "diff.json").write_text(
        json.dumps(
            {
                "format": "cinderbench-findings/1",
                "ok": False,
                "mode": "differential",
                "first": "sqlite",
                "second": "magnetodb",
                "operations_replayed": 10,
                "reads_compared": 20,
                "divergences": [
                    {
                        "seq": 3,
                        "operation": "show",
                        "call": "volume_get",
                        "index": 0,
                        "arguments": {"volume_id": "8c0f"},
                        "first": volume,
                        "second": {**volume, "display_name": "other"},
                        "difference": f"display_name {SCRIPT}",
                    }
                ],
                "first_divergence": None,
                "final_state": {"compared": 5, "differences": 0, "examples": []},
                "ignored": {},
            }
        )
    )
    meta = json.loads((path / "run.json").read_text())
    meta["machine"]["hostname"] = "<img src=x onerror=alert(2)>"
    (path / "run.json").write_text(json.dumps(meta))


def test_a_hostile_volume_name_is_escaped(
    short_run: ShortRun, chromium: Chromium, tmp_path: Path
) -> None:
    results = _copy_results(short_run.path, tmp_path / "hostile")
    _hostile_findings(results)
    report = write_report([results], tmp_path / "hostile.html")
    html = report.read_text()
    assert SCRIPT not in html
    assert "<img src=x" not in html
    assert ESCAPED in html
    page = chromium.load(report.as_uri(), PAGE_FACTS)
    assert page.dialogs == []
    assert page.values["scripts"] == 0
    assert SCRIPT in page.values["text"]  # shown as text, where the reader can see it
    assert "1 findings" in page.values["text"]
    assert page.errors == []


def test_report_command_with_trends(short_run: ShortRun, tmp_path: Path) -> None:
    """Two runs: the trend table lists each run's ratio of the most executed operation."""
    older = _copy_results(short_run.path, tmp_path / "older")
    meta = json.loads((older / "run.json").read_text())
    meta["started_epoch"] -= 3600
    meta["started_at"] = "2026-01-02T03:04:05+00:00"
    (older / "run.json").write_text(json.dumps(meta))
    comparison = json.loads((older / "comparison.json").read_text())
    comparison["operations"]["show"].update(median=9.87, ci95=[9.5, 10.25])
    (older / "comparison.json").write_text(json.dumps(comparison))
    output = tmp_path / "trend.html"
    done = cli("report", short_run.path, older, "-o", output)
    assert done.returncode == 0, done.stderr
    assert f"report: {output}" in done.stdout
    html = output.read_text()
    trends = html[html.index('id="trends"') :]
    newest = load_results(short_run.path).comparison["operations"]["show"]["median"]
    row = re.search(r"<tr><td class=\"\">show</td>(.*?)</tr>", trends).group(1)
    assert row.index("9.87\u00d7") < row.index(f"{newest:.2f}\u00d7")  # oldest run first
    assert "01-02 03:04" in trends


def test_verdict_counts_match_comparison(short_run: ShortRun) -> None:
    results = load_results(short_run.path)
    verdicts = [judge(entry) for entry in results.comparison["operations"].values()]
    html = (short_run.path / "report.html").read_text()
    expected = (
        f"faster on {verdicts.count('win')} and slower on {verdicts.count('loss')} of "
        f"{len(results.operations)} operations"
    )
    assert expected in html


def test_transport_share_uses_the_measured_floor(short_run: ShortRun) -> None:
    results = load_results(short_run.path)
    floor = results.floor
    assert set(floor) == set(results.backends)
    assert all(entry["p50_us"] > 0 and entry["n"] >= 100 for entry in floor.values())
    html = (short_run.path / "report.html").read_text()
    assert "transport share" in html
    assert fmt.us(floor["magnetodb"]["p50_us"]) in html[html.index('id="transport"') :]


def test_percentile_curve_ends_at_the_maximum(short_run: ShortRun) -> None:
    results = load_results(short_run.path)
    histogram = results.histogram("op", "show", "sqlite")
    curve = percentile_curve(results, "show", "sqlite")
    percentiles = [p for p, _ in curve]
    values = [v for _, v in curve]
    assert percentiles == sorted(percentiles)
    assert values == sorted(values)
    assert values[-1] == histogram.get_max_value()
    assert percentiles[-1] == 100.0 * (1 - 1 / histogram.get_total_count())
