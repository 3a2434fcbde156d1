"""Prototypes of proposed fixes, measured by the bench (`--experiments`); no service uses them."""
