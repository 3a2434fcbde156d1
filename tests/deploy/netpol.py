"""What the rendered NetworkPolicies allow, worked out as Kubernetes does for the selectors they
use (matchLabels, matchExpressions In / NotIn / Exists; podSelector, namespaceSelector, ipBlock
peers; ports by number): a connection is allowed when some policy selecting the destination
admits it as ingress (or none selects it for Ingress) and some policy selecting the source
admits it as egress (or none selects it for Egress)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

Resource = dict[str, Any]


@dataclass(frozen=True)
class Pod:
    """A pod (or, with `ip` and no labels, an address outside the cluster)."""

    labels: dict[str, str] = field(default_factory=dict)
    namespace: str = "scrutiny"
    ip: str | None = None

    @property
    def namespace_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace}


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a label selector matches a set of labels (`{}` matches everything)."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _peer_matches(peer: dict[str, Any], pod: Pod, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        if pod.ip is None:
            return False
        block = peer["ipBlock"]
        address = ipaddress.ip_address(pod.ip)
        inside = address in ipaddress.ip_network(block["cidr"])
        return inside and not any(
            address in ipaddress.ip_network(e) for e in block.get("except", [])
        )
    if pod.ip is not None and not pod.labels:
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], pod.namespace_labels):
            return False
    elif pod.namespace != policy_namespace:
        return False
    return selects(peer.get("podSelector", {}), pod.labels)


def _port_matches(rule: dict[str, Any], port: int) -> bool:
    ports = rule.get("ports")
    return not ports or any(
        p.get("port") == port and p.get("protocol", "TCP") == "TCP" for p in ports
    )


def _direction_allows(
    policies: list[Resource], direction: str, subject: Pod, other: Pod, port: int
) -> bool:
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    applying = [
        p
        for p in policies
        if p["metadata"].get("namespace") == subject.namespace
        and subject.ip is None
        and selects(p["spec"]["podSelector"], subject.labels)
        and direction in p["spec"].get("policyTypes", ["Ingress"])
    ]
    if not applying:
        return True
    for policy in applying:
        for rule in policy["spec"].get(key, []):
            peers = rule.get(peers_key)
            namespace = policy["metadata"]["namespace"]
            if (not peers or any(_peer_matches(peer, other, namespace) for peer in peers)) and (
                _port_matches(rule, port)
            ):
                return True
    return False


def allowed(policies: list[Resource], source: Pod, destination: Pod, port: int) -> bool:
    """Whether `source` may open a TCP connection to `destination` on `port`."""
    egress = source.ip is not None or _direction_allows(
        policies, "Egress", source, destination, port
    )
    return egress and _direction_allows(policies, "Ingress", destination, source, port)
