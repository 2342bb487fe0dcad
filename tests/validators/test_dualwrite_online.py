"""Online validation tells lag from divergence: a disagreement that heals within the settle
window is transient, with its time to converge; one that stays is a finding."""

from __future__ import annotations

import threading

from tests.validators.dualwrite_support import (
    Store,
    store_fixture,  # noqa: F401 - the ``store`` fixture
)
from validators.online import validate_online

STAYS = "dead0000-0000-4000-8000-0000000000aa"
HEALS = "dead0000-0000-4000-8000-0000000000bb"


def _entry(volume_id: str) -> dict:
    return {"host": {"S": "ghost-host"}, "volume_id": {"S": volume_id}}


def test_lag_heals_within_the_settle_window_and_divergence_does_not(store: Store) -> None:
    client = store.client()
    client.put_item("volumes_by_host", _entry(STAYS))
    client.put_item("volumes_by_host", _entry(HEALS))
    heal = threading.Timer(0.4, client.delete_item, ("volumes_by_host", _entry(HEALS)))
    heal.start()
    reader = store.reader()
    try:
        validation = validate_online(reader, duration=0.1, settle=2.0)
    finally:
        heal.join()
        reader.client.close()
        client.close()
    (divergence,) = validation.divergences()
    assert divergence.key == {"host": "ghost-host", "volume_id": STAYS}
    (transient,) = [f for f in validation.findings if f.transient]
    assert transient.key == {"host": "ghost-host", "volume_id": HEALS}
    summary = next(s for s in validation.summaries if s.name == "volumes_by_host")
    assert (summary.orphan, summary.transient) == (1, 1)
    assert 250 <= summary.convergence_ms <= 1900, summary.convergence
    assert validation.reads["sweeps"] == 1
    assert not validation.ok
