"""Client of the evidence service."""

from __future__ import annotations

from gateway.clients.base import ServiceClient


class EvidenceClient(ServiceClient):
    """The evidence service; composed reads of evidence will add their calls here."""

    name = "evidence"
