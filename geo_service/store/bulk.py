"""Bulk writes with binary COPY from Arrow tables: the fast path of imports."""

from collections.abc import AsyncIterator, Sequence

import numpy as np
import pyarrow as pa
from geoalchemy2 import Geometry
from pgpq import ArrowToPostgresBinaryEncoder
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    SmallInteger,
    Table,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from geo_service.store.db import raw_connection

_TRAILER = b"\xff\xff"  # the end of a binary COPY stream: a field count of -1
# Binary COPY wants each value in the column's own wire type; geometry takes EWKB.
_ARROW_TYPES = (
    (BigInteger, pa.int64()),
    (SmallInteger, pa.int16()),
    (Integer, pa.int32()),
    (Float, pa.float64()),
    (Boolean, pa.bool_()),
    (DateTime, pa.timestamp("us", tz="UTC")),
    (LargeBinary, pa.binary()),
    (Geometry, pa.binary()),
)


def arrow_schema(table: Table, columns: Sequence[str]) -> pa.Schema:
    """The Arrow schema whose binary COPY encoding fits `columns` of `table`."""

    def arrow_type(column: str) -> pa.DataType:
        sql_type = table.c[column].type
        return next((a for s, a in _ARROW_TYPES if isinstance(sql_type, s)), pa.string())

    return pa.schema([pa.field(c, arrow_type(c)) for c in columns])


async def reserve_ids(conn: AsyncConnection, table: str, n: int) -> np.ndarray:
    """`n` new ids from the table's own sequence, so single inserts never collide with them."""
    if n == 0:
        return np.empty(0, dtype=np.int64)
    sequence = (
        await conn.execute(text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table})
    ).scalar_one()
    draw = "SELECT nextval(CAST(:seq AS regclass)) AS v FROM generate_series(1, :n)"
    lo, hi = (
        await conn.execute(
            text(f"SELECT min(v), max(v) FROM ({draw}) s"), {"seq": sequence, "n": n}
        )
    ).one()
    if hi - lo + 1 == n:  # the usual case: nobody else drew numbers meanwhile
        return np.arange(lo, hi + 1, dtype=np.int64)
    drawn = await conn.execute(text(draw), {"seq": sequence, "n": n})
    return np.fromiter((r[0] for r in drawn), dtype=np.int64, count=n)


def encode(schema: pa.Schema, part: pa.Table) -> bytes:
    """The rows of `part` in PostgreSQL's binary COPY format, without header and trailer.

    Safe to call in a worker thread, so that encoding overlaps the database's work.
    """
    encoder = ArrowToPostgresBinaryEncoder(schema)
    encoder.write_header()
    body = [encoder.write_batch(b) for b in part.cast(schema).to_batches()]
    # The encoder buffers rows and hands them out with the trailer when it finishes.
    body.append(encoder.finish().removesuffix(_TRAILER))
    return b"".join(body)


async def copy_binary(
    conn: AsyncConnection, table: Table, schema: pa.Schema, payloads: AsyncIterator[bytes]
) -> None:
    """Binary COPY of encoded rows into `schema`'s columns of `table`, in one statement on the
    connection's transaction."""
    raw = await raw_connection(conn)
    names = ", ".join(f'"{c}"' for c in schema.names)
    framing = ArrowToPostgresBinaryEncoder(schema)
    statement = f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT binary)'
    async with raw.cursor() as cur, cur.copy(statement) as copy:
        await copy.write(framing.write_header())
        async for payload in payloads:
            await copy.write(payload)
        await copy.write(framing.finish())


async def allow_long_statements(conn: AsyncConnection, limit: str = "1h") -> None:
    """Lift the statement time bound to `limit` for the rest of this transaction."""
    await conn.execute(
        text("SELECT set_config('statement_timeout', :limit, true)"), {"limit": limit}
    )


async def estimated_rows(conn: AsyncConnection, table: Table) -> float:
    """The planner's row estimate of `table` (0 when never analysed)."""
    result = await conn.execute(
        text("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = CAST(:t AS regclass)"),
        {"t": table.name},
    )
    return float(result.scalar_one())


async def analyze(conn: AsyncConnection, table: Table, column: str = "id") -> None:
    """Refresh the planner's row count of `table` (and the statistics of one column: the
    count is what plans need here, and one column is quicker to sample). ANALYZE is the
    owner's right: the service asks the function migration 0005 lends it by."""
    await conn.execute(
        text("SELECT geo_service_analyze(:table, :column)"),
        {"table": table.name, "column": column},
    )
