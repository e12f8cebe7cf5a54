"""The oracle for the served gate: the pack's policy objects called directly, in this process, with pulumi_policy
argument objects built straight from the graph.

It shares no code with offline/gate.py or offline/analyzer_host.py (its own value conversion and stack assembly), so
agreement between the two means the host's gRPC transport and stack wiring lose and add nothing. The config merge is
the CLI's rule, which lives once in the pack's aoai_policies/config_defaults.py (issue 13): the oracle applies that
same rule to the file directly, the host applies it after the file went through its parser and validation.
"""

from __future__ import annotations

import copy
import importlib.metadata
import json
import os
import runpy
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi_policy
import pulumi_policy.policy as policy_module
from pulumi.output import Unknown
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from offline.engine import Graph

UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


@dataclass(frozen=True)
class PackDefinition:
    """What the pack's __main__ hands to PolicyPack(...)."""

    name: str
    policies: list[Policy]
    enforcement_level: EnforcementLevel


class _Built(Exception):
    def __init__(self, definition: PackDefinition):
        super().__init__(definition.name)
        self.definition = definition


def load_pack(pack_dir: Path) -> PackDefinition:
    """Run the pack's __main__.py as `python -m pulumi.policy` would, but with PolicyPack capturing its arguments
    instead of serving them."""
    original = pulumi_policy.PolicyPack

    class Capture:
        def __init__(self, name: str, policies: list[Policy], enforcement_level: EnforcementLevel | None = None,
                     *args: Any, **kwargs: Any) -> None:
            raise _Built(PackDefinition(name, list(policies), enforcement_level or EnforcementLevel.ADVISORY))

    # The module dict, not getattr(): provider SDK modules import lazily on attribute access.
    patched = [m for m in list(sys.modules.values()) if getattr(m, "__dict__", {}).get("PolicyPack") is original]
    for module in patched:
        module.PolicyPack = Capture  # type: ignore[attr-defined]
    sys.path.insert(0, str(pack_dir))
    try:
        runpy.run_path(str(pack_dir / "__main__.py"), run_name="__main__")
    except _Built as built:
        return built.definition
    finally:
        sys.path.remove(str(pack_dir))
        for module in patched:
            module.PolicyPack = original  # type: ignore[attr-defined]
    raise AssertionError(f"{pack_dir}/__main__.py never built a PolicyPack")


def engine_json(value: Any) -> Any:
    """What a Struct round trip leaves of a value: unknown -> sentinel, every number a float."""
    if isinstance(value, Unknown):
        return UNKNOWN_STRING
    if isinstance(value, Mapping):
        return {str(k): engine_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [engine_json(v) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def _props(value: Mapping[str, Any]) -> Any:
    return unknown_checking_proxy(deserialize_properties(json.loads(json.dumps(engine_json(value)))))


def policy_config(definition: PackDefinition, config_file: Path | None) -> dict[str, tuple[EnforcementLevel, dict]]:
    """Level and properties per policy: the policy's level (or the pack's), schema defaults, then the file's 'all'
    level and per-policy entries."""
    from offline.policy_config import rules  # the pack's config_defaults.py, loaded by path

    PolicyDefaults, parse_entries, reconcile = rules().PolicyDefaults, rules().parse_entries, rules().reconcile
    given = json.loads(config_file.read_text()) if config_file is not None else {}
    defaults = [PolicyDefaults(p.name, (p.enforcement_level or definition.enforcement_level).value,
                               (p.config_schema.properties if p.config_schema else None) or {})
                for p in definition.policies]
    merged = reconcile(defaults, parse_entries(given))
    return {p.name: (EnforcementLevel(merged[p.name].level), merged[p.name].properties) for p in definition.policies}


@dataclass(frozen=True)
class DirectResult:
    violations: frozenset[tuple[str, str, str, str]]  # (policy, level, urn, message)
    undecided: frozenset[tuple[str, str]]  # (policy, urn)


def evaluate(definition: PackDefinition, graph: Graph, config_file: Path | None) -> DirectResult:
    """Every policy over the graph: resource policies on every registration's inputs (the root stack, the default
    provider, components and custom resources, as the engine analyzes them), stack policies on the whole stack's
    outputs (a component's are what it registered). The policies see the environment the CLI gives a pack
    (PULUMI_STACK, PULUMI_PROJECT), as the served pack does."""
    saved = {k: os.environ.get(k) for k in ("PULUMI_STACK", "PULUMI_PROJECT")}
    os.environ.update(PULUMI_STACK=graph.stack, PULUMI_PROJECT=graph.project)
    try:
        return _evaluate(definition, graph, config_file)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _evaluate(definition: PackDefinition, graph: Graph, config_file: Path | None) -> DirectResult:
    config = policy_config(definition, config_file)
    root_urn = f"urn:pulumi:{graph.stack}::{graph.project}::pulumi:pulumi:Stack::{graph.project}-{graph.stack}"
    version = importlib.metadata.version("pulumi_azure_native")
    provider_name = "default_" + version.replace(".", "_")
    provider_urn = f"urn:pulumi:{graph.stack}::{graph.project}::pulumi:providers:azure-native::{provider_name}"
    provider = PolicyProviderResource("pulumi:providers:azure-native", _props({"version": version}), provider_urn,
                                      provider_name)

    def options(protect: bool, ignore_changes: list[str], parent: str) -> PolicyResourceOptions:
        return PolicyResourceOptions(protect, ignore_changes, None, [], PolicyCustomTimeouts(0, 0, 0), [],
                                     parent or None)

    violations: set[tuple[str, str, str, str]] = set()
    undecided: set[tuple[str, str]] = set()
    # (type, inputs, urn, name, options, provider) of everything the engine sends to Analyze.
    registrations = [("pulumi:pulumi:Stack", {}, root_urn, f"{graph.project}-{graph.stack}", options(False, [], ""),
                      None),
                     (provider.resource_type, {"version": version}, provider_urn, provider_name,
                      options(False, [], ""), None)]
    registrations += [(r.type, r.inputs, r.urn, r.name, options(r.protect, list(r.ignore_changes), r.parent),
                       provider if r.custom else None) for r in sorted(graph.resources, key=lambda r: r.urn)]
    for policy in definition.policies:
        level, properties = config[policy.name]
        if level == EnforcementLevel.DISABLED:
            continue
        shown = "mandatory" if level in (EnforcementLevel.MANDATORY, EnforcementLevel.REMEDIATE) else "advisory"
        if isinstance(policy, ResourceValidationPolicy):
            for type_, inputs, resource_urn, name, resource_options, resource_provider in registrations:
                args = ResourceValidationArgs(type_, _props(inputs), resource_urn, name, resource_options,
                                              resource_provider, copy.deepcopy(properties))
                found: list[tuple[str, str | None]] = []
                try:
                    policy.validate(args, lambda message, urn=None, sink=found: sink.append((message, urn)))
                except UnknownValueError:
                    undecided.add((policy.name, resource_urn))
                except policy_module._NotApplicableError:
                    pass
                violations |= {(policy.name, shown, urn or resource_urn, message) for message, urn in found}
        elif isinstance(policy, StackValidationPolicy):
            resources = _stack(graph, root_urn, provider, options)
            known = {r.urn for r in resources}
            found = []
            try:
                policy.validate(StackValidationArgs(resources, copy.deepcopy(properties)),
                                lambda message, urn=None, sink=found: sink.append((message, urn)))
            except UnknownValueError:
                undecided.add((policy.name, root_urn))
            except policy_module._NotApplicableError:
                pass
            violations |= {(policy.name, shown, urn if urn in known else root_urn, message) for message, urn in found}
    return DirectResult(frozenset(violations), frozenset(undecided))


def _stack(graph: Graph, root_urn: str, provider: PolicyProviderResource, options: Any) -> list[PolicyResource]:
    resources: dict[str, PolicyResource] = {}
    links: dict[str, tuple[str, list[str], dict[str, list[str]]]] = {}
    resources[root_urn] = PolicyResource("pulumi:pulumi:Stack", _props(graph.outputs), root_urn,
                                         f"{graph.project}-{graph.stack}", options(False, [], ""), None, None, [], {})
    # The engine registers a default provider without a parent (step_generator.go `checkParent`).
    resources[provider.urn] = PolicyResource(provider.resource_type, provider.props, provider.urn, provider.name,
                                             options(False, [], ""), None, None, [], {})
    links[provider.urn] = ("", [], {})
    for r in graph.resources:
        resources[r.urn] = PolicyResource(r.type, _props(r.outputs), r.urn, r.name,
                                          options(r.protect, list(r.ignore_changes), r.parent),
                                          provider if r.custom else None, None, [], {})
        links[r.urn] = (r.parent, sorted(set(r.dependencies)),
                        {k: sorted(set(v)) for k, v in r.property_dependencies.items() if v})
    for urn, (parent, dependencies, property_dependencies) in links.items():
        resource = resources[urn]
        resource.parent = resources.get(parent)
        resource.dependencies = [resources[d] for d in dependencies if d in resources]
        resource.property_dependencies = {k: [resources[d] for d in v if d in resources]
                                          for k, v in property_dependencies.items()}
    return [resources[urn] for urn in sorted(resources)]
