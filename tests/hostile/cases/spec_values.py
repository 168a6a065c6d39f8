"""Hostile values in the spec: string fields, URLs, deb822 injection, ARM expressions, names, markup."""

from __future__ import annotations

import functools

from tests.hostile.case import DELETE, PLAN, Case

EOF = "AKS_JUMPBOX_SCRIPT_EOF"
FPR = "0123456789ABCDEF0123456789ABCDEF01234567"
APT = "https://apt.contoso.example/ubuntu/"
GALLERY = {
    "resource_group": "rg-images",
    "name": "gal_aksjumpbox",
    "version": "1.0.0",
    "image": {"name": "aks-jumpbox", "publisher": "Contoso", "offer": "aks-jumpbox"},
}
SUBNET = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-enterprise-networking-spokes-eastus2"
    "/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}"
)


@functools.cache
def pem() -> str:
    import trustme

    return trustme.CA().cert_pem.bytes().decode().strip()


class _Pem:
    """A spec value built from a freshly generated certificate (resolved when the case is set up)."""

    def __init__(self, before: str = "", after: str = "", inner: str = "") -> None:
        self.before, self.after, self.inner = before, after, inner

    def text(self) -> str:
        lines = pem().split("\n")
        if self.inner:
            lines.insert(2, self.inner)
        return self.before + "\n".join(lines) + self.after


def _ca(value: _Pem):
    def prepare(ws) -> None:
        import yaml

        data = yaml.safe_load((ws.work / "jumpbox.yaml").read_text())
        data.setdefault("mirror", {})["ca_certificate"] = value.text()
        ws.write_spec(data)

    return prepare


def reject(id: str, cls: str, field: str, value, mentions: tuple[str, ...] | None = None, **kw) -> Case:
    return Case(id, cls, "reject", mentions or (field,), spec={field: value, **kw.pop("spec", {})}, **kw)


def inert(id: str, cls: str, field: str, value, **kw) -> Case:
    return Case(id, cls, "inert", spec={field: value, **kw.pop("spec", {})}, **kw)


def either(id: str, cls: str, field: str, value, **kw) -> Case:
    return Case(id, cls, "either", (field,), spec={field: value, **kw.pop("spec", {})}, **kw)


# ---------------------------------------------------------------------------------------------
# url: every URL field of mirror.*

# (name, value builder from a good base URL, expectation); "either" where a valid URL may be accepted.
URL_PAYLOADS = [
    ("newline", lambda u: u + "x\nTrusted: yes", "reject"),
    ("cr", lambda u: u + "x\rTrusted: yes", "reject"),
    ("tab", lambda u: u + "x\ty", "reject"),
    ("space", lambda u: u + "x y/", "reject"),
    ("dquote", lambda u: u + 'x"y/', "reject"),
    ("backslash", lambda u: u + "x\\y/", "reject"),
    ("backtick", lambda u: u + "x`id`/", "reject"),
    ("cmdsubst", lambda u: u + "$(id)/", "either"),
    ("squote", lambda u: u + "o'brien/", "either"),
    ("braces-open", lambda u: u + "{{x}}/", "reject"),
    ("braces-close", lambda u: u + "x}}/", "reject"),
    ("nul", lambda u: u + "x\x00y/", "reject"),
    ("userinfo", lambda u: u.replace("://", "://user:secret@"), "reject"),
    ("no-host", lambda u: u.split("://")[0] + "://", "reject"),
    ("empty-host-path", lambda u: u.split("://")[0] + ":///ubuntu/", "reject"),
    ("bad-port", lambda u: u.replace(".example/", ".example:99999/", 1), "reject"),
    ("arm-expression", lambda u: "[subscription().id]", "reject"),
    ("markup", lambda u: u + "[/]/", "reject"),
    ("eof-line", lambda u: u + "\n" + EOF + "\n", "reject"),
    ("eof-in-path", lambda u: u + EOF + "/", "either"),
    ("pct-traversal", lambda u: u + "..%2F..%2Fetc/", "either"),
    ("long", lambda u: u + "a" * 5000 + "/", "either"),
    ("ipv6", lambda u: u.split("://")[0] + "://[::1]:8443/ubuntu/", "either"),
    ("confusable-host", lambda u: u.replace("contoso", "cοntοsο"), "either"),  # Greek omicrons
]
CORE = {
    "newline",
    "cr",
    "tab",
    "space",
    "dquote",
    "backtick",
    "cmdsubst",
    "braces-open",
    "nul",
    "userinfo",
    "no-host",
}
URL_FIELDS = {
    # field: (good value, extra spec, the provision.sh variable it lands in, all payloads?)
    "mirror.apt": (APT, {}, "APT_ARCHIVE", True),
    "mirror.artifacts": ("https://mirror.contoso.example/tools", {}, None, True),
    "mirror.apt_security": (
        "https://apt.contoso.example/security/",
        {"mirror.apt": APT},
        "APT_SECURITY",
        False,
    ),
    "mirror.azure_cli_repo": ("https://apt.contoso.example/azure-cli/", {}, "AZ_REPO", False),
    "mirror.azure_cli_key_url": (
        "https://apt.contoso.example/keys/microsoft.asc",
        {"mirror.azure_cli_key_fingerprints": [FPR]},
        "AZ_KEY_URL",
        False,
    ),
}


def _as_rendered(field: str, value: str) -> str:
    """The spec normalizes URLs: download bases lose a trailing slash, apt repositories gain one."""
    if field in ("mirror.artifacts", "mirror.azure_cli_key_url"):
        return value.rstrip("/")
    return value if value.endswith("/") else value + "/"


def _url_cases() -> list[Case]:
    out = []
    for field, (good, extra, var, full) in URL_FIELDS.items():
        short = field.removeprefix("mirror.").replace("_", "-")
        for name, make, expect in URL_PAYLOADS:
            if not full and name not in CORE:
                continue
            value = make(good if name != "long" else good.rstrip("/") + "/")
            spec = {**extra, field: value}
            out.append(
                Case(
                    f"url-{short}-{name}",
                    "url",
                    expect,
                    (field,),
                    spec=spec,
                    expect_vars={var: _as_rendered(field, value)} if var and expect != "reject" else {},
                )
            )
        scheme = "reject" if field in ("mirror.artifacts", "mirror.azure_cli_key_url") else "inert"
        http = good.replace("https://", "http://")
        out.append(
            Case(
                f"url-{short}-http",
                "url",
                scheme,
                (field,) if scheme == "reject" else (),
                spec={**extra, field: http},
                expect_vars={var: _as_rendered(field, http)} if var and scheme == "inert" else {},
                why="apt checks signatures, so its repositories may be http://; downloads may not",
            )
        )
    out.append(
        Case(
            "url-artifacts-file-scheme",
            "url",
            "reject",
            ("mirror.artifacts",),
            spec={"mirror.artifacts": "file:///etc/passwd"},
        )
    )
    out.append(
        Case(
            "url-apt-good",
            "url",
            "inert",
            spec={"mirror.apt": APT},
            expect_vars={"APT_ARCHIVE": APT, "APT_SECURITY": APT},
            expect_uris={0: APT, 1: APT},
            why="the benign mirror renders exactly what was given (the inertness checks can pass)",
        )
    )
    return out


# ---------------------------------------------------------------------------------------------
# deb822: a value that adds fields, paragraphs or URIs to a .sources file

DEB822_PAYLOADS = {
    "trusted": "\nTrusted: yes",
    "signed-by-continuation": "\n Signed-By: /tmp/attacker.gpg",
    "second-uri": " https://evil.example/ubuntu/",
    "new-paragraph": "\n\nTypes: deb\nURIs: https://evil.example/ubuntu/\nSuites: noble\nComponents: main\nTrusted: yes",  # noqa: E501 - literal data
}


def _deb822_cases() -> list[Case]:
    out = []
    for field, good, extra in (
        ("mirror.apt", APT, {}),
        ("mirror.apt_security", APT, {"mirror.apt": APT}),
        ("mirror.azure_cli_repo", "https://apt.contoso.example/azure-cli/", {}),
    ):
        for name, tail in DEB822_PAYLOADS.items():
            value = good.rstrip("/") + tail
            out.append(
                Case(
                    f"deb822-{field.removeprefix('mirror.').replace('_', '-')}-{name}",
                    "deb822",
                    "reject",
                    (field,),
                    spec={**extra, field: value},
                )
            )
    return out


# ---------------------------------------------------------------------------------------------
# spec-field: the other string fields

# A description or tag value is one line of printable text (core/spec.py plain_text and tags): Azure shows
# both on one line, and the summary, reports and markdown tables print them on one. A newline is refused.
ONE_LINE = "a gallery description and a tag value are one line of printable text: a newline is bad input"
FREE_TEXT = [  # (name, value, expectation) for fields Azure stores as free text
    ("newline", "line one\nline two", "reject"),
    ("dquote", 'say "hi"', "inert"),
    ("squote", "o'brien", "inert"),
    ("backslash", "a\\nb\\", "inert"),
    ("cmdsubst", "$(id) and ${HOME}", "inert"),
    ("backtick", "`id`", "inert"),
    ("braces", "{{ .Vars }} and }}", "inert"),
    ("eof", f"x\n{EOF}\nrm -rf /", "reject"),
    ("confusable", "Аdmin ΑKS", "inert"),
    ("nul", "a\x00b", "either"),
]


def _spec_field_cases() -> list[Case]:
    out = [
        reject("spec-name-newline", "spec-field", "name", "aksjb\nx"),
        reject("spec-name-cmdsubst", "spec-field", "name", "a$(id)"),
        reject("spec-name-long", "spec-field", "name", "a" * 25),
        reject("spec-name-uppercase", "spec-field", "name", "AKSJB"),
        reject("spec-identity-name-semicolon", "spec-field", "identity.name", "id;x"),
        reject("spec-identity-name-traversal", "spec-field", "identity.name", "../id"),
        reject("spec-build-rg-newline", "spec-field", "build.resource_group", "rg\nx"),
        reject("spec-build-rg-cmdsubst", "spec-field", "build.resource_group", "rg$(id)"),
        reject("spec-vm-size-space", "spec-field", "build.vm_size", "Standard_D2 x"),
        reject("spec-tool-version-injection", "spec-field", "tools.helm", "4.3.0; rm -rf /"),
        reject("spec-tool-review-by", "spec-field", "tools.helm", {"version": "4.3.0", "review_by": "soon; rm"}),
        reject("spec-azure-cli-version-newline", "spec-field", "azure_cli.version", "2.90.0\nx"),
        reject("spec-extension-semicolon", "spec-field", "azure_cli.extensions", ["aks-preview;id"]),
        reject(
            "spec-extension-version",
            "spec-field",
            "azure_cli.extensions",
            [{"name": "aks-preview", "version": "1.0.0 --index-url x"}],
        ),
        reject("spec-tag-value-too-long", "spec-field", "tags", {"k": "v" * 257}),
        reject("spec-tag-key-slash", "spec-field", "tags", {"a/b": "v"}),
        Case(
            "spec-duplicate-key",
            "spec-field",
            "reject",
            ("jumpbox.yaml", "duplicate"),
            spec_text="name: aksjb\nname: other\n",
        ),
        Case("spec-not-a-mapping", "spec-field", "reject", ("jumpbox.yaml",), spec_text="- a\n- b\n"),
        Case(
            "spec-yaml-python-tag",
            "spec-field",
            "reject",
            ("jumpbox.yaml",),
            spec_text="name: !!python/object/apply:os.system ['id']\n",
        ),
        Case(
            "spec-unicode-bom",
            "spec-field",
            "either",
            ("jumpbox.yaml",),
            prepare=lambda ws: (ws.work / "jumpbox.yaml").write_bytes(
                b"\xef\xbb\xbf" + (ws.work / "jumpbox.yaml").read_bytes()
            ),
        ),
        reject(
            "spec-ca-begin-anywhere",
            "spec-field",
            "mirror.ca_certificate",
            "not a cert -----BEGIN CERTIFICATE----- at all",
        ),
        Case(
            "spec-ca-valid",
            "spec-field",
            "inert",
            prepare=_ca(_Pem()),
            why="a real PEM reaches MIRROR_CA_PEM intact (checked by reading the variable block back)",
        ),
        Case(
            "spec-ca-eof",
            "spec-field",
            "reject",
            ("mirror.ca_certificate",),
            prepare=_ca(_Pem(after=f"\n{EOF}\nrm -rf /")),
        ),
        Case(
            "spec-ca-braces",
            "spec-field",
            "reject",
            ("mirror.ca_certificate",),
            prepare=_ca(_Pem(after="\n{{ user `x` }}")),
        ),
    ]
    for name, value, expect in FREE_TEXT:
        kw = {"expect_arm": (value,)} if expect == "inert" else {}
        kw["why"] = ONE_LINE if expect == "reject" else ""
        out.append(
            Case(
                f"spec-gallery-description-{name}",
                "spec-field",
                expect,
                ("distribute.gallery",),
                spec={"distribute.gallery": {**GALLERY, "image": {**GALLERY["image"], "description": value}}},
                **kw,
            )
        )
        out.append(
            Case(
                f"spec-tag-value-{name}",
                "spec-field",
                expect,
                ("tags",),
                spec={"tags": {"note": value}},
                **kw,
            )
        )
    for name, value, expect in (
        ("cmdsubst", "$(id)", "inert"),
        ("markup", "[/] [bold]x", "inert"),
        ("eof", f"x\n{EOF}\n", "reject"),
        ("braces", "{{x}}", "inert"),
    ):
        out.append(
            Case(
                f"spec-tool-reason-{name}",
                "spec-field",
                expect,
                ("tools.helm.reason",) if expect == "reject" else (),
                spec={"tools.helm": {"version": "4.3.0", "reason": value, "review_by": "2030-01-01"}},
                why="a pin's reason is quoted on one line by `check`, `lock --upgrade` and `outdated`: "
                "a newline would forge a line of their output, so it is bad input"
                if expect == "reject"
                else "",
            )
        )
    out.append(
        Case(
            "spec-gallery-description-long",
            "spec-field",
            "either",
            ("distribute.gallery",),
            spec={"distribute.gallery": {**GALLERY, "image": {**GALLERY["image"], "description": "d" * 5000}}},
        )
    )
    return out


# ---------------------------------------------------------------------------------------------
# arm-expression: values Azure would evaluate instead of storing


def _arm_cases() -> list[Case]:
    def gallery_desc(v: str) -> dict:
        return {"distribute.gallery": {**GALLERY, "image": {**GALLERY["image"], "description": v}}}

    out = [
        Case(
            "arm-default-plan",
            "arm-expression",
            "inert",
            why='the tool\'s own script lines such as `[ "$(id -u)" -eq 0 ] || ...` start with [ but are not '
            "expressions; they must read back unchanged (no over-escaping)",
        ),
        Case("arm-default-gallery-plan", "arm-expression", "inert", spec={"distribute.gallery": GALLERY}),
        Case(
            "arm-tag-value-subscription",
            "arm-expression",
            "inert",
            spec={"tags": {"t": "[subscription().id]"}},
            expect_arm=("[subscription().id]",),
        ),
        Case(
            "arm-tag-value-listkeys",
            "arm-expression",
            "inert",
            spec={
                "tags": {
                    "t": "[listKeys(resourceId('Microsoft.Storage/storageAccounts', 'st'), '2023-01-01').keys[0].value]"
                }
            },
            expect_arm=(
                "[listKeys(resourceId('Microsoft.Storage/storageAccounts', 'st'), '2023-01-01').keys[0].value]",
            ),
        ),
        Case(
            "arm-tag-key-subscription",
            "arm-expression",
            "inert",
            spec={"tags": {"[subscription().id]": "v"}},
            expect_arm=("[subscription().id]",),
        ),
        Case(
            "arm-tag-value-already-escaped",
            "arm-expression",
            "inert",
            spec={"tags": {"t": "[[x]"}},
            expect_arm=("[[x]",),
        ),
        Case("arm-tag-value-space", "arm-expression", "inert", spec={"tags": {"t": "[ ]"}}, expect_arm=("[ ]",)),
        Case(
            "arm-tag-value-quote-breakout",
            "arm-expression",
            "inert",
            spec={"tags": {"t": "['),subscription().id,(']"}},
            expect_arm=("['),subscription().id,(']",),
        ),
        Case(
            "arm-tag-value-not-closed",
            "arm-expression",
            "inert",
            spec={"tags": {"t": "[not an expression"}},
            expect_arm=("[not an expression",),
            why="a literal that starts with [ but does not end with ] is not escaped (Microsoft's rule)",
        ),
        Case(
            "arm-gallery-description",
            "arm-expression",
            "inert",
            spec=gallery_desc("[subscription().id]"),
            expect_arm=("[subscription().id]",),
        ),
        reject(
            "arm-managed-image-location",
            "arm-expression",
            "distribute.managed_image.location",
            "[resourceGroup().location]",
        ),
        reject("arm-managed-image-name", "arm-expression", "distribute.managed_image.name", "[concat('a', 'b')]"),
        reject("arm-gallery-location", "arm-expression", "distribute.gallery", {**GALLERY, "location": "[x]"}),
        Case(
            "arm-ca-inner-line",
            "arm-expression",
            "reject",
            ("mirror.ca_certificate",),
            prepare=_ca(_Pem(inner="[subscription().id]")),
        ),
        Case(
            "arm-ca-text-before",
            "arm-expression",
            "either",
            ("mirror.ca_certificate",),
            prepare=_ca(_Pem(before="[subscription().id]\n")),
            why="RFC 7468 allows text outside PEM boundaries: rejecting, or escaping the line, both hold",
        ),
    ]
    return out


# ---------------------------------------------------------------------------------------------
# resource-name: Azure's naming rules per resource type


def _subnets(vnet: str = "vnet-imagebuilder", subnet: str = "snet-imagebuilder") -> dict:
    return {
        "build.subnet_id": SUBNET.format(vnet=vnet, subnet=subnet),
        "build.container_instance_subnet_id": SUBNET.format(vnet=vnet, subnet="snet-imagebuilder-aci"),
    }


def _name_cases() -> list[Case]:
    image = "distribute.managed_image.name"
    out = [
        reject(f"name-image-{n}", "resource-name", image, v)
        for n, v in (
            ("traversal", "../.."),
            ("slash", "img/x"),
            ("too-long", "i" * 81),
            ("space", "img x"),
            ("leading-hyphen", "-img"),
            ("trailing-period", "img."),
            ("pct-slash", "img%2F.."),
            ("newline", "img\nx"),
            ("markup", "img[/]"),
        )
    ]
    out += [
        Case("name-vnet-dotdot", "resource-name", "reject", ("subnet_id",), spec=_subnets(vnet="..")),
        Case("name-vnet-space", "resource-name", "reject", ("subnet_id",), spec=_subnets(vnet="vnet x")),
        Case("name-vnet-too-long", "resource-name", "reject", ("subnet_id",), spec=_subnets(vnet="v" * 65)),
        Case("name-vnet-pct", "resource-name", "reject", ("subnet_id",), spec=_subnets(vnet="vnet%2F..")),
        Case(
            "name-subnet-semicolon",
            "resource-name",
            "reject",
            ("build.subnet_id",),
            spec={"build.subnet_id": SUBNET.format(vnet="vnet-imagebuilder", subnet="snet;x")},
        ),
        Case(
            "name-subnet-dotdot",
            "resource-name",
            "reject",
            ("build.subnet_id",),
            spec={"build.subnet_id": SUBNET.format(vnet="vnet-imagebuilder", subnet="..")},
        ),
        Case(
            "name-subnet-too-long",
            "resource-name",
            "reject",
            ("build.subnet_id",),
            spec={"build.subnet_id": SUBNET.format(vnet="vnet-imagebuilder", subnet="s" * 81)},
        ),
        reject("name-identity-too-long", "resource-name", "identity.name", "i" * 129),
        reject("name-gallery-hyphen", "resource-name", "distribute.gallery", {**GALLERY, "name": "gal-x"}),
        reject(
            "name-gallery-image-traversal",
            "resource-name",
            "distribute.gallery",
            {**GALLERY, "image": {**GALLERY["image"], "name": "../x"}},
        ),
        reject("name-staging-rg-traversal", "resource-name", "build.staging_resource_group", "rg/../x"),
        reject("name-image-rg-trailing-period", "resource-name", "distribute.managed_image.resource_group", "rg."),
        Case(
            "name-mermaid-keywords",
            "resource-name",
            "inert",
            spec={
                "build.subnet_id": SUBNET.format(vnet="end", subnet="click").replace(
                    "rg-enterprise-networking-spokes-eastus2", "subgraph(x)"
                ),
                "build.container_instance_subnet_id": SUBNET.format(vnet="end", subnet="style").replace(
                    "rg-enterprise-networking-spokes-eastus2", "subgraph(x)"
                ),
            },
            why="names that are Mermaid keywords stay text inside the diagram's quoted labels (issue 12)",
        ),
        Case(
            "name-image-good",
            "resource-name",
            "inert",
            spec={image: "img_aks-jumpbox.v1_"},
            why="Azure's rule allows letters, digits, _ . - and a trailing _",
        ),
    ]
    return out


# ---------------------------------------------------------------------------------------------
# markup: rich markup in values the summary prints (the files were written, then it crashed)


def _copy_spec(name: str):
    def prepare(ws) -> None:
        (ws.work / name).parent.mkdir(parents=True, exist_ok=True)
        (ws.work / name).write_bytes((ws.work / "jumpbox.yaml").read_bytes())

    return prepare


def _markup_cases() -> list[Case]:
    return [
        Case(
            "markup-spec-path",
            "markup",
            "inert",
            args=("plan", "-f", "[/]x.yaml", "--out", "out"),
            prepare=_copy_spec("[/]x.yaml"),
            why="the summary prints the spec's file name",
        ),
        Case(
            "markup-lock-path",
            "markup",
            "inert",
            args=("plan", "-f", "jumpbox.yaml", "--lock", "[bold]l.json", "--out", "out"),
            prepare=lambda ws: (ws.work / "[bold]l.json").write_bytes((ws.work / "jumpbox.lock.json").read_bytes()),
        ),
        Case(
            "markup-out-path",
            "markup",
            "inert",
            args=("plan", "-f", "jumpbox.yaml", "--out", "[/]out"),
            writes=("{work}/[",),
            out="[/]out",
        ),
        reject("markup-image-name", "markup", "distribute.managed_image.name", "img[/]"),
        reject("markup-artifacts-url", "markup", "mirror.artifacts", "https://m.contoso.example/[/]"),
        Case(
            "markup-error-message",
            "markup",
            "reject",
            ("name", "[bold]x[/]"),
            spec={"name": "[bold]x[/]"},
            why="the error names the bad value literally, markup and all",
        ),
        Case("markup-tag-value", "markup", "inert", spec={"tags": {"t": "[/][link=https://evil.example]x"}}),
    ]


# workflow-command: under GitHub Actions (GITHUB_ACTIONS=true) every output line is read for workflow
# commands: a line starting `::` (after whitespace, split at CR or LF) or holding `##[` anywhere. A value
# in an error, an annotation or a JSON document must not start a second command (add-mask, stop-commands).
INJECTION = "x\n::add-mask::hostile\r::stop-commands::tok\n  ::error::forged ##[add-mask]y"
_INJECTED = ("\n::add-mask", "\r::stop-commands", "\n  ::error::forged", "##[")
GHA = {"GITHUB_ACTIONS": "true"}


def _workflow_command_cases() -> list[Case]:
    return [
        reject("gha-spec-error", "workflow-command", "name", INJECTION, env=GHA, forbid=_INJECTED),
        reject(
            "gha-spec-error-json",
            "workflow-command",
            "name",
            INJECTION,
            env=GHA,
            forbid=_INJECTED,
            args=(*PLAN, "--output", "json"),
            why="stdout holds the JSON error document: a `##[` in it is written \\u0023#[",
        ),
        reject(
            "gha-tag-name",
            "workflow-command",
            "tags",
            {"a\n  ::warning::tag ##[add-mask]z": "v"},
            env=GHA,
            forbid=_INJECTED + ("\n  ::warning",),
        ),
        Case(
            "gha-usage-error",
            "workflow-command",
            "reject",
            ("--only",),
            args=("check", "--snapshot", "snap", "--only", INJECTION),
            env=GHA,
            forbid=_INJECTED,
            max_lines=8,
        ),
    ]


CASES = (
    _url_cases()
    + _deb822_cases()
    + _spec_field_cases()
    + _arm_cases()
    + _name_cases()
    + _markup_cases()
    + _workflow_command_cases()
)
__all__ = ["APT", "CASES", "DELETE", "EOF", "GALLERY"]
