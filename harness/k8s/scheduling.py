"""Where a DaemonSet's pods run: Kubernetes' node selection rules, as data and pure functions.

Rules (https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/,
https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/,
https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/):
- nodeSelector: every key must be a label of the node with exactly that value.
- requiredDuringSchedulingIgnoredDuringExecution: nodeSelectorTerms are ORed, the expressions (and fields) of one
  term are ANDed; an empty term matches no node.
- NotIn and DoesNotExist match a node without the label; Gt and Lt compare integers, one value, and a label that is
  not an integer does not match.
- A toleration matches a taint when the keys are equal (an empty key with Exists matches every key), the effects are
  equal (an empty effect matches every effect), and with Equal the values are equal (Exists: any value).
- A DaemonSet pod does not run on a node with a NoSchedule or NoExecute taint it does not tolerate; PreferNoSchedule
  only steers the scheduler and keeps no daemon away. The DaemonSet controller adds tolerations of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
_HARD_EFFECTS = ("NoSchedule", "NoExecute")


@dataclass(frozen=True)
class Taint:
    key: str
    effect: str
    value: str = ""

    def __str__(self) -> str:
        return f"{self.key}{'=' + self.value if self.value else ''}:{self.effect}"


@dataclass(frozen=True)
class Toleration:
    key: str = ""
    operator: str = "Equal"  # or Exists
    value: str = ""
    effect: str = ""  # empty: every effect

    def tolerates(self, taint: Taint) -> bool:
        if self.effect and self.effect != taint.effect:
            return False
        if not self.key:
            return self.operator == "Exists"  # an empty key only goes with Exists: it tolerates everything
        if self.key != taint.key:
            return False
        return self.operator == "Exists" or self.value == taint.value


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        values = f" ({', '.join(self.values)})" if self.operator in ("In", "NotIn") else ""
        bound = f" {self.values[0]}" if self.operator in ("Gt", "Lt") and self.values else ""
        return f"{self.key} {self.operator}{values}{bound}"

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key, "")
        if self.operator == "In":
            return present and value in self.values
        if self.operator == "NotIn":
            return not present or value not in self.values
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        # Gt, Lt: both sides integers, or no match
        try:
            number, bound = int(value), int(self.values[0])
        except (ValueError, IndexError):
            return False
        return present and (number > bound if self.operator == "Gt" else number < bound)


@dataclass(frozen=True)
class Term:
    """One nodeSelectorTerm: matchExpressions over labels, matchFields over ``metadata.name``."""

    expressions: tuple[Requirement, ...] = ()
    fields: tuple[Requirement, ...] = ()

    def __str__(self) -> str:
        return " and ".join([*map(str, self.expressions), *map(str, self.fields)]) or "(an empty term)"

    def matches(self, node: Node) -> bool:
        if not self.expressions and not self.fields:
            return False
        return all(r.matches(node.labels) for r in self.expressions) and all(
            r.matches({"metadata.name": node.name}) for r in self.fields
        )


@dataclass(frozen=True)
class Node:
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()


@dataclass(frozen=True)
class Placement:
    """What a pod template says about where it may run."""

    node_selector: dict[str, str] = field(default_factory=dict)
    required_terms: tuple[Term, ...] | None = None  # None: no required node affinity
    tolerations: tuple[Toleration, ...] = ()
    host_network: bool = False

    def describe(self) -> str:
        """The rules that choose nodes, as a reader compares them with the nodes' labels."""
        rules = []
        if self.node_selector:
            rules.append("nodeSelector " + ", ".join(f"{k}={v}" for k, v in sorted(self.node_selector.items())))
        if self.required_terms is not None:
            rules.append("required node affinity " + " or ".join(f"({term})" for term in self.required_terms))
        return "; ".join(rules) or "no nodeSelector or required node affinity"


def daemonset_tolerations(host_network: bool) -> tuple[Toleration, ...]:
    """The tolerations the DaemonSet controller adds to every daemon pod (network-unavailable for hostNetwork)."""
    added = [
        Toleration("node.kubernetes.io/not-ready", "Exists", effect="NoExecute"),
        Toleration("node.kubernetes.io/unreachable", "Exists", effect="NoExecute"),
        Toleration("node.kubernetes.io/disk-pressure", "Exists", effect="NoSchedule"),
        Toleration("node.kubernetes.io/memory-pressure", "Exists", effect="NoSchedule"),
        Toleration("node.kubernetes.io/pid-pressure", "Exists", effect="NoSchedule"),
        Toleration("node.kubernetes.io/unschedulable", "Exists", effect="NoSchedule"),
    ]
    if host_network:
        added.append(Toleration("node.kubernetes.io/network-unavailable", "Exists", effect="NoSchedule"))
    return tuple(added)


@dataclass(frozen=True)
class Decision:
    node: str
    runs: bool
    reason: str


def should_run_daemon(placement: Placement, node: Node) -> Decision:
    """Whether the DaemonSet controller places a daemon pod on ``node``, and why (or why not)."""
    for key, value in placement.node_selector.items():
        if node.labels.get(key) != value:
            return Decision(node.name, False, f"nodeSelector {key}={value} does not match")
    if placement.required_terms is not None and not any(t.matches(node) for t in placement.required_terms):
        return Decision(node.name, False, "no required node affinity term matches")
    tolerations = placement.tolerations + daemonset_tolerations(placement.host_network)
    for taint in node.taints:
        if taint.effect in _HARD_EFFECTS and not any(t.tolerates(taint) for t in tolerations):
            return Decision(node.name, False, f"taint {taint} is not tolerated")
    return Decision(node.name, True, "scheduled")


def schedule(placement: Placement, nodes: list[Node]) -> list[Decision]:
    return [should_run_daemon(placement, node) for node in nodes]
