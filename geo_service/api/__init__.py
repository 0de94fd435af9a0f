"""HTTP API: thin routes that parse, authorize, call a service and serialize."""
