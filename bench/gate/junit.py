"""JUnit XML of the gate's checks: one testsuite per kind, one testcase per check.

CI systems (GitLab, Jenkins, GitHub test reporters) show a failing testcase
with its message, so each failure carries the exact before/after figures.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from bench.gate.checks import Check

KINDS = ("workload", "counter", "latency", "cpu", "finding")


def junit_xml(checks: Sequence[Check], name: str = "cinderbench gate") -> ET.ElementTree:
    root = ET.Element("testsuites", name=name)
    for kind in KINDS:
        mine = [c for c in checks if c.kind == kind]
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"gate.{kind}",
            tests=str(len(mine)),
            failures=str(sum(c.ok is False for c in mine)),
            skipped=str(sum(c.ok is None for c in mine)),
            errors="0",
        )
        for check in mine:
            case = ET.SubElement(
                suite, "testcase", classname=f"cinderbench.gate.{kind}", name=check.name
            )
            if check.ok is False:
                failure = ET.SubElement(
                    case, "failure", message=check.detail or "changed", type=kind
                )
                failure.text = f"baseline: {check.baseline!r}\nnow: {check.value!r}\n{check.detail}"
            elif check.ok is None:
                ET.SubElement(case, "skipped", message=check.detail)
    root.set("tests", str(len(checks)))
    root.set("failures", str(sum(c.ok is False for c in checks)))
    return ET.ElementTree(root)


def write_junit(checks: Sequence[Check], path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tree = junit_xml(checks)
    ET.indent(tree)
    tree.write(target, encoding="utf-8", xml_declaration=True)
    return target
