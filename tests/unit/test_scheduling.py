"""DaemonSet placement, rule by rule. Each test names the Kubernetes rule it checks (see harness/k8s/scheduling.py)."""

from __future__ import annotations

import pytest

from harness.k8s.scheduling import Node, Placement, Requirement, Taint, Term, Toleration, schedule, should_run_daemon

CONTROL_PLANE = Taint("node-role.kubernetes.io/control-plane", "NoSchedule")
GPU = {"node-type": "gpu", "kubernetes.io/hostname": "w1", "cores": "16"}
NODES = [
    Node("cp", {"node-role.kubernetes.io/control-plane": ""}, (CONTROL_PLANE,)),
    Node("w1", GPU),
    Node("w2", {"node-type": "gpu", "cores": "8"}),
    Node("w3", {"cores": "four"}),
]


def placed(placement: Placement) -> list[str]:
    return [d.node for d in schedule(placement, NODES) if d.runs]


def test_no_constraints_run_everywhere_except_on_untolerated_taints() -> None:
    """assign-pod-node: without nodeSelector or affinity every node is eligible; the control-plane taint keeps
    daemons off unless tolerated."""
    assert placed(Placement()) == ["w1", "w2", "w3"]
    assert should_run_daemon(Placement(), NODES[0]).reason == (
        "taint node-role.kubernetes.io/control-plane:NoSchedule is not tolerated"
    )


def test_node_selector_needs_every_label_with_its_value() -> None:
    """assign-pod-node/#nodeselector: the node must have each of the specified labels."""
    assert placed(Placement({"node-type": "gpu"})) == ["w1", "w2"]
    assert placed(Placement({"node-type": "gpu", "cores": "8"})) == ["w2"]
    assert (
        should_run_daemon(Placement({"node-type": "cpu"}), NODES[1]).reason
        == "nodeSelector node-type=cpu does not match"
    )


@pytest.mark.parametrize(
    ("requirement", "expected"),
    [
        (Requirement("node-type", "In", ("gpu", "tpu")), ["w1", "w2"]),
        (Requirement("node-type", "NotIn", ("gpu",)), ["w3"]),  # NotIn matches a node without the label
        (Requirement("node-type", "Exists"), ["w1", "w2"]),
        (Requirement("node-type", "DoesNotExist"), ["w3"]),
        (Requirement("cores", "Gt", ("8",)), ["w1"]),  # integers; "four" is not one and does not match
        (Requirement("cores", "Lt", ("16",)), ["w2"]),
        (Requirement("cores", "Gt", ("x",)), []),  # a bound that is not an integer matches nothing
    ],
)
def test_affinity_operators(requirement: Requirement, expected: list[str]) -> None:
    """assign-pod-node/#operators: In, NotIn, Exists, DoesNotExist, Gt, Lt."""
    assert placed(Placement(required_terms=(Term((requirement,)),))) == expected


def test_expressions_of_one_term_are_anded() -> None:
    """assign-pod-node/#node-affinity: all expressions of a matchExpressions must be satisfied."""
    term = Term((Requirement("node-type", "In", ("gpu",)), Requirement("cores", "Gt", ("10",))))
    assert placed(Placement(required_terms=(term,))) == ["w1"]


def test_terms_are_ored() -> None:
    """assign-pod-node/#node-affinity: the pod fits a node if one of the nodeSelectorTerms is satisfied."""
    terms = (Term((Requirement("cores", "Lt", ("10",)),)), Term((Requirement("cores", "In", ("four",)),)))
    assert placed(Placement(required_terms=terms)) == ["w2", "w3"]


def test_an_empty_term_matches_no_node_and_match_fields_see_the_name() -> None:
    """NodeSelectorTerm API: a null or empty term matches no objects; matchFields select by metadata.name."""
    assert placed(Placement(required_terms=(Term(),))) == []
    by_name = Term(fields=(Requirement("metadata.name", "In", ("w3",)),))
    assert placed(Placement(required_terms=(by_name,))) == ["w3"]


def test_node_selector_and_affinity_must_both_hold() -> None:
    """assign-pod-node: with both nodeSelector and nodeAffinity, both must be satisfied."""
    placement = Placement({"node-type": "gpu"}, (Term((Requirement("cores", "Lt", ("10",)),)),))
    assert placed(placement) == ["w2"]


@pytest.mark.parametrize(
    ("toleration", "tolerated"),
    [
        (Toleration("node-role.kubernetes.io/control-plane", "Exists", effect="NoSchedule"), True),
        (Toleration("node-role.kubernetes.io/control-plane", "Exists"), True),  # empty effect: every effect
        (Toleration("node-role.kubernetes.io/control-plane", "Equal", ""), True),  # the taint has no value
        (Toleration("node-role.kubernetes.io/control-plane", "Equal", "yes"), False),
        (Toleration("node-role.kubernetes.io/control-plane", "Exists", effect="NoExecute"), False),
        (Toleration(operator="Exists"), True),  # empty key with Exists tolerates everything
        (Toleration("node-role.kubernetes.io/master", "Exists"), False),
    ],
)
def test_tolerations(toleration: Toleration, tolerated: bool) -> None:
    """taint-and-toleration/#concepts: key, operator (Equal/Exists), value and effect must match."""
    assert should_run_daemon(Placement(tolerations=(toleration,)), NODES[0]).runs is tolerated


def test_equal_compares_values() -> None:
    """taint-and-toleration/#concepts: with Equal the values must be equal."""
    node = Node("d", taints=(Taint("dedicated", "NoExecute", "infra"),))
    assert should_run_daemon(Placement(tolerations=(Toleration("dedicated", "Equal", "infra"),)), node).runs
    assert not should_run_daemon(Placement(tolerations=(Toleration("dedicated", "Equal", "db"),)), node).runs


def test_prefer_no_schedule_keeps_no_daemon_away() -> None:
    """taint-and-toleration: PreferNoSchedule is a soft preference; the DaemonSet controller checks the hard effects."""
    node = Node("soft", taints=(Taint("spot", "PreferNoSchedule"),))
    assert should_run_daemon(Placement(), node).runs


def test_the_daemonset_controller_adds_its_own_tolerations() -> None:
    """daemonset/#taints-and-tolerations: not-ready and unreachable (NoExecute), disk/memory/pid-pressure and
    unschedulable (NoSchedule) are tolerated; network-unavailable only for hostNetwork pods."""
    cordoned = Node("c", taints=(Taint("node.kubernetes.io/unschedulable", "NoSchedule"),))
    not_ready = Node("n", taints=(Taint("node.kubernetes.io/not-ready", "NoExecute"),))
    no_network = Node("x", taints=(Taint("node.kubernetes.io/network-unavailable", "NoSchedule"),))
    assert should_run_daemon(Placement(), cordoned).runs
    assert should_run_daemon(Placement(), not_ready).runs
    assert not should_run_daemon(Placement(), no_network).runs
    assert should_run_daemon(Placement(host_network=True), no_network).runs


def test_the_rules_describe_themselves_for_a_reader_comparing_them_with_labels() -> None:
    terms = (
        Term((Requirement("node-type", "In", ("gpu", "tpu")), Requirement("zone", "Exists"))),
        Term((Requirement("cores", "Gt", ("8",)),)),
    )
    placement = Placement(node_selector={"b": "2", "a": "1"}, required_terms=terms)
    assert placement.describe() == (
        "nodeSelector a=1, b=2; required node affinity (node-type In (gpu, tpu) and zone Exists) or (cores Gt 8)"
    )
    assert Placement().describe() == "no nodeSelector or required node affinity"
