"""The pack as a whole: names, audit metadata, data tables agreeing with the program, config files, README."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from aoai_policies import builtins, catalog, roles
from aoai_policies import tokens as t
from aoai_policies.metadata import FRAMEWORKS, POLICY_METADATA
from aoai_policies.pack import POLICIES
from jsonschema import Draft7Validator
from policy_harness import PACK_DIR, enforcement_level, full_config, pack_config, policy
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from settings import catalog as program
from settings.policy_catalog import load_catalog

STACKS = ("dev", "prod")
# What dev relaxes, and nothing else (the README explains why).
DEV_LEVELS = {"aoai-no-user-principals": EnforcementLevel.ADVISORY,
              "aoai-protect-data-resources": EnforcementLevel.DISABLED,
              "aoai-delete-locks": EnforcementLevel.DISABLED}


def test_the_pack_has_60_uniquely_named_policies_over_twelve_concerns() -> None:
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names)) == 60
    assert all(re.fullmatch(r"aoai(-[a-z0-9]+)+", n) for n in names), names
    assert {POLICY_METADATA[n].concern for n in names} == {
        "account", "private-access", "encryption", "residency", "deployments", "access", "monitoring", "protection",
        "tagging", "guardrails", "governance", "network"}
    assert set(POLICY_METADATA) == set(names)


@pytest.mark.parametrize("p", POLICIES, ids=lambda p: p.name)
def test_every_policy_carries_description_severity_frameworks_remediation_and_schema(p: Any) -> None:
    meta = POLICY_METADATA[p.name]
    assert p.description.endswith(".") and p.display_name and p.severity is meta.severity
    assert p.remediation_steps == meta.remediation and len(meta.remediation) > 40
    assert p.enforcement_level == EnforcementLevel.MANDATORY
    assert p.framework is not None and p.framework.specification == meta.controls.summary()
    assert meta.controls.by_framework(), f"{p.name} maps to no framework"
    assert set(meta.controls.by_framework()) <= set(FRAMEWORKS)
    assert meta.kind == ("stack" if isinstance(p, StackValidationPolicy) else "resource")
    assert isinstance(p, (ResourceValidationPolicy, StackValidationPolicy))
    assert p.config_schema is not None and "exemptResources" in p.config_schema.properties
    for key, prop in p.config_schema.properties.items():
        assert {"type", "default", "description"} <= set(prop), f"{p.name}.{key} lacks type, default or description"
        assert not validate(prop["default"], prop), f"{p.name}.{key} default does not match its own schema"


def test_every_policy_names_the_review_control_it_serves() -> None:
    """The compliance report groups policies by this field; a typo would drop a policy into the wrong section."""
    controls = {"network", "encryption", "identity", "logging", "residency", "protection", "content", "runtime",
                "other"}
    assert {meta.control for meta in POLICY_METADATA.values()} <= controls
    assert POLICY_METADATA["aoai-deployment-content-filter"].control == "content"
    assert POLICY_METADATA["aoai-cmk-key-access"].control == "encryption"


def test_the_role_table_agrees_with_the_programs() -> None:
    assert roles.ROLE_IDS == program.ROLE_IDS
    assert set(roles.PRIVILEGED_ROLES) == program.PRIVILEGED_ROLES
    assert roles.CMK_ROLE == program.CMK_ROLE


def test_every_stack_deployment_is_an_approved_model_version() -> None:
    """The pack's default approvals are what the stacks deploy today; a new model or version is approved on purpose."""
    from settings import parse_settings
    from tests.support import stack_values

    for stack in STACKS:
        for d in parse_settings(stack_values(stack), stack).deployments:
            assert d.version in catalog.DEFAULT_MODEL_VERSIONS.get(d.model, []), (stack, d.name, d.model, d.version)


def test_the_packs_retirement_dates_equal_the_programs_catalogue() -> None:
    """The pack cannot import the program: its copy of the retirement dates is derived from the catalogue, and
    `python -m offline catalog refresh` rewrites both."""
    from aoai_policies.lifecycle import default_retirements

    from offline.lifecycle_export import pack_retirements
    from settings.model_catalog import load_catalog

    assert default_retirements() == pack_retirements(load_catalog())["retirements"]


def test_the_spillover_sku_table_agrees_with_the_programs() -> None:
    from aoai_policies.lifecycle import SPILLOVER_TARGET_SKUS

    assert program.SPILLOVER_TARGET_SKUS == SPILLOVER_TARGET_SKUS


def test_the_built_in_definitions_agree_with_the_programs_catalogue() -> None:
    """The pack's copy names the same built-ins, effect parameters and Deny choices as the program assigns."""
    catalogue = load_catalog()
    assigned = {c.definition: c for c in catalogue.controls.values()}
    assert set(builtins.BUILTINS) == set(assigned)
    for guid, builtin in builtins.BUILTINS.items():
        definition = catalogue.definitions[guid]
        assert builtin.name == definition.display_name
        assert builtin.effect_parameter == definition.effect_parameter
        assert builtin.denies == (definition.effect("enforce", assigned[guid].max_effect) == "Deny")


def test_the_sku_and_zone_tables_agree_with_the_programs() -> None:
    assert set(catalog.REGIONAL_SKUS) == program.REGIONAL_SKUS
    assert set(catalog.DATA_ZONE_SKUS) == program.DATA_ZONE_SKUS
    assert set(catalog.GLOBAL_SKUS) == program.GLOBAL_SKUS
    assert set(catalog.PROVISIONED_SKUS) == program.PROVISIONED_SKUS
    zones = program.DNS_ZONES["public"]
    assert [zones["openai"], zones["cognitiveservices"]] == catalog.ACCOUNT_ZONES
    assert [zones["aiservices"]] == catalog.AI_SERVICES_ZONES
    assert [zones["vault"]] == catalog.VAULT_ZONES
    assert catalog.SEVERITY_ORDER == program.SEVERITY_THRESHOLDS
    assert list(program.CONTENT_FILTER_CATEGORIES) == catalog.HARM_CATEGORIES


def validate(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Problems of `value` against a config schema, by JSON Schema Draft 7 (what the offline host validates with; the
    CLI's gojsonschema speaks drafts 4-7)."""
    return [f"{path}: {error.message}" for error in Draft7Validator(schema).iter_errors(value)]


@pytest.mark.parametrize("stack", STACKS)
def test_config_files_name_only_known_policies_properties_and_valid_values(stack: str) -> None:
    config = pack_config(stack)
    known = {p.name: p for p in POLICIES}
    levels = {level.value for level in EnforcementLevel}
    assert config.get("all") in levels
    problems = []
    for name, entry in config.items():
        if name == "all":
            continue
        assert name in known, f"{stack}.json configures unknown policy {name}"
        if isinstance(entry, str):
            assert entry in levels
            continue
        config_schema = known[name].config_schema
        assert config_schema is not None
        schema = config_schema.properties
        for key, value in entry.items():
            if key == "enforcementLevel":
                assert value in levels
            else:
                assert key in schema, f"{stack}.json: {name} has no property {key}"
                problems += validate(value, schema[key], f"{name}.{key}")
    assert problems == []


def test_prod_makes_every_policy_mandatory() -> None:
    config = pack_config("prod")
    assert [p.name for p in POLICIES if enforcement_level(p, config) != EnforcementLevel.MANDATORY] == []


def test_prod_config_sets_the_production_requirements() -> None:
    def prop(name: str, key: str) -> Any:
        return pack_config("prod")[name][key]

    assert prop("aoai-cmk-key-strength", "requireHsm") is True
    assert prop("aoai-no-user-principals", "disallowUsers") is True
    assert prop("aoai-throttling-alert", "requireThrottlingAlert") is True
    assert prop("aoai-allowed-regions", "allowedRegions") == ["swedencentral", "francecentral"]
    assert prop("aoai-log-retention", "minRetentionDays") == 365
    assert prop("aoai-deployment-provisioned-throughput", "provisionedDeployments") == ["chat"]
    assert prop("aoai-provisioned-spillover", "requireSpillover") is True
    assert prop("aoai-deployment-version-pinned", "requireNoAutoUpgrade") is True
    assert prop("aoai-required-tags", "allowedTagValues") == {"dataClassification": ["confidential", "restricted"]}


def test_dev_relaxes_only_the_documented_levels() -> None:
    config = pack_config("dev")
    relaxed = {p.name: enforcement_level(p, config) for p in POLICIES
               if enforcement_level(p, config) != EnforcementLevel.MANDATORY}
    assert relaxed == DEV_LEVELS


def test_the_readme_explains_every_dev_relaxation() -> None:
    readme = (PACK_DIR / "README.md").read_text()
    section = readme.split("## Dev relaxations", 1)[1]
    for name, entry in pack_config("dev").items():
        if name != "all" and entry != pack_config("prod").get(name):
            assert f"`{name}`" in section, f"README does not explain the dev relaxation of {name}"


def readme_rows() -> dict[str, str]:
    rows = {}
    table = (PACK_DIR / "README.md").read_text().split("## Policies", 1)[1].split("## Dev relaxations", 1)[0]
    for line in table.splitlines():
        match = re.match(r"^\| `(aoai-[a-z0-9-]+)` \|", line)
        if match:
            rows[match.group(1)] = line
    return rows


@pytest.mark.parametrize("p", POLICIES, ids=lambda p: p.name)
def test_the_readme_table_lists_the_policy_with_its_severity_frameworks_and_outside_ids(p: Any) -> None:
    row = readme_rows().get(p.name)
    assert row is not None, f"README table has no row for {p.name}"
    meta = POLICY_METADATA[p.name]
    assert f"| {meta.severity.value} |" in row
    for rule in (*meta.checkov, *meta.azure_policy, *meta.psrule):
        assert rule in row
    for controls in meta.controls.by_framework().values():
        assert all(c in row for c in controls)
    assert ("ours only" in row) == meta.ours_only


def test_main_is_one_line_that_builds_the_pack() -> None:
    lines = [line for line in (PACK_DIR / "__main__.py").read_text().splitlines() if line.strip()]
    assert len(lines) == 1 and "build()" in lines[0]


def test_the_policy_project_file_declares_python_and_keeps_the_pinned_requirements() -> None:
    project = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())
    # The CLI gives a pack no virtualenv by default: it must name the one `make setup` creates (issue 9).
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "../.venv"}}
    assert project["description"]
    requirements = (PACK_DIR / "requirements.txt").read_text()
    assert "pulumi==3.272.0" in requirements and "pulumi-policy==1.21.0" in requirements


def test_the_pack_imports_neither_the_program_nor_a_provider_sdk() -> None:
    code = ("import sys, aoai_policies.pack; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'pulumi_azure_native', 'settings', 'components', 'offline'}); print(bad)")
    result = subprocess.run([sys.executable, "-c", code], cwd=PACK_DIR, capture_output=True, text=True, check=True,
                            timeout=60)
    assert result.stdout.strip() == "[]"


def test_policies_apply_their_schema_defaults_when_a_host_passes_no_config() -> None:
    p = policy("aoai-log-retention")
    assert isinstance(p, ResourceValidationPolicy)
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)
    reported: list[str] = []
    args = ResourceValidationArgs(t.WORKSPACE, {"retentionInDays": 60.0}, "urn:x", "ws", options, None, None)
    p.validate(args, lambda message, urn=None: reported.append(message))  # type: ignore[misc]
    assert reported and "at least 90" in reported[0]  # the schema default, as the CLI would have sent it


def test_an_enforcement_level_in_the_config_is_not_mistaken_for_a_property() -> None:
    p = policy("aoai-log-retention")
    assert isinstance(p, ResourceValidationPolicy)
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)
    reported: list[str] = []
    config = {"enforcementLevel": "advisory", "minRetentionDays": 30}
    args = ResourceValidationArgs(t.WORKSPACE, {"retentionInDays": 60.0}, "urn:x", "ws", options, None, config)
    p.validate(args, lambda message, urn=None: reported.append(message))  # type: ignore[misc]
    assert reported == []


def test_every_policy_names_the_stack_keys_and_config_properties_an_operator_changes() -> None:
    """aoai_policies/remedies.py: an entry per policy; every stack key a real setting, every property in the schema."""
    from aoai_policies.remedies import REMEDIES, where

    from settings.parse import TOP_LEVEL_KEYS

    root = Path(__file__).resolve().parents[2]
    assert set(REMEDIES) == {p.name for p in POLICIES}
    for p in POLICIES:
        remedy = REMEDIES[p.name]
        assert remedy.stack or remedy.config or remedy.program, p.name
        for key in remedy.stack:
            assert key.split(".")[0].split("[")[0] in TOP_LEVEL_KEYS, (p.name, key)
        schema = p.config_schema.properties if p.config_schema else {}
        for prop in remedy.config:
            assert prop in schema, (p.name, prop)
        for path in remedy.program:
            assert (root / path).exists(), (p.name, path)
        line = where(p.name, "prod")
        assert line.startswith("Fix in ") and f"policy config policies/config/prod.json: {p.name}." in line
        if remedy.stack:
            assert f"stack file Pulumi.prod.yaml: {', '.join(remedy.stack)}" in line


def test_a_misspelt_property_or_replace_is_reported_by_the_pack_itself_under_the_cli() -> None:
    """The CLI passes unknown properties on; the pack says so once, on the root stack, so `pulumi preview` (not only
    the offline gate) shows the typo."""
    from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs

    p = policy("aoai-log-retention")
    opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)
    config = {**full_config(p), "minRetentionDay": 400, "replace": ["minRetentionDays"]}
    found: list[str] = []
    args = ResourceValidationArgs("pulumi:pulumi:Stack", {}, "urn:pulumi:prod::aoai-platform::pulumi:pulumi:Stack::s",
                                  "s", opts, None, config)
    p.validate(args, lambda message, urn=None: found.append(message))  # type: ignore[misc]
    assert [m.split("\n")[0] for m in found] == [
        "Correct the policy config of aoai-log-retention: 'minRetentionDay' is not one of its properties (did you "
        "mean 'minRetentionDays'?); the Pulumi CLI passes it on silently, so the setting meant is not applied.",
        "Correct the policy config of aoai-log-retention: replace names 'minRetentionDays', which is not one of its "
        "allow-lists (it has none).",
    ]
    assert all("\nFix in policy config policies/config/" in m for m in found)
    workspace = ResourceValidationArgs("azure-native:operationalinsights:Workspace", {"retentionInDays": 400},
                                       "urn:w", "w", opts, None, config)
    found.clear()
    p.validate(workspace, lambda message, urn=None: found.append(message))  # type: ignore[misc]
    assert found == [], "reported once, on the root stack, not on every resource"
