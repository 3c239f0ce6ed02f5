"""Database access for the chaos suite: the `psql` CLI for PostgreSQL, the
stdlib `sqlite3` module for SQLite. Rows come back as tuples of strings/ints."""

import csv
import io
import secrets
import sqlite3
import subprocess
import uuid
from urllib.parse import urlsplit, urlunsplit


def is_postgres(url: str) -> bool:
    return url.startswith("postgres")


def sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite://").split("?", 1)[0]


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at database `name`."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def psql(url: str, sql: str, timeout: float = 30) -> str:
    # libpq ignores unknown URL parameters poorly: keep only the connection part.
    plain = urlunsplit(urlsplit(url)._replace(query="", fragment=""))
    done = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", plain, "-c", sql],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"psql failed: {done.stderr.strip()}")
    return done.stdout


def create_postgres(server_url: str) -> str:
    """A fresh database `chaos_<random>` on the server; returns its URL."""
    name = f"chaos_{secrets.token_hex(4)}"
    psql(server_url, f"CREATE DATABASE {name}")
    return with_database(server_url, name)


def drop_postgres(url: str, server_url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    psql(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _cell(value):
    if isinstance(value, bytes) and len(value) == 16:
        return str(uuid.UUID(bytes=value))
    return value


def query(url: str, sql: str) -> list[tuple]:
    """All rows of `sql`; integers come back as ints. Callers COALESCE NULLs
    (csv cannot tell NULL from '' without quoting tricks)."""
    if is_postgres(url):
        text = psql(url, f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)")
        return [tuple(_pg_value(v) for v in row) for row in csv.reader(io.StringIO(text))]
    conn = sqlite3.connect(sqlite_path(url), timeout=30)
    try:
        return [tuple(_cell(v) for v in row) for row in conn.execute(sql)]
    finally:
        conn.close()


def _pg_value(value: str):
    if value.lstrip("-").isdigit():
        return int(value)
    return value


def scalar(url: str, sql: str):
    rows = query(url, sql)
    return rows[0][0] if rows else None
