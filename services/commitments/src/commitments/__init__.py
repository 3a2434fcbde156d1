"""Scrutiny commitments service."""
