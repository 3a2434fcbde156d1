"""Webhooks: subscriptions to the gateway's event log, signed deliveries, retries and replay."""
