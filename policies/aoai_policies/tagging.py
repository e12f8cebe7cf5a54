"""Tagging: owner, cost centre, data classification and environment on everything that takes tags."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pulumi_policy import ResourceValidationArgs, Severity

from .common import Config, get, list_map, names, resource_policy, show, string_list, subject
from .metadata import ASSET_INVENTORY, PolicyMeta
from .tokens import TAGGABLE_TYPES

CONCERN = "tagging"


def _tags(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    tags = get(args.props, "tags") or {}
    tags = tags if isinstance(tags, Mapping) else {}
    who = subject(args.resource_type, args.name)
    missing = [t for t in cfg.strings("requiredTags") if not str(tags.get(t) or "").strip()]
    if missing:
        yield (f"Add the tag(s) {names(missing)} to {who}: every resource must name its owner, cost centre, data "
               f"classification and environment.")
    for tag, allowed in cfg.table("allowedTagValues").items():
        value = tags.get(tag)
        if value is not None and str(value) not in allowed:
            yield f"Set tag '{tag}' on {who} to one of {names(allowed)} (it is {show(value)})."


REQUIRED_TAGS = resource_policy(
    PolicyMeta(
        name="aoai-required-tags", control="other", concern=CONCERN,
        display_name="Resources carry the required tags", severity=Severity.LOW, controls=ASSET_INVENTORY,
        remediation="Set the stack's tags setting (owner, costCenter, dataClassification; environment is added "
                    "from the environment setting); every component passes them to each resource."),
    "Every resource that takes tags must carry the required tags with allowed values.",
    sorted(TAGGABLE_TYPES),
    {"requiredTags": string_list("Tags every taggable resource must carry (non-empty).",
                                 ["owner", "costCenter", "dataClassification", "environment"]),
     "allowedTagValues": list_map("Tag -> allowed values (tags not listed take any value).",
                                  {"dataClassification": ["public", "internal", "confidential", "restricted"]})},
    _tags)

POLICIES = [REQUIRED_TAGS]
