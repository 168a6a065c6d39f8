"""Network security group evaluation with Azure's semantics.

Rules of the flow's direction are processed by priority (lower number first) and the first rule that
matches decides. Azure's six default rules close every NSG; when an ARM document leaves them out
(``defaultSecurityRules`` missing), they are added as Azure applies them. Matching:

* protocol: ``*`` matches every protocol, otherwise names must be equal (a Tcp rule never matches Udp);
* addresses: ``*``, IP / CIDR / ``first-last`` ranges, service tags (VirtualNetwork, AzureLoadBalancer,
  Internet exactly; others through an optional table), application security groups through an optional
  member table. A rule covering only part of a flow's prefix decides only that part, and the result
  says so (``partial``);
* ports: ``*``, single ports, ``a-b`` ranges and lists of them.

Whatever cannot be resolved (an ASG without members, an unknown service tag) makes the verdict
``unknown`` only when it could change the outcome.

The stages, one module each: :mod:`.parse` reads the ARM document, :mod:`.compiler` resolves a rule's
addresses, ports and protocols into sets, :mod:`.evaluation` decides a flow, :mod:`.explain` words
the decision as evidence.
"""

from __future__ import annotations

# ``x as x`` re-exports a name the module had before it became a package; ``_flow_box`` and
# ``_match`` let the property tests compare the prefiltered evaluation with a scan of every rule.
from aks_jumpbox.preflight._firstmatch import POOLED_NOTE as POOLED_NOTE
from aks_jumpbox.preflight._firstmatch import Verdict
from aks_jumpbox.preflight._intervals import ALL_PORTS as ALL_PORTS
from aks_jumpbox.preflight._intervals import parse_ports as parse_ports
from aks_jumpbox.preflight.addresses import NetworkContext
from aks_jumpbox.preflight.nsg.compiler import ALL_PROTOCOLS as ALL_PROTOCOLS
from aks_jumpbox.preflight.nsg.compiler import CompiledNsg, compile_nsg
from aks_jumpbox.preflight.nsg.evaluation import NsgFlow, NsgResult, combine, evaluate, evaluate_nsg
from aks_jumpbox.preflight.nsg.evaluation import flow_box as _flow_box  # noqa: F401
from aks_jumpbox.preflight.nsg.evaluation import match as _match  # noqa: F401
from aks_jumpbox.preflight.nsg.explain import NsgDecision as NsgDecision
from aks_jumpbox.preflight.nsg.explain import nic_nsg_note
from aks_jumpbox.preflight.nsg.parse import DEFAULT_RULES, Nsg, NsgRuleRef, SecurityRule, parse_nsg
from aks_jumpbox.preflight.nsg.parse import DIRECTIONS as DIRECTIONS
from aks_jumpbox.preflight.nsg.parse import PROTOCOLS as PROTOCOLS
from aks_jumpbox.preflight.nsg.parse import default_rules as default_rules

__all__ = [
    "DEFAULT_RULES",
    "CompiledNsg",
    "NetworkContext",
    "Nsg",
    "NsgFlow",
    "NsgResult",
    "NsgRuleRef",
    "SecurityRule",
    "Verdict",
    "combine",
    "compile_nsg",
    "evaluate",
    "evaluate_nsg",
    "nic_nsg_note",
    "parse_nsg",
]
