"""The report's design section: each design against SQL, what each option costs, and the
recommendation (the fastest design over the mix among those with no divergence and no
validator finding)."""

from __future__ import annotations

from pathlib import Path

from bench.measure.results import load_results
from reports import format as fmt
from reports.build import render
from reports.designs import Arm, design_section, recommend
from tests.reports.chromium import Chromium
from tests.shortrun import ShortRun

#: What the page shows, as Chromium reads it.
PAGE_FACTS = {
    "broken_charts": "[...document.images].filter(i => !i.complete || i.naturalWidth === 0).length",
    "sections": "[...document.querySelectorAll('h2[id], section[id]')].map(e => e.id)",
    "text": "document.body.innerText",
}


def _arm(label: str, spent: float, **figures) -> Arm:
    arm = Arm(label, label.partition(".")[2], [], "sqlite", spent_us=spent, baseline_us=10e6)
    arm.validation = {"findings": 0, "quota_findings": 0, "pairs": 16, "checked": 100}
    arm.replay = {"divergence_count": 0, "final_differences": 0, "design_divergences": {}}
    for key, value in figures.items():
        setattr(arm, key, value)
    return arm


def _judged(*arms: Arm) -> tuple[str, str, list[tuple[str, str]]]:
    from reports.designs import _problems

    for arm in arms:
        _problems(arm)
    return recommend(list(arms))


def test_the_fastest_clean_design_is_recommended() -> None:
    text, cls, evidence = _judged(_arm("m.seed", 6e6), _arm("m.improved", 4e6))
    assert cls == "win"
    assert text.startswith("Recommended: improved (m.improved)")
    assert f"{fmt.ratio(0.4)} of sqlite's" in text  # 4 s of the SQL arm's 10
    assert any("m.seed is eligible too" in sentence for _, sentence in evidence)
    assert any(sentence.startswith("Costs:") for _, sentence in evidence)


def test_a_faster_design_with_a_finding_or_a_divergence_is_not() -> None:
    found = _arm("m.improved", 1e6, validation={"findings": 3, "quota_findings": 0})
    semantic = _arm(
        "m.seed+glance_map",
        2e6,
        replay={"divergence_count": 0, "final_differences": 0, "design_divergences": {"x": 1}},
    )
    text, _, evidence = _judged(_arm("m.seed", 6e6), found, semantic)
    assert text.startswith("Recommended: seed (m.seed)")
    reasons = " ".join(sentence for cls, sentence in evidence if cls == "loss")
    assert "m.improved is not eligible: 3 validator findings" in reasons
    assert "1 semantic divergences of the design" in reasons


def test_no_design_is_recommended_when_none_is_clean() -> None:
    unvalidated = _arm("m.seed", 6e6, validation=None, divergent_outcomes=2)
    text, cls, evidence = _judged(unvalidated)
    assert cls == "loss"
    assert text.startswith("No design can be recommended")
    assert "not validated" in evidence[0][1]
    assert "2 outcomes differed from sqlite" in evidence[0][1]


def test_one_seed_arm_has_no_design_section(short_run: ShortRun) -> None:
    assert design_section(load_results(short_run.path)) is None


def test_a_run_of_two_designs_has_the_section(design_run: ShortRun) -> None:
    results = load_results(design_run.path)
    section = design_section(results)
    assert section is not None
    assert [arm.label for arm in section.arms] == ["magnetodb.seed", "magnetodb.improved"]
    assert [label for label, _ in section.operations.groups[1:]] == [
        "magnetodb.seed / sqlite",
        "magnetodb.improved / sqlite",
    ]
    assert len(section.operations.rows) == len(results.operations)
    improved = section.arms[1]
    assert improved.options
    assert [row[0].text for row in section.options.rows] == improved.options
    for arm in section.arms:  # every arm was validated and replayed by compare
        assert arm.validation is not None
        assert arm.replay is not None
        assert arm.validation["pairs"] >= 16
    assert section.arms[1].validation["pairs"] > section.arms[0].validation["pairs"]
    assert section.recommendation.startswith(("Recommended: ", "No design"))
    page = render([results])
    assert 'id="designs"' in page
    assert section.recommendation.replace("'", "&#39;") in page


def test_the_design_report_renders_in_chromium(
    design_run: ShortRun, chromium: Chromium, artifacts: Path
) -> None:
    screenshot = artifacts / "report-designs.png"
    page = chromium.load((design_run.path / "report.html").as_uri(), PAGE_FACTS, screenshot)
    print(f"screenshot: {screenshot}")
    assert page.errors == []
    assert page.values["broken_charts"] == 0
    assert "designs" in page.values["sections"]
    assert "Per operation: each design against SQL" in page.values["text"]
