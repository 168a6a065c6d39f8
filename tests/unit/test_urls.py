"""The one URL rule (core/urls.py) and the file names derived from URLs (catalog.url_basename)."""

from __future__ import annotations

import pytest

from aks_jumpbox.core.catalog import UnsafeFileName, load_catalog, url_basename
from aks_jumpbox.core.urls import UrlError, check_url, valid_host


@pytest.mark.parametrize(
    "url",
    [
        "https://mirror.contoso.internal/aks-jumpbox",
        "https://mirror.contoso.internal:8443/a/b.tar.gz",
        "https://127.0.0.1:8443/x",
        "https://[::1]:8443/x",
        "https://mirror.contoso.internal./fqdn-with-dot",
        "https://github.com/kubernetes-sigs/kustomize/releases/download/kustomize%2Fv5.8.1/x.tar.gz",
        "https://h/a+b_c~d-e.f;g=h,i!j$k&l(m)n*o@p:q",
    ],
)
def test_safe_urls_are_accepted_unchanged(url):
    assert check_url(url) == url


@pytest.mark.parametrize(
    "url, why",
    [
        ("https://", "has no host"),
        ("https:///path", "has no host"),
        ("https://:443/x", "has no host"),
        ("http://mirror/x", "must be an https:// URL"),
        ("HTTPS://mirror/x", "must be an https:// URL"),
        ("ftp://mirror/x", "must be an https:// URL"),
        ("mirror/x", "must be an https:// URL"),
        ("https:/mirror/x", "must be an https:// URL"),
        ("https://user:pw@mirror/x", "user name or password"),
        ("https://user@mirror/x", "user name or password"),
        ("https://mirror/a b", "a space"),
        ("https://mirror/a\tb", "a tab"),
        ("https://mirror/a\nTrusted: yes", "a newline"),
        ("https://mirror/a\rb", "a carriage return"),
        ("https://mirror/a\x00b", "control character"),
        ("https://mirror/a\x7fb", "control character"),
        ('https://mirror/a"b', "double quote"),
        ("https://mirror/a'b", "single quote"),
        ("https://mirror/a\\b", "backslash"),
        ("https://mirror/{{.Vars}}", "'{'"),
        ("https://mirror/a|b", "'|'"),
        ("https://mirror/a`id`", "'`'"),
        ("https://mirror/a<b>", "'<'"),
        ("https://mirrör/x", "'ö'"),
        ("https://apt.c\u03bfnt\u03bfs\u03bf.example/", "ASCII (IDNA, xn--)"),  # Greek omicrons posing as "o"
        ("https://mirror/x\u2028", "control character"),
        ("https://mirror/%zz", "percent escape"),
        ("https://mirror/%4", "percent escape"),
        ("https://mirror/x?sig=1", "query"),
        ("https://mirror/x#frag", "fragment"),
        ("https://mirror:0/x", "port 0"),
        ("https://mirror:70000/x", "not a valid URL"),
        ("https://mirror:/x", "empty port"),
        ("https://-mirror/x", "not a DNS name"),
        ("https://mir_ror/x", "not a DNS name"),
        ("https://1.2.3/x", "not a DNS name"),
        ("https://a..b/x", "not a DNS name"),
        ("https://mirror/[x]", "[ or ]"),
        ("", "is empty"),
        ("https://mirror/" + "a" * 2100, "longer than"),
    ],
)
def test_unsafe_urls_are_refused_with_the_reason(url, why):
    with pytest.raises(UrlError) as err:
        check_url(url)
    assert why in str(err.value)


def test_apt_fields_may_use_http():
    assert check_url("http://mirror/ubuntu/", schemes=("http", "https")) == "http://mirror/ubuntu/"
    with pytest.raises(UrlError, match="http:// or https://"):
        check_url("ftp://mirror/ubuntu/", schemes=("http", "https"))


def test_a_url_must_be_a_string():
    with pytest.raises(UrlError, match="string"):
        check_url(["https://mirror/x"])


@pytest.mark.parametrize(
    "host, ok",
    [
        ("mirror.contoso.internal", True),
        ("a", True),
        ("10.0.0.1", True),
        ("::1", True),
        ("x" * 64, False),
        ("a-", False),
        ("", False),
        ("a b", False),
        ("999.1.1.1", False),
    ],
)
def test_hosts(host, ok):
    assert valid_host(host) is ok


@pytest.mark.parametrize(
    "url, name",
    [
        ("https://h/a/helm-v4.3.0-linux-amd64.tar.gz", "helm-v4.3.0-linux-amd64.tar.gz"),
        ("https://h/a/kubectl", "kubectl"),
        ("https://h/a/b%2Bc", "b+c"),
    ],
)
def test_file_names_from_urls(url, name):
    assert url_basename(url) == name


@pytest.mark.parametrize(
    "url",
    [
        "https://h/x/..%2F..%2F..%2Fetc%2Fcron.d%2Fx",
        "https://h/x/..%2F..%2Fusr%2Flocal%2Fbin%2Fhelm",
        "https://h/x/%2e%2e",
        "https://h/x/.hidden",
        "https://h/x/",
        "https://h",
        "https://h/x/a%5Cb",
        "https://h/x/a%00b",
        "https://h/x/a%0Ab",
        "https://h/x/a%20b",
        "https://h/x/%ff",
        "https://h/x/" + "a" * 201,
    ],
)
def test_file_names_never_decode_into_paths(url):
    with pytest.raises(UnsafeFileName):
        url_basename(url)


def test_every_catalog_url_passes_the_rule_and_names_a_safe_file():
    catalog = load_catalog()
    for tool in catalog.tools.values():
        for arch in tool.arch_names:
            for url in (
                tool.artifact_url("1.2.3", arch),
                tool.checksum_file_url("1.2.3", arch),
                tool.checksum_order_file_url("1.2.3", arch),
            ):
                if url:
                    assert check_url(url) == url
                    url_basename(url)
    assert check_url(catalog.azure_cli.repo_url) and check_url(catalog.azure_cli.key_url)
