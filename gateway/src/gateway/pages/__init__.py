"""Public, server-rendered pages in the GOV.UK Design System, built on the composed API."""
