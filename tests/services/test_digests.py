"""Submission digests: the same for the same content however many rows are digested at once,
different when any submitted field differs."""

import numpy as np

from geo_service.services import enrichment, incident_rows, synthetic
from geo_service.services.readers import Table


def rows_of(geography, n: int, seed: int):
    frame = synthetic.incidents(geography, n, seed=seed)
    table = Table.of_points(frame)
    rows, errors = incident_rows.from_frame(table.frame, table.lon, table.lat)
    assert not errors
    return incident_rows.with_persons_filled(rows)


def test_one_row_at_a_time_or_all_at_once_gives_the_same_digests(geography):
    rows = rows_of(geography, 200, seed=3)
    together = enrichment.digests(rows)
    alone = [enrichment.digests(rows.take(np.array([i])))[0] for i in range(len(rows))]
    assert list(together) == alone


def test_any_changed_field_changes_the_digest(geography):
    rows = rows_of(geography, 40, seed=4)
    before = enrichment.digests(rows)
    changed = rows.take(np.arange(len(rows)))
    changed.lon[5] += 1e-6
    changed.persons_involved[6] += 1
    changed.narrative[7] = "changed"
    after = enrichment.digests(changed)
    assert [i for i in range(len(rows)) if before[i] != after[i]] == [5, 6, 7]
