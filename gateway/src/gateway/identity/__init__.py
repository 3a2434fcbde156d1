"""API clients, signing keys and OAuth 2.0 client-credentials tokens."""
