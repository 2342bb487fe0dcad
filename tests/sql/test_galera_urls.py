"""The Galera URL form and the errors oslo.db classifies, without a cluster.

The routing itself (which node a connection reaches) is checked on a real cluster
in ``tests/clusters/test_galera.py``.
"""

from __future__ import annotations

import pymysql
import pytest
from sqlalchemy import exc

from cinderdb import backend_class, exception, features_of
from cinderdb.sql import galera
from cinderdb.sql.core import translate_errors
from cinderdb.sql.galera import NodeSet


def test_a_single_node_url_is_no_node_set() -> None:
    assert galera.parse("mysql+pymysql://root@127.0.0.1:3306/cinder") is None
    assert galera.parse("sqlite:///tmp/x.sqlite") is None


def test_a_node_list_defaults_to_one_writer_and_keeps_driver_parameters() -> None:
    nodes = galera.parse("mysql+pymysql://u:pw@h1:4001,h2:4002,h3/cinder?charset=utf8mb4")
    assert nodes == NodeSet(
        scheme="mysql+pymysql",
        userinfo="u:pw",
        hosts=("h1:4001", "h2:4002", "h3:3306"),
        database="cinder",
        query=(("charset", "utf8mb4"),),
    )
    assert nodes.render() == (
        "mysql+pymysql://u:***@h1:4001,h2:4002,h3:3306/cinder?charset=utf8mb4&galera=one-writer"
    )
    assert nodes.node_url(1).render_as_string(hide_password=False) == (
        "mysql+pymysql://u:pw@h2:4002/cinder?charset=utf8mb4"
    )
    assert not nodes.reads_elsewhere


def test_node_urls_joined_by_commas_are_the_same_node_set() -> None:
    joined = galera.parse(
        "mysql+pymysql://root@h1:1/db?galera=all-writers,"
        "mysql+pymysql://root@h2:2/db?galera=all-writers"
    )
    listed = galera.parse("mysql+pymysql://root@h1:1,h2:2/db?galera=all-writers")
    assert joined == listed
    assert joined.reads_elsewhere  # all writers read at wsrep_sync_wait=1 by default


def test_reads_anywhere_and_the_sync_wait_they_run_at() -> None:
    nodes = galera.parse("mysql+pymysql://root@h1:1,h2:2/db?reads=any&sync_wait=3")
    assert (nodes.policy, nodes.reads, nodes.sync_wait) == ("one-writer", "any", 3)
    assert nodes.reads_elsewhere
    assert "reads on any node at wsrep_sync_wait=3" in nodes.describe()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("mysql+pymysql://root@h1:1,h2:2/", "names its database"),
        ("mysql+pymysql://root@h1:1,h2:2/db?galera=any", "galera= is one of"),
        ("mysql+pymysql://root@h1:1,h2:2/db?galera=all-writers&reads=any", "reads= applies"),
        ("mysql+pymysql://root@h1:1,h2:2/db?sync_wait=x", "sync_wait= is an integer"),
        ("mysql+pymysql://root@h1:1,,h2:2/db", "an empty node"),
        ("mysql+pymysql://a@h1:1/db,mysql+pymysql://b@h2:2/db", "differ only in HOST:PORT"),
    ],
)
def test_a_malformed_galera_url_is_one_clear_error(url: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        features_of(url)


def test_a_galera_url_waits_on_the_network_and_is_labelled_galera() -> None:
    url = "mysql+pymysql://root@h1:1,h2:2/db"
    features = features_of(url)
    assert features.waits_on_network
    assert features.multi_process
    assert backend_class(url).default_label(url) == "galera"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (1213, exception.DBDeadlock),  # a deadlock victim, Galera's certification failure
        (1205, exception.DBDeadlock),  # lock wait timeout
        (2013, exception.DBConnectionError),  # connection lost mid-query (a killed node)
        (2003, exception.DBConnectionError),  # cannot connect
        (1047, exception.DBConnectionError),  # a node outside the primary component
        (1146, exception.DBError),  # anything else stays a plain DBError
    ],
)
def test_driver_errors_become_the_exceptions_oslo_db_raises(code: int, expected: type) -> None:
    driver_error = pymysql.err.OperationalError(code, "injected")
    with pytest.raises(exception.DBError) as raised, translate_errors():
        raise exc.OperationalError("SELECT 1", {}, driver_error)
    assert type(raised.value) is expected
