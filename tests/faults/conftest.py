"""The fault test's figures, printed in pytest's terminal summary so CI's output shows them."""

from __future__ import annotations

import pytest

# acknowledged / lost / duplicated per kind of write, the feeds' gaps, what the chaos did.
FAULT_FIGURES: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the fault test's figures, if it ran."""
    if FAULT_FIGURES:
        terminalreporter.section("fault injection figures")
        for line in FAULT_FIGURES:
            terminalreporter.write_line(line)
