"""Infrastructure shared by Scrutiny's processes. Never domain models."""
