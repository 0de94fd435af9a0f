"""Bulk writes with COPY: the fast path of imports."""

from collections.abc import AsyncIterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from geo_service.store.db import raw_connection


def encode_csv(table: pa.Table) -> bytes:
    """A COPY ... (FORMAT csv) payload: no header, NULL as an unquoted empty field."""
    sink = pa.BufferOutputStream()
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    pacsv.write_csv(table, sink, options)
    return sink.getvalue().to_pybytes()


async def reserve_incident_ids(conn: AsyncConnection, n: int) -> np.ndarray:
    """`n` new incident ids from the table's own sequence (so single inserts never collide)."""
    if n == 0:
        return np.empty(0, dtype=np.int64)
    result = await conn.execute(
        text(
            "SELECT nextval(pg_get_serial_sequence('incidents', 'id')) FROM generate_series(1, :n)"
        ),
        {"n": n},
    )
    return np.fromiter((r[0] for r in result), dtype=np.int64, count=n)


async def copy_csv(
    conn: AsyncConnection, table: str, columns: Sequence[str], payloads: AsyncIterator[bytes]
) -> None:
    """COPY every CSV payload into `table` in one statement, on the connection's transaction."""
    raw = await raw_connection(conn)
    names = ", ".join(f'"{c}"' for c in columns)
    statement = f'COPY "{table}" ({names}) FROM STDIN (FORMAT csv)'
    async with raw.cursor() as cur, cur.copy(statement) as copy:
        async for payload in payloads:
            await copy.write(payload)
