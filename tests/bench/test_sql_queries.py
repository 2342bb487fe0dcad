"""`cinderbench bench sql-queries`: every read function measured; Liberty's query shapes kept."""

from __future__ import annotations

import pymysql
from sqlalchemy.engine import make_url

from cinderbench.bench import BENCHMARKS, sql_queries
from cinderdb.api import READ_FUNCTIONS
from tests.provision import MYSQL_SERVER_URL


def _rows(text: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("| `")
    ]


def test_registered():
    assert BENCHMARKS["sql-queries"] == "cinderbench.bench.sql_queries"


def test_sqlite_report_covers_every_read_function_and_matches_liberty(tmp_path, capsys):
    output = tmp_path / "report.md"
    assert sql_queries.main(["--output", str(output)]) == 0
    text = output.read_text()
    assert capsys.readouterr().out == text
    rows = _rows(text)
    assert {row[0].strip("`") for row in rows} == READ_FUNCTIONS
    unexplained = [
        row[:2]
        for row in rows
        if row[-1] == "**no**" and (row[0].strip("`"), row[1]) not in sql_queries.REASONS
    ]
    assert unexplained == []
    assert sum(row[-1] == "yes" for row in rows) >= len(sql_queries.EXPECTED) - len(
        sql_queries.REASONS
    )


def test_mysql_server_url_gets_a_temporary_database(capsys):
    url = make_url(MYSQL_SERVER_URL)

    def databases() -> set[str]:
        connection = pymysql.connect(
            host=url.host or "127.0.0.1",
            port=url.port or 3306,
            user=url.username or "root",
            password=url.password or "",
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute("SHOW DATABASES LIKE 'cinderbench_sqlq_%'")
                return {name for (name,) in cursor.fetchall()}
        finally:
            connection.close()

    before = databases()
    assert sql_queries.main(["--url", MYSQL_SERVER_URL]) == 0
    assert "on mysql" in capsys.readouterr().out
    assert databases() == before
