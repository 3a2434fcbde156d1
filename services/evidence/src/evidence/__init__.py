"""Scrutiny evidence service."""
