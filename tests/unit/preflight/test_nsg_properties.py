"""Property tests of NSG evaluation against a point-by-point reference model.

The universe is small on purpose (8 addresses, ports 0-7, two protocols) so that every packet a flow
stands for can be enumerated and decided by a first-match loop written independently of the
evaluator (plain ``ipaddress`` membership and integer comparisons). The evaluator works on whole
regions; the reference on single packets; they must agree on the verdict, on partiality, and on which
rules decide.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from aks_jumpbox.preflight.nsg import DEFAULT_RULES, NetworkContext, NsgFlow, Verdict, compile_nsg, evaluate
from tests.unit.preflight.builders import nsg, nsg_rule

VNET_PREFIX = "10.0.0.0/30"  # half the universe is VirtualNetwork, half is not
CTX = NetworkContext(vnet_prefixes=(VNET_PREFIX,))
BASE = int(ipaddress.IPv4Address("10.0.0.0"))
ADDRS = [str(ipaddress.IPv4Address(BASE + i)) for i in range(8)]
PROTOS = ("Tcp", "Udp")


@dataclass(frozen=True)
class R:
    name: str
    priority: int
    access: str
    protocol: str
    src: tuple[str, ...]
    dst: tuple[str, ...]
    dports: tuple[str, ...]
    sports: tuple[str, ...] = ("*",)

    def doc(self) -> dict[str, Any]:
        def one(v: tuple[str, ...]) -> str | list[str]:
            return v[0] if len(v) == 1 else list(v)

        return nsg_rule(
            self.name,
            self.priority,
            self.access,
            protocol=self.protocol,
            src=one(self.src),
            dst=one(self.dst),
            dports=one(self.dports),
            sports=one(self.sports),
        )


# --- reference model ---------------------------------------------------------------------------


def _addr_match(item: str, ip: str) -> bool:
    a = ipaddress.IPv4Address(ip)
    if item == "*":
        return True
    if item == "VirtualNetwork":
        return a in ipaddress.ip_network(VNET_PREFIX)
    if item in ("AzureLoadBalancer", "Internet"):
        return False  # the universe is private and never the host address
    if "-" in item:
        lo, hi = item.split("-")
        return ipaddress.IPv4Address(lo) <= a <= ipaddress.IPv4Address(hi)
    return a in ipaddress.ip_network(item, strict=False)


def _port_match(item: str, port: int) -> bool:
    if item == "*":
        return True
    lo, _, hi = item.partition("-")
    return int(lo) <= port <= int(hi or lo)


def _reference(rules: list[R], proto: str, src: str, sport: int, dst: str, dport: int) -> R:
    defaults = [R(n, p, a, "*", (s,), (t,), ("*",)) for n, p, d, a, s, t in DEFAULT_RULES if d == "Inbound"]
    for r in sorted(rules + defaults, key=lambda r: (r.priority, r.name)):
        if r.protocol not in ("*", proto):
            continue
        if not any(_addr_match(i, src) for i in r.src) or not any(_addr_match(i, dst) for i in r.dst):
            continue
        if not any(_port_match(i, dport) for i in r.dports) or not any(_port_match(i, sport) for i in r.sports):
            continue
        return r
    raise AssertionError("DenyAllInBound always matches")


@dataclass(frozen=True)
class F:
    proto: str
    src: str  # prefix or range in the universe
    dst: str
    dports: tuple[int, int]
    sports: tuple[int, int]

    def flow(self) -> NsgFlow:
        def ports(p: tuple[int, int]) -> str:
            return f"{p[0]}-{p[1]}"

        return NsgFlow("Inbound", self.proto, self.src, self.dst, ports(self.dports), ports(self.sports))

    def points(self) -> list[tuple[str, str, int, str, int]]:
        out = []
        for s in ADDRS:
            if not _addr_match(self.src, s):
                continue
            for d in ADDRS:
                if not _addr_match(self.dst, d):
                    continue
                for dp in range(self.dports[0], self.dports[1] + 1):
                    for sp in range(self.sports[0], self.sports[1] + 1):
                        out.append((self.proto, s, sp, d, dp))
        return out


# --- strategies --------------------------------------------------------------------------------


@st.composite
def prefixes(draw: st.DrawFn) -> str:
    length = draw(st.integers(29, 32))
    size = 1 << (32 - length)
    start = draw(st.integers(0, 8 // size - 1)) * size
    return f"{ADDRS[start]}/{length}"


@st.composite
def ranges(draw: st.DrawFn) -> str:
    a, b = sorted(draw(st.lists(st.integers(0, 7), min_size=2, max_size=2)))
    return f"{ADDRS[a]}-{ADDRS[b]}"


addr_items = st.one_of(st.just("*"), st.just("VirtualNetwork"), st.just("Internet"), prefixes(), ranges())


@st.composite
def port_items(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return "*" if draw(st.integers(0, 3)) == 0 else str(draw(st.integers(0, 7)))
    a, b = sorted(draw(st.lists(st.integers(0, 7), min_size=2, max_size=2)))
    return f"{a}-{b}"


def _items(s: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(s, min_size=1, max_size=3).map(tuple)


@st.composite
def rule_sets(draw: st.DrawFn, min_priority: int = 100, max_priority: int = 4096, max_size: int = 8) -> list[R]:
    prios = draw(st.lists(st.integers(min_priority, max_priority), unique=True, max_size=max_size))
    out = []
    for i, p in enumerate(prios):
        sports = draw(st.one_of(st.just(("*",)), _items(port_items())))
        out.append(
            R(
                f"r{i}",
                p,
                draw(st.sampled_from(["Allow", "Deny"])),
                draw(st.sampled_from(["*", "Tcp", "Udp"])),
                draw(_items(addr_items)),
                draw(_items(addr_items)),
                draw(_items(port_items())),
                sports,
            )
        )
    return out


@st.composite
def flows(draw: st.DrawFn) -> F:
    def port_range() -> tuple[int, int]:
        a, b = sorted(draw(st.lists(st.integers(0, 7), min_size=2, max_size=2)))
        return a, b

    src = draw(st.one_of(prefixes(), ranges()))
    dst = draw(st.one_of(prefixes(), ranges()))
    return F(draw(st.sampled_from(PROTOS)), src, dst, port_range(), draw(st.sampled_from([(0, 0), (0, 7), (3, 4)])))


def _evaluate(rules: list[R], flow: F):  # type: ignore[no-untyped-def]
    return evaluate(compile_nsg(nsg("nsg-p", *(r.doc() for r in rules)), CTX), flow.flow())


# --- properties --------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(rule_sets(), flows())
def test_region_evaluation_equals_packet_by_packet_first_match(rules: list[R], flow: F) -> None:
    result = _evaluate(rules, flow)
    deciders = [_reference(rules, *pt) for pt in flow.points()]
    denied = [r for r in deciders if r.access == "Deny"]
    expected = Verdict.DENY if denied else Verdict.ALLOW
    assert result.verdict is expected
    assert result.partial == (bool(denied) and len(denied) < len(deciders))
    assert {d.rule.name for d in result.decisions} == {r.name for r in deciders}
    if denied:
        first_deny = min(denied, key=lambda r: (r.priority, r.name))
        assert result.rule is not None and result.rule.name == first_deny.name


@settings(max_examples=200, deadline=None)
@given(rule_sets(max_size=6), flows(), st.data())
def test_adding_a_lower_priority_rule_never_changes_a_decided_verdict(
    rules: list[R], flow: F, data: st.DataObject
) -> None:
    before = _evaluate(rules, flow)
    top = max(d.rule.priority for d in before.decisions)
    if any(d.rule.default for d in before.decisions):
        return  # decided by Azure's defaults: any user rule has a higher priority than they do
    taken = {r.priority for r in rules}
    extra_prio = data.draw(st.integers(top + 1, 4096).filter(lambda p: p not in taken)) if top < 4096 else None
    if extra_prio is None:
        return
    extra = data.draw(rule_sets(min_priority=extra_prio, max_priority=extra_prio, max_size=1))
    extra = [replace(r, name="zz-extra") for r in extra]
    after = _evaluate(rules + extra, flow)
    assert (after.verdict, after.partial, after.evidence) == (before.verdict, before.partial, before.evidence)


@settings(max_examples=200, deadline=None)
@given(rule_sets(min_priority=101, max_size=6), flows(), st.integers(100, 4096))
def test_an_allow_all_allows_everything_not_denied_before_it(rules: list[R], flow: F, at: int) -> None:
    rules = [r for r in rules if r.priority != at]
    allow_all = R("allow-all", at, "Allow", "*", ("*",), ("*",), ("*",))
    result = _evaluate(rules + [allow_all], flow)
    before = [r for r in rules if r.priority < at]
    denied_before = any((d := _reference(before, *pt)).access == "Deny" and d.priority < at for pt in flow.points())
    assert result.verdict is (Verdict.DENY if denied_before else Verdict.ALLOW)
    if at == 100:
        assert result.verdict is Verdict.ALLOW and result.rule is not None and result.rule.name == "allow-all"


@settings(max_examples=200, deadline=None)
@given(
    rule_sets(max_priority=999, max_size=3),
    rule_sets(min_priority=2000, max_size=3),
    _items(port_items()),
    st.sampled_from(["Allow", "Deny"]),
    _items(addr_items),
    flows(),
)
def test_a_port_list_rule_equals_the_union_of_single_port_rules(
    before: list[R], after: list[R], ports: tuple[str, ...], access: str, src: tuple[str, ...], flow: F
) -> None:
    after = [replace(r, name="z" + r.name) for r in after]
    listed = [R("listed", 1000, access, "*", src, ("*",), ports)]
    singles = [R(f"single{i}", 1000 + i, access, "*", src, ("*",), (p,)) for i, p in enumerate(ports)]
    a = _evaluate(before + listed + after, flow)
    b = _evaluate(before + singles + after, flow)
    assert (a.verdict, a.partial) == (b.verdict, b.partial)


@settings(max_examples=150, deadline=None)
@given(rule_sets(), flows())
def test_the_protocol_and_port_prefilter_drops_only_rules_that_cannot_match(rules: list[R], flow: F) -> None:
    from aks_jumpbox.preflight import nsg as nsg_mod
    from aks_jumpbox.preflight._firstmatch import first_match

    c = compile_nsg(nsg("nsg-p", *(r.doc() for r in rules)), CTX)
    box = nsg_mod._flow_box(flow.flow(), CTX)
    full, _ = first_match(c.inbound, box, nsg_mod._match)
    short, _ = first_match(c.candidates("Inbound", box), box, nsg_mod._match)
    assert full == short


@settings(max_examples=150, deadline=None)
@given(
    rule_sets(max_size=6),
    st.lists(st.tuples(st.integers(100, 4096), st.sampled_from(["Allow", "Deny"])), max_size=3),
    flows(),
)
def test_pooling_doubts_can_only_weaken_a_verdict_to_unknown(
    rules: list[R], asg_rules: list[tuple[int, str]], flow: F
) -> None:
    """With pooling forced on every step, the verdict is the exact one or UNKNOWN, never the opposite."""
    from unittest.mock import patch

    from aks_jumpbox.preflight import _firstmatch
    from tests.unit.preflight.builders import asg_id

    taken = {r.priority for r in rules}
    docs = [r.doc() for r in rules]
    docs += [
        nsg_rule(f"asg{i}", p, a, src_asgs=[asg_id(f"asg{i}")]) for i, (p, a) in enumerate(asg_rules) if p not in taken
    ]
    compiled = compile_nsg(nsg("nsg-p", *docs), CTX)
    exact = evaluate(compiled, flow.flow())
    with patch.object(_firstmatch, "MAX_PIECES", 1):
        pooled = evaluate(compile_nsg(nsg("nsg-p", *docs), CTX), flow.flow())
    assert pooled.verdict in (exact.verdict, Verdict.UNKNOWN)
    if pooled.verdict is not exact.verdict:
        assert "doubts were pooled" in pooled.evidence
