"""A DB API call of the MagnetoDB design that raises leaves no trace, at every write position.

Every case of ``atomicity_support.CASES`` that sends two write requests or
more (counted, not listed by hand) is made to fail at each of its writes with
``bench.drive.faults`` (``FaultRule(write=N)``), on an in-process store:

- *a request fails* (``crash=False``: the one request, the backend's error
  handling runs): the call raises a Cinder exception, the dual-write
  validators find nothing, and every table holds exactly what it held before
  the call (the journal undid the writes before the failed one);
- *the process dies there* (``crash=True``: that request and every later one
  fail, the rollback's included), or *the request is applied and its answer
  lost* (``lost_answer=True``: a timeout; the backend cannot tell): the
  validators find only the states ``docs/magnetodb-design.md`` lists for that
  function, and the repair plan clears them.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.drive import faults
from cinderdb import exception
from tests.validators.atomicity_support import (
    CASES,
    Case,
    Store,
    call,
    case_id,
    documented_crash_states,
    multi_write_positions,
    prepare,
    write_counts,
)
from tests.validators.dualwrite_support import repair

#: The designs every write position is tried on: the seed's, and every option at once.
DESIGNS = ("seed", "improved")
POSITIONS = [
    (design, case, position)
    for design in DESIGNS
    for case, position in multi_write_positions(design)
]
IDS = [f"{design}-{case_id(c)}-write{p}" for design, c, p in POSITIONS]


@pytest.fixture(scope="module")
def stores() -> Any:
    opened: dict[str, Store] = {}
    yield opened
    for store in opened.values():
        store.close()


@pytest.fixture
def store(stores: dict[str, Store], design: str) -> Store:
    """The module's store of the design (one per design)."""
    if design not in stores:
        stores[design] = Store.open(design)
    return stores[design]


def _fail(
    store: Store,
    case: Case,
    arguments: tuple[Any, ...],
    position: int,
    *,
    crash: bool,
    lost_answer: bool = False,
) -> BaseException:
    """Make the case's call with its ``position``-th write failing; returns what it raised."""
    function = case[0]
    rule = faults.FaultRule(f"write {position}", calls=frozenset({function}), write=position)
    options = faults.FaultOptions(
        rules=(rule,), rate=1.0, max_faults=1, crash=crash, lost_answer=lost_answer
    )
    injector = faults.install(store.api, options)
    assert injector is not None
    try:
        with pytest.raises(exception.CinderException) as raised:
            call(store, case, arguments)
    finally:
        faults.uninstall(store.api)
    assert len(injector.faults) == 1, f"no fault injected at write {position}"
    return raised.value


@pytest.mark.parametrize(("design", "case", "position"), POSITIONS, ids=IDS)
def test_a_failed_write_undoes_the_writes_before_it(
    store: Store, case: Case, position: int
) -> None:
    arguments = prepare(store, case)
    before = store.dump()
    _fail(store, case, arguments, position, crash=False)
    validation = store.validate()
    assert validation.ok, [(f.check, f.cls, f.key) for f in validation.findings]
    after = store.dump()
    changed = {t for t in before if before[t] != after[t]}
    assert not changed, f"{sorted(changed)} differ after the call raised"


@pytest.mark.parametrize(("lost_answer"), [False, True], ids=["crash", "lost-answer"])
@pytest.mark.parametrize(("design", "case", "position"), POSITIONS, ids=IDS)
def test_a_crash_leaves_only_documented_states_that_repair_clears(
    store: Store, case: Case, position: int, lost_answer: bool
) -> None:
    """``crash``: the process dies before the write; ``lost-answer``: the write is applied
    and its answer lost, so the backend cannot know (a timeout): what the call cannot undo
    is left as a crash just before or after that write leaves it."""
    arguments = prepare(store, case)
    assert store.validate().ok, "the store starts clean"
    _fail(store, case, arguments, position, crash=not lost_answer, lost_answer=lost_answer)
    validation = store.validate()
    found = {(f.check, f.cls) for f in validation.findings}
    allowed = documented_crash_states().get(case[0], frozenset())
    assert found <= allowed, f"undocumented crash states of {case[0]}: {found - allowed}"
    if found:
        again = repair(store, validation)  # type: ignore[arg-type]
        assert again.ok, [(f.check, f.cls, f.key) for f in again.findings]


def test_every_multi_write_function_is_documented() -> None:
    multi = {case[0] for _, case, _ in POSITIONS}
    documented = set(documented_crash_states())
    assert multi <= documented, f"no crash row in the design document: {multi - documented}"
    single = {
        case[0]
        for design in DESIGNS
        for case, n in zip(CASES, write_counts(design), strict=True)
        if n < 2
    } - multi
    assert not documented & single, f"documented but writing once: {documented & single}"
