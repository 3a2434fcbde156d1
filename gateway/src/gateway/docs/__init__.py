"""The merged OpenAPI document and the interactive docs."""
