"""The plan as an ARM template (what `make benchmark` hands Checkov): every Azure resource once, in ARM's own form."""

from __future__ import annotations

import re
from collections import Counter

from offline.arm_template import arm_template
from offline.engine import Graph
from settings import shapes


def _by_type(template: dict, arm_type: str) -> list[dict]:  # type: ignore[type-arg]
    return [r for r in template["resources"] if r["type"] == arm_type]


def test_every_azure_resource_is_in_the_template_once(dev_graph: Graph, prod_graph: Graph) -> None:
    for graph in (dev_graph, prod_graph):
        template = arm_template(graph)
        in_azure = [r for r in graph.resources if r.custom and r.type != shapes.SLEEP]
        assert len(template["resources"]) == len(in_azure) > 40
        assert Counter(r["type"] for r in template["resources"]) == Counter(
            shapes.shape(r.type).arm_type for r in in_azure)
        keys = [(r["type"], r.get("scope"), r["name"]) for r in template["resources"]]
        assert len(keys) == len(set(keys)), "two resources of one type and scope share a name"
        assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}(-preview)?", r["apiVersion"]) for r in template["resources"])


def test_the_account_key_and_grants_read_as_arm_writes_them(prod_graph: Graph) -> None:
    template = arm_template(prod_graph)
    account = next(r for r in _by_type(template, "Microsoft.CognitiveServices/accounts") if r["name"] == "aoai-prod-swc")
    assert account["kind"] == "OpenAI" and account["sku"] == {"name": "S0"} and account["location"] == "swedencentral"
    assert account["apiVersion"] == "2025-06-01"  # pulumi_azure_native/cognitiveservices/account.py, v3.29.0
    assert account["properties"]["publicNetworkAccess"] == "Disabled" and account["properties"]["disableLocalAuth"]
    (identity,) = account["identity"]["userAssignedIdentities"]  # a map of ids in ARM, a list in azure-native
    assert isinstance(account["identity"]["userAssignedIdentities"], dict) and identity.endswith("-cmk")
    key = next(r for r in _by_type(template, "Microsoft.KeyVault/vaults/keys") if r["name"].startswith("kv-aoai-prod-swc"))
    assert key["name"] == "kv-aoai-prod-swc/aoai-cmk" and key["properties"]["kty"] == "RSA-HSM"
    assert "vaultName" not in key["properties"] and "resourceGroupName" not in key["properties"]
    grants = _by_type(template, "Microsoft.Authorization/roleAssignments")
    assert grants and all(g["scope"].startswith("/subscriptions/") and "roleDefinitionId" in g["properties"]
                          for g in grants)
    endpoint = _by_type(template, "Microsoft.Network/privateEndpoints")[0]
    assert "subnet" in endpoint["properties"], "flattened inputs go back under properties"
