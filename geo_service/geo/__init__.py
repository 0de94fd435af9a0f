"""Pure geography and statistics: no database, no HTTP."""
