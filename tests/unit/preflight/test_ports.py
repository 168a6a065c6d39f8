"""Ports, written once for both evaluators: NSG rules, firewall rules and flows parse them alike."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aks_jumpbox.preflight import firewall, nsg
from aks_jumpbox.preflight._intervals import (
    ALL_PORTS,
    Intervals,
    exact_split,
    parse_port_arg,
    parse_ports,
    spans_text,
)


@pytest.mark.parametrize(
    ("items", "spans"),
    [
        (["*"], ((0, 65535),)),
        (["Any"], ((0, 65535),)),
        (["443"], ((443, 443),)),
        ([" 60000-60001 "], ((60000, 60001),)),
        (["80", "443", "81-90"], ((80, 90), (443, 443))),
        (["443", "*"], ((0, 65535),)),
    ],
)
def test_port_lists_as_sets(items: list[str], spans: tuple[tuple[int, int], ...]) -> None:
    assert parse_ports(items).spans == spans


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("https", "'https' is not a port, a port range a-b, or *"),
        ("1-x", "'1-x' is not a port, a port range a-b, or *"),
        ("90-80", "'90-80' is not a port range within 0-65535"),
        ("65536", "'65536' is not a port range within 0-65535"),
    ],
)
def test_a_bad_port_is_named(item: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("*", r"\*") + "$"):
        parse_ports([item])


def test_a_flows_port_is_an_int_a_range_or_a_comma_list() -> None:
    assert parse_port_arg(443) == Intervals.span(443, 443)
    assert parse_port_arg("80,8000-8080") == Intervals.of([(80, 80), (8000, 8080)])
    assert parse_port_arg("*") == ALL_PORTS


port_sets = st.lists(st.tuples(st.integers(0, 65535), st.integers(0, 200)), min_size=1, max_size=5).map(
    lambda s: Intervals.of((lo, min(lo + n, 65535)) for lo, n in s)
)


@given(port_sets)
def test_the_text_of_a_port_set_reads_back_as_the_same_set(ports: Intervals) -> None:
    assert parse_ports(spans_text(ports).split(",")) == ports


@given(port_sets, port_sets)
def test_an_exact_split_has_no_unknown_part(rule: Intervals, flow: Intervals) -> None:
    inside, unknown, outside = exact_split(rule, flow)
    assert unknown is None
    assert (inside or Intervals()) == flow & rule and (outside or Intervals()) == flow - rule


def test_both_evaluators_use_the_one_port_parser() -> None:
    assert nsg.parse_ports is parse_ports and firewall.parse_ports is parse_ports
    assert nsg.ALL_PORTS is ALL_PORTS and firewall.ALL_PORTS is ALL_PORTS
