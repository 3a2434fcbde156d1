"""The gateway's routes: its own (identity, reports, docs) and the proxy to the services."""
