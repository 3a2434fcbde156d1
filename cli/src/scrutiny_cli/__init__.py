"""The scrutiny command-line tool (an operator's tool: it talks to the suite over HTTP)."""
