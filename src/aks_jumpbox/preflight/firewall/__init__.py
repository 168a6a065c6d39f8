"""Azure Firewall Policy evaluation for the build's egress.

Processing order, as Azure Firewall applies it to outbound traffic
(https://learn.microsoft.com/azure/firewall/rule-processing):

1. network rules, then application rules: *every* network rule of every group is tried before the
   first application rule;
2. within each kind, a parent policy's (``basePolicy``) rules come before the policy's own;
3. within a policy, rule collection groups by priority, and collections by priority within a group;
4. the first matching rule decides (a collection's rules share its action); nothing matching means deny.

DNAT collections only translate inbound traffic to the firewall's public addresses, so they play no
part in egress and are skipped.

Application rules match HTTP/HTTPS/MSSQL traffic by name (TLS SNI / Host header) and
protocol:port; ``targetFqdns`` follow :mod:`aks_jumpbox.preflight.fqdn`. FQDN tags and web categories
are lists Microsoft maintains and does not publish in a machine-readable form: they count as
*unknown* unless the caller supplies a table (``FirewallContext.fqdn_tags``). IP groups resolve through
``FirewallContext.ip_groups``. A name is assumed to resolve to public addresses unless the flow lists
the addresses it resolves to.

The stages, one module each: :mod:`.discovery` gathers a policy's documents and walks its parent chain
(once), :mod:`.compiler` turns them into rules in processing order, :mod:`.index` skips the rules a
flow cannot meet, :mod:`.evaluation` decides a flow, :mod:`.explain` words the decision as evidence.
"""

from __future__ import annotations

# ``x as x`` re-exports a name the module had before it became a package; ``_flow_box``, ``_match``
# and ``_access`` let the property tests compare the indexed evaluation with a scan of every rule.
from aks_jumpbox.preflight._firstmatch import POOLED_NOTE as POOLED_NOTE
from aks_jumpbox.preflight._firstmatch import Verdict
from aks_jumpbox.preflight._intervals import ALL_PORTS as ALL_PORTS
from aks_jumpbox.preflight._intervals import parse_ports as parse_ports
from aks_jumpbox.preflight.firewall.compiler import KNOWN_FQDN_TAGS, compile_policy
from aks_jumpbox.preflight.firewall.discovery import (
    FirewallPolicyDocs,
    ip_groups_from_resources,
    policy_docs_from_resources,
    read_policy_docs,
)
from aks_jumpbox.preflight.firewall.evaluation import FirewallResult, evaluate, evaluate_policy, wildcard_notes
from aks_jumpbox.preflight.firewall.evaluation import flow_box as _flow_box  # noqa: F401
from aks_jumpbox.preflight.firewall.evaluation import match as _match  # noqa: F401
from aks_jumpbox.preflight.firewall.explain import FirewallDecision as FirewallDecision
from aks_jumpbox.preflight.firewall.index import CompiledPolicy
from aks_jumpbox.preflight.firewall.model import APP_PROTOCOLS as APP_PROTOCOLS
from aks_jumpbox.preflight.firewall.model import IP_PROTOCOLS as IP_PROTOCOLS
from aks_jumpbox.preflight.firewall.model import FirewallContext, FirewallFlow, FirewallRuleRef
from aks_jumpbox.preflight.firewall.model import NamedDest as NamedDest
from aks_jumpbox.preflight.firewall.model import access as _access  # noqa: F401

__all__ = [
    "KNOWN_FQDN_TAGS",
    "CompiledPolicy",
    "FirewallContext",
    "FirewallFlow",
    "FirewallPolicyDocs",
    "FirewallResult",
    "FirewallRuleRef",
    "Verdict",
    "compile_policy",
    "evaluate",
    "evaluate_policy",
    "ip_groups_from_resources",
    "policy_docs_from_resources",
    "read_policy_docs",
    "wildcard_notes",
]
