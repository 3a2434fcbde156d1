"""Scrutiny ratings service."""
