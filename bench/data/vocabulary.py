"""The words generated rows are written in, and who they say made them."""

from __future__ import annotations

import random

WORDS = [
    "digital",
    "care",
    "record",
    "patient",
    "trust",
    "integrated",
    "system",
    "provider",
    "electronic",
    "data",
    "shared",
    "workforce",
    "training",
    "funding",
    "capital",
    "revenue",
    "programme",
    "milestone",
    "delivery",
    "interoperable",
    "standards",
    "platform",
    "access",
    "services",
    "community",
    "hospital",
    "primary",
    "secondary",
    "social",
    "plan",
    "target",
    "progress",
    "evidence",
    "review",
    "committee",
    "panel",
    "outcome",
    "impact",
    "national",
    "local",
    "region",
    "board",
    "investment",
    "cyber",
    "resilience",
    "app",
    "booking",
    "prescription",
    "referral",
    "discharge",
    "pathway",
]
BENCH_CLIENT = "bench-loader"
BENCH_ORG = "Scrutiny benchmark"


def words(rng: random.Random, n: int) -> str:
    """Plausible filler text."""
    return " ".join(rng.choices(WORDS, k=n))
