"""The table of resource shapes: true to the installed SDK, complete for both stacks, equal to the pack's own copy,
and the ARM ids the offline engine builds from it."""

from __future__ import annotations

import importlib
import inspect

import pytest

from offline.engine import SUBSCRIPTION_ID, Graph
from policies.aoai_policies import tokens as pack
from policies.aoai_policies.protection import DATA_TYPES as PACK_DATA_TYPES
from settings import shapes
from settings.shapes import SHAPES, Shape

AZURE = {token: s for token, s in SHAPES.items() if token.startswith("azure-native:")}
SUB = f"/subscriptions/{SUBSCRIPTION_ID}"


def _sdk_inputs(token: str) -> set[str]:
    """The engine (camelCase) names of the inputs the azure-native class takes."""
    _, module, cls = token.split(":")
    sdk = importlib.import_module(f"pulumi_azure_native.{module}")
    # Codegen names the class `<Type>InitArgs` where `<Type>Args` is taken by a nested type of the same name.
    args = getattr(sdk, f"{cls}InitArgs", None) or getattr(sdk, f"{cls}Args")
    return {getattr(member.fget, "_pulumi_name", name)
            for name, member in inspect.getmembers(args) if isinstance(member, property)}


@pytest.mark.parametrize("token", sorted(AZURE))
def test_each_shape_names_inputs_the_sdk_takes_and_says_whether_it_takes_tags(token: str) -> None:
    shape = SHAPES[token]
    inputs = _sdk_inputs(token)
    named = {shape.name_input, *shape.parent_inputs, *([shape.scope_input] if shape.scope_input else [])}
    if shape.level == shapes.IN_RESOURCE_GROUP:
        named.add("resourceGroupName")
    assert named <= inputs, f"{token}: the SDK takes no {sorted(named - inputs)}"
    assert shape.taggable == ("tags" in inputs), token


def test_every_custom_type_both_stacks_create_has_a_shape(dev_graph: Graph, prod_graph: Graph) -> None:
    created = {r.type for graph in (dev_graph, prod_graph) for r in graph.resources if r.custom}
    # Created only when a stack declares guardrails.exemptions (tests/test_guardrails.py builds one).
    assert created | {shapes.POLICY_EXEMPTION} == set(SHAPES)


def test_the_packs_copy_agrees_with_the_table() -> None:
    """The pack may not import the program: its labels, taggable and data-holding types and program types are its
    own copy, held equal here (as the role table is, in tests/policies/test_policy_pack.py)."""
    for token, shape in SHAPES.items():
        assert pack.label(token) == shape.label, token
        assert token in pack.PROGRAM_TYPES, token
    assert pack.TAGGABLE_TYPES & set(SHAPES) == shapes.TAGGABLE_TYPES
    assert set(PACK_DATA_TYPES) == set(shapes.DATA_TYPES) == {shapes.ACCOUNT, shapes.VAULT, shapes.KEY,
                                                               shapes.WORKSPACE}
    custom = {t for t in pack.PROGRAM_TYPES if not t.startswith(("aoai:", "pulumi:"))}
    assert custom == set(SHAPES), "every custom type of the pack's baseline has a shape, and no other"


@pytest.mark.parametrize(("token", "inputs", "expected"), [
    (shapes.ACCOUNT, {"resourceGroupName": "rg", "accountName": "aoai"},
     f"{SUB}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/aoai"),
    (shapes.DEPLOYMENT, {"resourceGroupName": "rg", "accountName": "aoai", "deploymentName": "chat"},
     f"{SUB}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/aoai/deployments/chat"),
    (shapes.VIRTUAL_NETWORK_LINK, {"resourceGroupName": "rg", "privateZoneName": "privatelink.openai.azure.com",
                                   "virtualNetworkLinkName": "link"},
     f"{SUB}/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/privatelink.openai.azure.com/"
     "virtualNetworkLinks/link"),
    (shapes.RESOURCE_GROUP, {"resourceGroupName": "rg"}, f"{SUB}/resourceGroups/rg"),
    (shapes.SUBSCRIPTION_DIAGNOSTIC_SETTING, {"name": "activity"},
     f"{SUB}/providers/Microsoft.Insights/diagnosticSettings/activity"),
    (shapes.ROLE_ASSIGNMENT, {"scope": f"{SUB}/resourceGroups/rg", "roleAssignmentName": "g"},
     f"{SUB}/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/g"),
    # Defender plans take their scope without the leading slash; Azure answers with it.
    (shapes.DEFENDER_PRICING, {"scopeId": f"subscriptions/{SUBSCRIPTION_ID}", "pricingName": "AI"},
     f"{SUB}/providers/Microsoft.Security/pricings/AI"),
])
def test_arm_ids_follow_the_shape(token: str, inputs: dict[str, str], expected: str) -> None:
    assert SHAPES[token].arm_id(SUBSCRIPTION_ID, inputs, "logical") == expected


def test_the_name_input_falls_back_to_the_logical_name_and_unknown_types_say_where_to_add_them() -> None:
    assert SHAPES[shapes.VAULT].arm_id(SUBSCRIPTION_ID, {"resourceGroupName": "rg"}, "kv-logical").endswith(
        "/vaults/kv-logical")
    with pytest.raises(KeyError, match=r"settings/shapes\.py"):
        shapes.shape("azure-native:storage:StorageAccount")
    with pytest.raises(ValueError, match="not an Azure resource"):
        SHAPES[shapes.SLEEP].arm_id(SUBSCRIPTION_ID, {}, "wait")


def test_a_malformed_row_is_refused() -> None:
    with pytest.raises(ValueError, match="one parent input per parent type"):
        Shape("x:y:Child", "Microsoft.X/parents/children", "childName", "child")
    with pytest.raises(ValueError, match="names its scope input"):
        Shape("x:y:Ext", "Microsoft.X/things", "name", "thing", level=shapes.EXTENSION)
