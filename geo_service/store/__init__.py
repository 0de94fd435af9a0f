"""Store: SQL, models, migrations and the one visibility filter. Only this package talks SQL."""
