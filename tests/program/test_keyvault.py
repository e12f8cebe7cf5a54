"""The customer-managed key under the mock engine: the vault, the key, the identity that reads it, its grant and the
wait for the grant to propagate before the account is written."""

from __future__ import annotations

from offline.engine import Graph, run_program
from settings.shapes import ACCOUNT, KEY, ROLE_ASSIGNMENT, SLEEP, USER_ASSIGNED_IDENTITY, VAULT
from tests.program.helpers import one
from tests.support import stack_values


def test_vault_is_rbac_purge_protected_and_private(prod_graph: Graph) -> None:
    vault = one(prod_graph, VAULT, "swc")
    assert vault.inputs["vaultName"] == "kv-aoai-prod-swc"
    props = vault.inputs["properties"]
    assert props["sku"] == {"family": "A", "name": "premium"}
    assert props["tenantId"] == "00000000-0000-4000-8000-00000000c1d2"
    assert props["enableRbacAuthorization"] is True
    assert props["enableSoftDelete"] is True and props["softDeleteRetentionInDays"] == 90
    assert props["enablePurgeProtection"] is True
    assert props["publicNetworkAccess"] == "Disabled"
    assert props["networkAcls"] == {"bypass": "AzureServices", "defaultAction": "Deny", "ipRules": [],
                                    "virtualNetworkRules": []}


def test_key_is_rsa_2048_with_rotation_and_expiry(prod_graph: Graph, dev_graph: Graph) -> None:
    key = one(prod_graph, KEY, "swc").inputs
    assert key["keyName"] == "aoai-cmk" and key["vaultName"] == "kv-aoai-prod-swc"
    props = key["properties"]
    assert props["kty"] == "RSA-HSM" and props["keySize"] == 2048
    assert props["keyOps"] == ["wrapKey", "unwrapKey"]
    # 2028-12-31T00:00:00Z; the SDK sends exportable: false, so the key never leaves the vault.
    assert props["attributes"] == {"enabled": True, "expires": 1861833600, "exportable": False}
    assert props["rotationPolicy"] == {
        "attributes": {"expiryTime": "P1Y"},
        "lifetimeActions": [{"trigger": {"timeAfterCreate": "P180D"}, "action": {"type": "rotate"}},
                            {"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "notify"}}],
    }
    assert one(dev_graph, KEY).inputs["properties"]["kty"] == "RSA"


def test_identity_holds_the_encryption_role_on_the_key_only(prod_graph: Graph) -> None:
    access = one(prod_graph, ROLE_ASSIGNMENT, "swc-cmk-key-access").inputs
    key = one(prod_graph, KEY, "swc")
    identity = one(prod_graph, USER_ASSIGNED_IDENTITY, "swc")
    assert access["scope"] == key.id
    assert access["principalId"] == identity.outputs["principalId"]
    assert access["principalType"] == "ServicePrincipal"
    assert access["roleDefinitionId"].endswith("/roleDefinitions/e147488a-f6f5-4113-8e2d-b22465e65bf6")
    assert access["roleDefinitionId"].startswith("/subscriptions/")


def test_the_account_waits_for_the_key_grant_to_propagate_once(prod_graph: Graph) -> None:
    """Azure checks the identity's key access when the account is written; a new role assignment can take minutes
    to propagate. The wait (the time provider's Sleep) runs when the assignment is created or replaced."""
    account = one(prod_graph, ACCOUNT, "swc")
    grant = prod_graph.named("aoai-prod-swc-cmk-key-access")
    wait = prod_graph.named("aoai-prod-swc-cmk-rbac-propagation")
    assert wait.type == SLEEP and wait.inputs["createDuration"] == "2m"
    assert wait.inputs["triggers"] == {"roleAssignmentId": grant.id}
    assert grant.urn in wait.dependencies and wait.urn in account.dependencies
    no_wait = run_program("prod", config_overrides={"keyVault": {**stack_values("prod")["keyVault"],
                                                                 "rbacPropagationDelay": "0s"}})
    assert no_wait.by_type(SLEEP) == []
    assert no_wait.named("aoai-prod-swc-cmk-key-access").urn in one(no_wait, ACCOUNT, "swc").dependencies


def test_account_waits_for_the_identitys_access_to_the_key(prod_graph: Graph) -> None:
    for code in ("swc", "frc"):
        account = one(prod_graph, ACCOUNT, code)
        access = one(prod_graph, ROLE_ASSIGNMENT, f"{code}-cmk-key-access")
        assert access.urn in account.dependencies
