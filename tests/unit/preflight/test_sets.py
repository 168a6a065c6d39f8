"""The set algebra under the evaluators: integer intervals, address literals, FQDN patterns."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aks_jumpbox.preflight import addresses as addr
from aks_jumpbox.preflight._intervals import Intervals
from aks_jumpbox.preflight.fqdn import FqdnSet, Pattern

# --- intervals ---------------------------------------------------------------------------------

spans = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), max_size=6)


def as_set(iv: Intervals) -> set[int]:
    return {x for lo, hi in iv.spans for x in range(lo, hi + 1)}


def from_spans(s: list[tuple[int, int]]) -> tuple[Intervals, set[int]]:
    return Intervals.of(s), {x for lo, hi in s for x in range(lo, hi + 1)}


@given(spans, spans)
def test_interval_operations_equal_set_operations(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> None:
    (ia, sa), (ib, sb) = from_spans(a), from_spans(b)
    assert as_set(ia) == sa
    assert as_set(ia | ib) == sa | sb
    assert as_set(ia & ib) == sa & sb
    assert as_set(ia - ib) == sa - sb
    assert ia.covers(ib) == (sb <= sa)
    assert ia.overlaps(ib) == bool(sa & sb)
    assert len(ia) == len(sa)
    # Canonical form: equal sets are equal values (the evaluators compare boxes with ==).
    assert Intervals.of((ia - ib).spans + (ia & ib).spans) == ia


# --- address literals and tags -----------------------------------------------------------------


def test_literals() -> None:
    assert addr.to_cidrs(addr.parse_literal("10.0.0.5/24")) == ["10.0.0.0/24"]  # type: ignore[arg-type]
    assert addr.to_cidrs(addr.parse_literal("10.0.0.1-10.0.0.6")) == [  # type: ignore[arg-type]
        "10.0.0.1/32",
        "10.0.0.2/31",
        "10.0.0.4/31",
        "10.0.0.6/32",
    ]
    assert addr.to_cidrs(addr.parse_literal("2001:db8::/126")) == ["2001:db8::/126"]  # type: ignore[arg-type]
    assert addr.parse_literal("Storage.WestEurope") is None
    with pytest.raises(ValueError, match="first must not exceed last"):
        addr.parse_literal("10.0.0.9-10.0.0.1")
    # IPv4 and IPv6 never collide in the shared integer space.
    assert not addr.parse_literal("0.0.0.0/0").overlaps(addr.parse_literal("::/0"))  # type: ignore[union-attr,arg-type]


def test_internet_excludes_private_shared_the_vnet_and_the_host_address() -> None:
    ctx = addr.NetworkContext(vnet_prefixes=("10.0.0.0/16", "20.1.0.0/16"))
    inet = ctx.internet
    for private in (
        "10.1.2.3",
        "172.20.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "127.0.0.1",
        "169.254.0.1",
        "20.1.2.3",
        "168.63.129.16",
        "224.0.0.1",
    ):
        assert not inet.overlaps(addr.prefixes([private])), private
    for public in ("20.2.0.1", "140.82.112.3", "8.8.8.8", "2606:4700::1111"):
        assert inet.covers(addr.prefixes([public])), public


def test_service_tags_from_the_published_json() -> None:
    doc = {
        "values": [
            {
                "name": "Storage.EastUS2",
                "id": "Storage.EastUS2",
                "properties": {"addressPrefixes": ["20.38.100.0/23", "2603:1030::/40"]},
            }
        ]
    }
    table = addr.service_tags_from_json(doc)
    assert table == {"Storage.EastUS2": ("20.38.100.0/23", "2603:1030::/40")}
    ctx = addr.NetworkContext(service_tags=table)
    assert ctx.service_tag("storage.eastus2") == addr.prefixes(table["Storage.EastUS2"])
    with pytest.raises(ValueError, match="'values'"):
        addr.service_tags_from_json({})


# --- FQDN patterns -----------------------------------------------------------------------------

labels = st.text(alphabet="abcz0-", min_size=1, max_size=5).filter(lambda s: not s.startswith("-"))
domains = st.lists(labels, min_size=1, max_size=3).map(".".join)


@given(domains, st.lists(labels, min_size=1, max_size=2).map(".".join))
def test_wildcard_fqdns_never_match_the_bare_domain_but_every_subdomain(domain: str, sub: str) -> None:
    p = Pattern.parse(f"*.{domain}")
    assert not p.matches(domain)
    assert not p.matches(domain.upper() + ".")
    assert p.matches(f"{sub}.{domain}")
    assert p.matches(f"{sub}.{domain}".upper())
    assert Pattern.parse("*").matches(domain)
    assert Pattern.parse(domain).matches(domain.upper() + ".")
    assert not Pattern.parse(domain).matches(f"{sub}.{domain}")


def test_pattern_examples_and_rejections() -> None:
    p = Pattern.parse("*.contoso.com")
    assert p.matches("sub.contoso.com") and p.matches("a.b.contoso.com")
    assert not p.matches("contoso.com") and not p.matches("evilcontoso.com")
    assert Pattern.parse("*contoso.com").matches("contoso.com")
    for bad in ("www.*.com", "a*.com", "", "*.a.*"):
        with pytest.raises(ValueError):
            Pattern.parse(bad)


patterns = st.one_of(
    st.just("*"),
    domains,
    domains.map(lambda d: f"*.{d}"),
)
names = st.lists(labels, min_size=1, max_size=4).map(".".join)


@settings(max_examples=300)
@given(
    patterns,
    st.lists(patterns, max_size=4),
    st.lists(patterns, max_size=3),
    st.lists(names, min_size=1, max_size=20),
)
def test_fqdn_set_split_is_exact(flow: str, first: list[str], second: list[str], probe: list[str]) -> None:
    """Split a flow's names by one rule, then the remainder by another: each name lands where a
    name-by-name check puts it."""
    base = FqdnSet.of(flow)
    p1 = [Pattern.parse(x) for x in first]
    p2 = [Pattern.parse(x) for x in second]
    in1, out1 = base.split(p1)
    in2, out2 = out1.split(p2) if out1 else (None, None)
    # Names drawn so that some fall under the patterns.
    samples = probe + [f"q.{x.lstrip('*.')}" for x in (flow, *first, *second) if x != "*"]
    for n in samples:
        in_flow = Pattern.parse(flow).matches(n)
        m1 = in_flow and any(p.matches(n) for p in p1)
        m2 = in_flow and not m1 and any(p.matches(n) for p in p2)
        rest = in_flow and not m1 and not m2
        assert (in1 is not None and in1.contains(n)) == m1, n
        assert (in2 is not None and in2.contains(n)) == m2, n
        assert (out2 is not None and out2.contains(n)) == rest, n
