"""The gateway's edge: per-client rate limits, quotas and the client directory."""
