"""The server store: PostgreSQL (psycopg 3), for several ingestion workers and one database.

Layout, and why:

* Points are stored in chunks: ``point_chunks(signal_id, bucket, n, ts[], value[], quality[])``
  holds one row per signal, UTC minute and append, the minute's points as arrays. A row (and a
  B-tree entry) per point, with a primary key (signal_id, ts), held appends to a third of the rate
  of a plain binary COPY of the same rows: the index insert per point was the cost. Chunks cost a
  row and an index entry (signal_id, bucket) per signal and minute, and a per-signal range query
  reads its minutes' rows and unnests their arrays. The table is range-partitioned by ``bucket``,
  one partition per UTC day, created on demand before the append that needs it, so a time-range
  query touches only its days and retention drops whole days.
* A batch goes in by one binary COPY (built with NumPy, never a Python object per point), sorted
  by (signal, ts). Each point is stored once, however often it is sent and by however many
  workers: the append locks its signals' catalogue rows (in id order, so two writers never
  deadlock) and reads their high-water marks (the newest stored ts, kept in ``latest``) under
  that lock. Points above their mark are new; points at or below it (late, re-sent, or behind
  another worker's newer points) are checked against the spans of their minutes' chunks, and only
  those inside a span against its stored times.
* In the same transaction, ``latest`` (one row per signal) and the 1-minute and 1-hour rollups
  (min, max, sum, count, last of the points that are not BAD) are upserted from exactly the new
  points, their partial aggregates computed with NumPy on the sorted batch (a few hundred rows per
  batch), so a re-sent point is counted once and rollups never disagree with the points they
  summarise. ``downsample`` reads whole hours from ``rollup_1h`` where they fit inside its
  buckets, whole minutes from ``rollup_1m`` at the edges, and raw points only for the sub-minute
  remainders.
* Reads of numeric columns come back through binary ``COPY ... TO STDOUT``, parsed by NumPy as a
  fixed-width record array.
* Retention per signal class (the signal's role): the ``retention`` setting maps a role, or
  ``*`` for every other role, to days; :meth:`PostgresStore.apply_retention` drops the day
  partitions that every class is done with and deletes older rows of the classes kept less long.
  Rollups of 1 hour are kept: they are what year-long trends read, and are small.

One module per concern: ``wire`` (the binary COPY format, both ways), ``statements`` (the SQL),
``fresh`` (which points of a batch are new), ``retention`` (day partitions and retention),
``store`` (the :class:`PostgresStore` class that uses them).

Schema changes go through alembic (``migrations/``), run when the store opens.

Threads: appends and settings go through one writer connection under a lock (explicit
transactions); reads use one autocommit connection per thread, so they never wait for the writer
and each statement sees a committed snapshot.
"""

from smartfab.platform.store.postgres.statements import rollup_pieces
from smartfab.platform.store.postgres.store import PostgresStore
from smartfab.platform.store.postgres.wire import DAY_US, HOUR_US, MINUTE_US, points_copy

__all__ = ["DAY_US", "HOUR_US", "MINUTE_US", "PostgresStore", "points_copy", "rollup_pieces"]
