"""Reads composed from several services: the evaluation report, the scorecard, the pages' reads."""
