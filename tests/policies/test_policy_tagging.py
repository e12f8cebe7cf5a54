"""Tagging: required tags with allowed values on every taggable type."""

from __future__ import annotations

from typing import Any

import pytest
from aoai_policies import tokens as t
from policy_harness import check_resource

TAGS = {"owner": "platform@contoso.com", "costCenter": "CC-1042", "dataClassification": "confidential",
        "environment": "prod", "managedBy": "pulumi"}


def run(tags: Any, resource_type: str = t.VAULT, **kw: Any) -> list[str]:
    props = {} if tags is None else {"tags": tags}
    return check_resource("aoai-required-tags", resource_type, props, name="prod-vault", **kw)


@pytest.mark.parametrize("resource_type", sorted(t.TAGGABLE_TYPES))
def test_every_taggable_type_passes_with_the_tags_and_is_reported_without(resource_type: str) -> None:
    assert run(TAGS, resource_type) == []
    assert run(None, resource_type) != []


def test_missing_and_empty_tags_are_named() -> None:
    tags = {**TAGS, "owner": " "}
    del tags["costCenter"]
    assert run(tags) == [
        "Add the tag(s) 'owner' and 'costCenter' to Key Vault 'prod-vault': every resource must name its owner, "
        "cost centre, data classification and environment."]


@pytest.mark.parametrize("resource_type", [t.ROLE_ASSIGNMENT, t.LOCK, t.DIAGNOSTIC_SETTING, t.PRIVATE_DNS_ZONE_GROUP,
                                           "azure-native:network:Subnet"])
def test_types_that_take_no_tags_are_skipped(resource_type: str) -> None:
    assert run(None, resource_type) == []


def test_a_classification_outside_the_scheme_is_reported() -> None:
    # Under the prod config, which admits confidential and restricted data only.
    assert run({**TAGS, "dataClassification": "secret"}) == [
        "Set tag 'dataClassification' on Key Vault 'prod-vault' to one of 'confidential' and 'restricted' "
        "(it is 'secret')."]


def test_required_tags_and_allowed_values_are_configurable() -> None:
    assert run(TAGS, requiredTags=["owner", "application"]) != []
    assert run({**TAGS, "environment": "qa"}, allowedTagValues={"environment": ["dev", "prod"]}) != []
    assert run({**TAGS, "dataClassification": "secret"}, allowedTagValues={}) == []
