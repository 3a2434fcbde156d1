"""Scrutiny gateway: routes and composes the services, issues access tokens, publishes JWKS."""
