"""Forwarding of `/v1/...` requests to the service that owns the path."""
