"""`snapshot --print-commands`: the `az` commands that fetch exactly the documents `check --snapshot` reads.

For a network team that will not run this tool: a POSIX shell script with the user's IDs filled in. What
the plan alone names (providers, resource groups, the VNet, the planned resources, the caller's permissions,
the base image's versions) is one command each, written to the file `snapshot` itself would write
(``document_file``); what only Azure knows (a subnet's NSG and route table, the firewalls and their
policies, the identity's role assignments) is looked up by the script and written under a name the
loader reads (``DOCUMENT_GLOB``). A document that does not exist becomes ARM's 404 error document, which
the loader reads as "absent"; any other failure leaves no file, and `check` skips what it could not read.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from aks_jumpbox.core.plan import Plan
from aks_jumpbox.core.spec import azure_facts
from aks_jumpbox.preflight.checks import first_questions
from aks_jumpbox.preflight.context import split_id
from aks_jumpbox.preflight.snapshot import document_file
from aks_jumpbox.preflight.source import (
    firewalls_path,
    image_versions_path,
    permissions_path,
    provider_path,
    role_assignments_path,
    type_from_id,
)

# `az` commands by resource type, where the Azure CLI has one (the output is the REST document, properties
# flattened, which the loader reads); anything else is read with `az rest` at the api-version live checks use.
# Role assignments are read with `az rest` on both paths (by ID and listed), so the two copies are identical.
_TYPED = {
    "microsoft.network/virtualnetworks": ("network", "vnet", "show"),
    "microsoft.managedidentity/userassignedidentities": ("identity", "show"),
}

_PRELUDE = """\
#!/bin/sh
# The Azure documents `aks-jumpbox check --snapshot DIR` reads for {spec}, fetched with the Azure CLI.
# Run it in an empty folder, signed in (`az login`) with read access (Reader) to the build's subscription
# and the hub network; the firewall policy commands need `az extension add --name azure-firewall`.
#   mkdir snapshot && cd snapshot && sh ../fetch-snapshot.sh
# Then send the folder back: `aks-jumpbox check --snapshot snapshot` reads it offline.
set -u
set -f  # IDs read at run time are words, never file-name patterns

# get FILE ID AZ-COMMAND...: the document as JSON; ARM's 404 document when ID does not exist; else no file
# (az's error is shown, and `check` skips what it could not read, with the reason).
get() {{
  file=$1; id=$2; shift 2
  if "$@" --output json > "$file.part" 2> "$file.err"; then
    mv "$file.part" "$file"
  elif grep -qi 'not *found' "$file.err"; then
    jid=$(printf '%s' "$id" | sed 's/[\\\\"]/\\\\&/g')  # a JSON string: \\ and " escaped
    printf '{{"id": "%s", "status": 404, "error": {{"code": "NotFound", "message": "%s does not exist"}}}}\\n' \\
      "$jid" "$jid" > "$file"
  else
    echo "not written: $file (reading $id)" >&2; cat "$file.err" >&2
  fi
  rm -f "$file.part" "$file.err"
}}

# name ID: a file name for a document found at run time (the loader reads any {glob} file).
name() {{
  printf '%s' "$1" | tr -c 'A-Za-z0-9._\\n-' '-' | tail -c 120 | sed 's/^-*//'
}}
"""


@dataclass(frozen=True)
class Fetch:
    """One document the plan names: what it is, the REST path check asks for, the command and its file."""

    what: str
    path: str
    argv: tuple[str, ...]
    file: str

    def line(self) -> str:
        return " ".join(["get", _q(self.file), _q(self.path), *map(_q, self.argv)])


def _comment(text: str) -> str:
    """text for a `#` comment line: a newline (or any unprintable character) in a file name or a name would
    end the comment and start a command, so each is written as its escape (\\n)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _q(arg: str) -> str:
    """Shell-quoted, a JMESPath with 'literals' in double quotes (ARM IDs hold no $, `, \\ or ")."""
    if "'" in arg and not any(c in arg for c in '$`\\"'):
        return f'"{arg}"'
    return shlex.quote(arg)


_KINDS = {
    "microsoft.resources/resourcegroups": "resource group",
    "microsoft.network/virtualnetworks": "virtual network (with its subnets)",
    "microsoft.authorization/roledefinitions": "role definition",
    "microsoft.authorization/roleassignments": "role assignment",
    "microsoft.managedidentity/userassignedidentities": "managed identity",
    "microsoft.virtualmachineimages/imagetemplates": "image template",
    "microsoft.compute/galleries": "gallery",
    "microsoft.compute/galleries/images": "gallery image definition",
}


def _api(rtype: str) -> str:
    versions = {k.lower(): v for k, v in azure_facts()["preflight_api_versions"].items()}
    return versions[rtype]


def _rest(path: str, rtype: str, envelope: str | None = None) -> tuple[str, ...]:
    """`az rest` GET of path; with envelope (a JMESPath of the list), wrapped as {"id": path, "value": [...]}."""
    argv = ("az", "rest", "--method", "get", "--url", f"{path}?api-version={_api(rtype)}")
    return (*argv, "--query", f"{{id: '{path}', value: {envelope}}}") if envelope else argv


def _resource(rid: str) -> Fetch:
    rtype = type_from_id(rid)
    sub, _, name = split_id(rid)
    if rtype == "microsoft.resources/resourcegroups":
        argv: tuple[str, ...] = ("az", "group", "show", "--name", name, "--subscription", sub)
    elif rtype in _TYPED:
        argv = ("az", *_TYPED[rtype], "--ids", rid)
    else:
        argv = _rest(rid, rtype)
    return Fetch(_KINDS.get(rtype, rtype.rsplit("/", 1)[-1]) + f" {name}", rid, argv, document_file(rid))


def static_fetches(plan: Plan) -> list[Fetch]:
    """One command per document the plan names (check's first questions, and the staging group)."""
    out: list[Fetch] = []
    questions = list(first_questions(plan, azure_facts()))
    staging = plan.spec.build.staging_resource_group
    if staging:
        questions.append(("resource", (f"/subscriptions/{plan.subscription}/resourceGroups/{staging}",)))
    for kind, args in questions:
        if kind == "provider":
            sub, ns = args
            path = provider_path(sub, ns)
            show = ("az", "provider", "show", "--namespace", ns, "--subscription", sub)
            out.append(Fetch(f"provider {ns}", path, show, document_file(path)))
        elif kind == "resource":
            out.append(_resource(args[0]))
        elif kind == "permissions":
            path = permissions_path(args[0])
            argv = _rest(path, "microsoft.authorization/permissions", "value")
            out.append(Fetch(f"your permissions at {args[0]}", path, argv, document_file(path, listing=kind)))
        elif kind == "image_versions":
            path = image_versions_path(*args)
            rtype = "microsoft.compute/locations/publishers/artifacttypes/offers/skus/versions"
            out.append(Fetch("base image versions", path, _rest(path, rtype, "@"), document_file(path, listing=kind)))
    return list({f.file: f for f in out}.values())


def _subnet_lookups(subnet_ids: list[str]) -> list[str]:
    lines = []
    for sid in subnet_ids:
        q = shlex.quote(sid)
        lines += [
            f"# the NSG and route table of subnet {_comment(sid.rsplit('/', 1)[-1])}",
            f"nsg=$(az network vnet subnet show --ids {q} --query networkSecurityGroup.id --output tsv)",
            '[ -z "$nsg" ] || get "$(name "$nsg").json" "$nsg" az network nsg show --ids "$nsg"',
            f"rt=$(az network vnet subnet show --ids {q} --query routeTable.id --output tsv)",
            '[ -z "$rt" ] || get "$(name "$rt").json" "$rt" az network route-table show --ids "$rt"',
        ]
    return lines


def _firewall_lookups(sub: str) -> list[str]:
    path = firewalls_path(sub)
    file = document_file(path, listing="firewalls")
    listing = Fetch("Azure Firewalls", path, _rest(path, "microsoft.network/azurefirewalls", "value"), file)
    return [
        "# the Azure Firewalls (a hub in another subscription: run these lines again with its subscription ID),",
        "# their policies with rule collection groups, parent policies and the IP groups the rules name",
        listing.line(),
        "policy() {",
        '  get "$(name "$1").json" "$1" az network firewall policy show --ids "$1"',
        '  for g in $(az network firewall policy show --ids "$1" --query "ruleCollectionGroups[].id" --output tsv); do',
        '    get "$(name "$g").json" "$g" az network firewall policy rule-collection-group show --ids "$g"',
        "    for k in sourceIpGroups destinationIpGroups; do",
        '      for ip in $(az network firewall policy rule-collection-group show --ids "$g" '
        '--query "ruleCollections[].rules[].${k}[]" --output tsv); do',
        '        get "$(name "$ip").json" "$ip" az network ip-group show --ids "$ip"',
        "      done",
        "    done",
        "  done",
        '  base=$(az network firewall policy show --ids "$1" --query basePolicy.id --output tsv)',
        '  [ -z "$base" ] || policy "$base"',
        "}",
        f"for p in $(az rest --method get --url {_q(listing.argv[5])}"
        ' --query "value[].properties.firewallPolicy.id" --output tsv); do',
        '  policy "$p"',
        "done",
    ]


def _identity_lookups(plan: Plan) -> list[str]:
    identity = plan.resource("identity")
    path = role_assignments_path(plan.subscription)
    query = f"{{id: '{path}', value: value}}"
    # As the live check reads them (and in the REST shape of the planned assignments read by ID above):
    # `az role assignment list --all --assignee-object-id "$pid"` lists the same, in another shape.
    api = _api("microsoft.authorization/roleassignments")
    url = f'"{path}?api-version={api}&\\$filter=principalId%20eq%20%27$pid%27"'
    rd_api = _api("microsoft.authorization/roledefinitions")
    return [
        f"# the role assignments of the build identity {_comment(identity.name)}, and the roles they grant",
        f"pid=$(az identity show --ids {shlex.quote(identity.id)} --query principalId --output tsv)",
        'if [ -n "$pid" ]; then',
        f"  get {_q(document_file(path, listing='role_assignments'))} {_q(path)} "
        f"az rest --method get --url {url} --query {_q(query)}",
        f'  for rd in $(az rest --method get --url {url} --query "value[].properties.roleDefinitionId" '
        "--output tsv | sort -u); do",
        f'    get "$(name "$rd").json" "$rd" az rest --method get --url "$rd?api-version={rd_api}"',
        "  done",
        "fi",
    ]


def fetch_script(plan: Plan, spec_label: str) -> str:
    """The whole script: the static fetches, then the lookups only Azure can answer."""
    lines = [_PRELUDE.format(spec=_comment(spec_label), glob="*.json")]
    lines.append("# what the plan names")
    lines += [f"# {_comment(f.what)}\n{f.line()}" for f in static_fetches(plan)]
    subnets = [plan.spec.build.subnet_id]
    if plan.spec.build.container_instance_subnet_id:
        subnets.append(plan.spec.build.container_instance_subnet_id)
    lines += ["", *_subnet_lookups(subnets), "", *_firewall_lookups(plan.subscription), "", *_identity_lookups(plan)]
    return "\n".join(lines) + "\n"
