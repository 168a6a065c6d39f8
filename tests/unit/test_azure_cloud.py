"""Cloud selection, subscription cross-checks and tunables (pure: the SDK is not needed)."""

from __future__ import annotations

import pytest

from aks_jumpbox.azure.cloud import select_cloud
from aks_jumpbox.core.errors import UserError

SUB = "6f2b4a7e-3c1d-4e5f-9a8b-0c1d2e3f4a5b"


@pytest.mark.parametrize(
    "name, arm, authority, suffix",
    [
        ("AzureCloud", "https://management.azure.com", "https://login.microsoftonline.com", "core.windows.net"),
        (
            "AzureUSGovernment",
            "https://management.usgovcloudapi.net",
            "https://login.microsoftonline.us",
            "core.usgovcloudapi.net",
        ),
        (
            "AzureChinaCloud",
            "https://management.chinacloudapi.cn",
            "https://login.chinacloudapi.cn",
            "core.chinacloudapi.cn",
        ),
    ],
)
def test_named_clouds_come_from_the_data_file(name, arm, authority, suffix):
    cloud = select_cloud(name, env={})
    assert (cloud.name, cloud.arm_endpoint, cloud.authority_host, cloud.storage_suffix) == (
        name,
        arm,
        authority,
        suffix,
    )
    assert cloud.arm_scope == f"{arm}/.default" and not cloud.custom
    assert cloud.storage_scope == "https://storage.azure.com/.default"
    assert cloud.blob_endpoint("acct") == f"https://acct.blob.{suffix}/"


def test_a_custom_cloud_from_flags_wins_over_the_environment_and_the_spec():
    env = {"AZURE_ARM_ENDPOINT": "https://env.example", "AZURE_STORAGE_SUFFIX": "core.env.example"}
    cloud = select_cloud(
        "AzureCloud",
        arm_endpoint="https://management.contoso.local/",
        storage_suffix="core.contoso.local",
        authority_host="https://login.contoso.local",
        env=env,
    )
    assert cloud.custom and cloud.arm_endpoint == "https://management.contoso.local"
    assert cloud.arm_scope == "https://management.contoso.local/.default"
    assert cloud.storage_suffix == "core.contoso.local" and cloud.authority_host == "https://login.contoso.local"


def test_a_custom_cloud_from_the_environment_with_its_own_audience():
    env = {
        "AZURE_ARM_ENDPOINT": "https://127.0.0.1:8443",
        "AZURE_ARM_AUDIENCE": "https://management.core.windows.net/",
        "AZURE_STORAGE_SUFFIX": "storage.local",
    }
    cloud = select_cloud("AzureUSGovernment", env=env)
    assert cloud.custom and cloud.arm_endpoint == "https://127.0.0.1:8443"
    # An audience ending in "/" keeps it: the scope is audience + "/.default", as Azure AD expects.
    assert cloud.arm_scope == "https://management.core.windows.net//.default"
    assert cloud.storage_suffix == "storage.local"


def test_an_endpoint_of_a_named_cloud_selects_that_cloud():
    cloud = select_cloud("AzureCloud", arm_endpoint="https://management.usgovcloudapi.net", env={})
    assert cloud.name == "AzureUSGovernment" and cloud.authority_host == "https://login.microsoftonline.us"


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"arm_endpoint": "http://127.0.0.1:8080"}, "https://"),
        ({"arm_endpoint": "management.contoso.local"}, "https://"),
        ({"arm_audience": "https://aud.example"}, "--arm-endpoint"),
        ({"authority_host": "login.example"}, "authority"),
    ],
)
def test_bad_cloud_settings_are_input_errors(kwargs, needle):
    with pytest.raises(UserError) as err:
        select_cloud("AzureCloud", env={}, **kwargs)
    assert needle in str(err.value)


def test_subscription_is_the_plans_and_others_must_agree():
    from aks_jumpbox.azure.clients import choose_subscription

    assert choose_subscription(SUB.upper(), None, env={}) == SUB
    assert choose_subscription(SUB, SUB.upper(), env={"AZURE_SUBSCRIPTION_ID": SUB}) == SUB
    with pytest.raises(UserError, match="--subscription names subscription"):
        choose_subscription(SUB, "00000000-0000-0000-0000-000000000000", env={})
    with pytest.raises(UserError, match="AZURE_SUBSCRIPTION_ID names subscription"):
        choose_subscription(SUB, None, env={"AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000000"})
    with pytest.raises(UserError, match="not a subscription ID"):
        choose_subscription(SUB, "my-sub", env={})
    # The flag, when given and right, settles it even if the environment names another.
    assert choose_subscription(SUB, SUB, env={"AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000000"}) == SUB


def test_tuning_reads_numbers_from_the_environment():
    from aks_jumpbox.azure.clients import Tuning

    t = Tuning.from_env({"AKS_JUMPBOX_WATCH_SECONDS": "0.5", "AKS_JUMPBOX_RETRY_STATUS": "12"})
    assert t.watch_seconds == 0.5 and t.retry_status == 12 and t.retry_total == Tuning().retry_total
    assert t.retry_kwargs()["retry_status"] == 12
    with pytest.raises(UserError, match="AKS_JUMPBOX_RETRY_TOTAL"):
        Tuning.from_env({"AKS_JUMPBOX_RETRY_TOTAL": "many"})
    with pytest.raises(UserError, match="negative"):
        Tuning.from_env({"AKS_JUMPBOX_WATCH_SECONDS": "-1"})
