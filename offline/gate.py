"""The policy gate: a captured resource graph analyzed by a served policy pack, as `pulumi preview --policy-pack` would.

The engine analyzes every registration, not only the Azure resources (pulumi/pulumi
pkg/resource/deploy/step_generator.go, read 2026-11-30): the root stack, each default provider (registered by the
engine just before the first resource of its package, pkg/resource/deploy/default_providers.go), every component and
every custom resource get Remediate and then Analyze on their inputs, in registration order. AnalyzeStack then gets
every one of them with its outputs (`AnalyzeResources`: the root stack with the stack outputs, a component with what
it passed to `register_outputs`), parent and dependencies. Diagnostics come back per policy; the pack's "can't run ...
during preview" notes are kept apart as undecided, since a first preview cannot know the values those policies read.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .analyzer_host import Diagnostic, PackInfo, PolicyPackHost, PolicyTarget, ProviderRef, StackContext
from .engine import PROJECT_DIR, ROOT_STACK_TYPE, Graph, Resource
from .policy_config import (
    PolicyConfig,
    PolicyConfigFile,
    PolicySchema,
    check_file,
    check_references,
    read_policy_config,
    reconcile,
)
from .values import to_engine

LEVEL_ORDER = {"mandatory": 0, "remediate": 1, "advisory": 2, "disabled": 3}
_PREVIEW_NOTE = "during preview:"


@dataclass(frozen=True)
class Violation:
    """A policy verdict against one resource (or the stack)."""

    policy: str
    enforcement_level: str
    urn: str
    message: str
    severity: str = ""
    stage: str = "resource"  # resource (Analyze, on inputs) or stack (AnalyzeStack, on outputs)

    @property
    def resource_name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]

    @property
    def resource_type(self) -> str:
        return self.urn.split("::")[2].split("$")[-1] if self.urn.count("::") >= 3 else ""

    def as_json(self) -> dict[str, Any]:
        return {"policy": self.policy, "enforcementLevel": self.enforcement_level, "urn": self.urn,
                "message": self.message, "severity": self.severity, "stage": self.stage}


@dataclass(frozen=True)
class Finding:
    """One thing a rule says, its resource's name taken out when it says it of several, and the resources."""

    message: str
    resources: tuple[tuple[str, str], ...]  # (name, type)
    urns: tuple[str, ...]


@dataclass(frozen=True)
class ViolationGroup:
    """Every violation of one rule at one level: the line that says where to fix it once, then each distinct finding
    with the resources it applies to, so fifty copies of one mistake read as one."""

    policy: str
    enforcement_level: str
    where: str
    findings: tuple[Finding, ...]

    NAME = "<resource>"

    @property
    def count(self) -> int:
        return sum(len(f.urns) for f in self.findings)

    def as_json(self) -> dict[str, Any]:
        return {"policy": self.policy, "enforcementLevel": self.enforcement_level, "count": self.count,
                "fixIn": self.where, "findings": [{"message": f.message, "urns": list(f.urns)} for f in self.findings]}


def group_violations(violations: tuple[Violation, ...] | list[Violation]) -> list[ViolationGroup]:
    """Violations grouped by rule and level, and within a rule by message with the resource's name taken out."""
    rules: dict[tuple[str, str], dict[str, list[Violation]]] = {}
    wheres: dict[tuple[str, str], str] = {}
    for v in violations:
        sentence, _, where = v.message.rpartition("\nFix in ")
        sentence, where = (sentence, "Fix in " + where) if _ else (v.message, "")
        template = sentence.replace(f"'{v.resource_name}'", f"'{ViolationGroup.NAME}'")
        rules.setdefault((v.policy, v.enforcement_level), {}).setdefault(template, []).append(v)
        wheres.setdefault((v.policy, v.enforcement_level), where)
    groups = []
    for (policy, level), templates in rules.items():
        findings = tuple(
            Finding(template if len(found) > 1 else found[0].message.rpartition("\nFix in ")[0] or found[0].message,
                    tuple((v.resource_name, v.resource_type) for v in found), tuple(v.urn for v in found))
            for template, found in templates.items())
        groups.append(ViolationGroup(policy, level, wheres[(policy, level)], findings))
    return groups


@dataclass(frozen=True)
class Undecided:
    """A policy that could not decide because a value it reads is unknown until the resources exist."""

    policy: str
    urn: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"policy": self.policy, "urn": self.urn, "message": self.message}


@dataclass(frozen=True)
class CheckResult:
    """Everything one gate run found, ordered deterministically."""

    stack: str
    project: str
    pack: PackInfo
    config_source: str
    levels: Mapping[str, str]
    violations: tuple[Violation, ...]
    undecided: tuple[Undecided, ...]
    not_applicable: tuple[tuple[str, str, str], ...]
    analyzed: int
    first_preview: bool = False
    policy_config: Mapping[str, PolicyConfig] = field(default_factory=dict)
    remediated: tuple[tuple[str, str], ...] = ()  # (policy, urn): inputs a remediation policy rewrote

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement_level == "mandatory"]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement_level == "advisory"]

    def groups(self) -> list[ViolationGroup]:
        """The violations grouped: one entry per rule and message, with the resources it applies to."""
        return group_violations(self.violations)

    @property
    def exit_code(self) -> int:
        """0 when nothing mandatory failed, 1 otherwise (what `pulumi preview` returns with the pack)."""
        return 1 if self.mandatory else 0

    def verdicts(self) -> dict[str, str]:
        """Per policy: 'pass', 'fail', 'undecided' or 'disabled' (the compliance report's column)."""
        failed = {v.policy for v in self.violations}
        undecided = {u.policy for u in self.undecided}
        result = {}
        for policy in self.pack.policies:
            if self.levels.get(policy.name) == "disabled":
                result[policy.name] = "disabled"
            elif policy.name in failed:
                result[policy.name] = "fail"
            elif policy.name in undecided:
                result[policy.name] = "undecided"
            else:
                result[policy.name] = "pass"
        return result


def root_stack_urn(graph: Graph) -> str:
    """The engine's URN of the stack resource, parent of every top-level component."""
    return f"urn:pulumi:{graph.stack}::{graph.project}::{ROOT_STACK_TYPE}::{graph.project}-{graph.stack}"


# The Python distribution of each provider package the program uses, whose version names the default provider.
_DISTRIBUTIONS = {"azure-native": "pulumi_azure_native", "time": "pulumiverse_time"}


@functools.cache
def _package_version(package: str) -> str:
    """The installed SDK version of a provider package ('' when none is installed). Cached: reading package metadata
    costs a millisecond, and a check asks for it once per resource, twice."""
    try:
        return importlib.metadata.version(_DISTRIBUTIONS.get(package, f"pulumi_{package.replace('-', '_')}"))
    except importlib.metadata.PackageNotFoundError:
        return ""


def default_provider(graph: Graph, type_: str) -> ProviderRef:
    """The default provider the engine would create for a resource's package, e.g. `default_3_29_0`."""
    package = type_.split(":")[0]
    version = _package_version(package)
    name = f"default_{version.replace('.', '_')}" if version else "default"
    urn = f"urn:pulumi:{graph.stack}::{graph.project}::pulumi:providers:{package}::{name}"
    return ProviderRef(urn, f"pulumi:providers:{package}", name, {"version": version} if version else {})


def _target(graph: Graph, resource: Resource, properties: Mapping[str, Any]) -> PolicyTarget:
    return PolicyTarget(
        urn=resource.urn, type=resource.type, name=resource.name, properties=to_engine(properties),
        protect=resource.protect, ignore_changes=tuple(resource.ignore_changes), parent=resource.parent,
        dependencies=tuple(sorted(set(resource.dependencies))),
        property_dependencies={k: tuple(sorted(set(v))) for k, v in sorted(resource.property_dependencies.items())},
        provider=default_provider(graph, resource.type) if resource.custom else None)


def root_target(graph: Graph, properties: Mapping[str, Any]) -> PolicyTarget:
    """The root stack: registered by the SDK with no inputs; its outputs are the stack outputs."""
    return PolicyTarget(urn=root_stack_urn(graph), type=ROOT_STACK_TYPE, name=f"{graph.project}-{graph.stack}",
                        properties=to_engine(properties))


def provider_target(provider: ProviderRef) -> PolicyTarget:
    """A default provider, as the engine registers it: no parent (step_generator.go `checkParent` leaves it empty)
    and its inputs (version and the package's config) as both inputs and outputs."""
    return PolicyTarget(urn=provider.urn, type=provider.type, name=provider.name,
                        properties=to_engine(provider.properties))


def resource_targets(graph: Graph) -> list[PolicyTarget]:
    """What Remediate and Analyze see, in the engine's order: the root stack, then every registration with its
    inputs, each default provider just before the first resource that needs it."""
    targets = [root_target(graph, {})]
    providers: set[str] = set()
    for resource in graph.resources:
        if resource.custom:
            provider = default_provider(graph, resource.type)
            if provider.urn not in providers:
                providers.add(provider.urn)
                targets.append(provider_target(provider))
        targets.append(_target(graph, resource, resource.inputs))
    return targets


def stack_targets(graph: Graph) -> list[PolicyTarget]:
    """What AnalyzeStack sees: the root stack (its outputs are the stack outputs), the default providers and every
    registration with its outputs (a component's are what it registered), by URN."""
    providers = {p.urn: p for p in (default_provider(graph, r.type) for r in graph.resources if r.custom)}
    resources = [_target(graph, r, r.outputs) for r in graph.resources]
    return sorted([root_target(graph, graph.outputs), *map(provider_target, providers.values()), *resources],
                  key=lambda t: t.urn)


def stack_context(graph: Graph, config: Mapping[str, str], secret_keys: tuple[str, ...] = ()) -> StackContext:
    """The stack as ConfigureStack describes it to the pack: a preview (dry run) with the stack's config."""
    return StackContext(project=graph.project, stack=graph.stack, config=dict(config), dry_run=True,
                        secret_keys=secret_keys)


def display_path(path: Path | None) -> str:
    """A path inside the project as the project names it (policies/config/prod.json), so outputs do not depend on
    where the checkout lives; "" for none."""
    if path is None:
        return ""
    try:
        return str(path.resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)


def default_policy_config(pack_dir: Path, stack: str) -> Path | None:
    """policies/config/<stack>.json when it exists: the file CI passes as --policy-pack-config."""
    path = pack_dir / "config" / f"{stack}.json"
    return path if path.exists() else None


def policy_schemas(host: PolicyPackHost) -> list[PolicySchema]:
    """Each policy's name, level and config schema, as the pack announced them."""
    assert host.info is not None
    return [PolicySchema(p.name, p.enforcement_level, dict(p.config_properties), p.config_required)
            for p in host.info.policies]


def configure(host: PolicyPackHost, config: PolicyConfigFile | None) -> dict[str, PolicyConfig]:
    """Check the config file against what the pack announced, reconcile the pack's defaults, its initial config and
    the file as the CLI does, and send the result to the pack."""
    assert host.client is not None and host.info is not None
    info = host.info
    schemas = policy_schemas(host)
    if config is not None:
        check_file(config, schemas, info.name)
    initial = {name: PolicyConfig(level, props) for name, (level, props) in info.initial_config.items()}
    merged = reconcile(schemas, initial, config.entries if config else {},
                       config.document if config else None)
    host.client.configure({name: (c.enforcement_level, c.properties) for name, c in merged.items()})
    return merged


def vocabularies() -> dict[str, list[str]]:
    """What allow-list entries may name: the regions, models and roles the project knows (settings/)."""
    from settings.catalog import REGIONS, ROLE_IDS
    from settings.model_catalog import load_catalog

    catalog = load_catalog()
    models = sorted({name for region in catalog.regions.values() for name in region.models()})
    return {"region": sorted(REGIONS), "role": sorted(ROLE_IDS), "model": models}


def run_check(host: PolicyPackHost, graph: Graph, config_path: Path | None, context: StackContext,
              first_preview: bool = False, config_label: str | None = None,
              stack_file: str | None = None, passed: Mapping[str, PolicyTarget] | None = None) -> CheckResult:
    """Describe the stack to the pack, configure it, and analyze the graph in the CLI's order: ConfigureStack,
    GetAnalyzerInfo, Configure, Remediate and Analyze for every registration, AnalyzeStack once.
    `config_label` is how outputs name the config file (default: its path); `stack_file` how they name the stack
    file (default: Pulumi.<stack>.yaml): the pack's "Fix in" lines name the files by convention, these are the files
    this run read.

    `passed` (tests only; `check` never passes it) holds resource-stage targets, by URN, already known to pass every
    enabled policy of this configuration: a registration equal to one of them is not sent to Remediate and Analyze,
    since a resource policy sees nothing but the registration and its config. A test that varies a graph whose
    unchanged form passes (tests/offline/conftest.py, `gate`) so pays only for what it changed."""
    host.connect(context)
    assert host.client is not None and host.info is not None
    label = config_label if config_label is not None else display_path(config_path)
    config = read_policy_config(config_path, label) if config_path is not None else None
    merged = configure(host, config)
    if config is not None:
        check_references(config, policy_schemas(host), {r.name: r.urn for r in graph.resources}, vocabularies())
    levels = {p.name: merged[p.name].enforcement_level for p in host.info.policies}
    rename = _file_names(graph.stack, stack_file, label)

    violations: set[Violation] = set()
    undecided: set[Undecided] = set()
    not_applicable: set[tuple[str, str, str]] = set()
    remediated: set[tuple[str, str]] = set()
    targets = [t for t in resource_targets(graph) if passed is None or passed.get(t.urn) != t]
    for target, result in zip(targets, host.client.analyze_all(targets), strict=True):
        _collect(result.diagnostics, target.urn, "resource", violations, undecided)
        not_applicable |= {(policy, target.urn, reason) for policy, reason in result.not_applicable}
        for remediation in result.remediations:
            if remediation.diagnostic:  # a remediation that failed: the engine reports it as advisory
                violations.add(Violation(remediation.policy_name, "advisory", target.urn, remediation.diagnostic))
            else:
                remediated.add((remediation.policy_name, target.urn))
    everything = stack_targets(graph)
    stack_urns = {t.urn for t in everything}
    stack_result = host.client.analyze_stack(everything)
    # As the CLI does: a stack diagnostic naming no resource of the stack is attributed to the root stack.
    _collect(stack_result.diagnostics, root_stack_urn(graph), "stack", violations, undecided, stack_urns)
    not_applicable |= {(policy, root_stack_urn(graph), reason) for policy, reason in stack_result.not_applicable}

    return CheckResult(
        stack=graph.stack, project=graph.project, pack=host.info,
        config_source=label,
        levels=levels,
        violations=tuple(sorted((_renamed(v, rename) for v in violations),
                                key=lambda v: (LEVEL_ORDER.get(v.enforcement_level, 9), v.policy, v.urn, v.message))),
        undecided=tuple(sorted(undecided, key=lambda u: (u.policy, u.urn, u.message))),
        not_applicable=tuple(sorted(not_applicable)), analyzed=sum(1 for r in graph.resources if r.custom),
        first_preview=first_preview, remediated=tuple(sorted(remediated)),
        policy_config=merged)


def _collect(diagnostics: tuple[Diagnostic, ...], default_urn: str, stage: str, violations: set[Violation],
             undecided: set[Undecided], known_urns: set[str] | None = None) -> None:
    for d in diagnostics:
        urn = d.urn if d.urn and (known_urns is None or d.urn in known_urns) else default_urn
        if d.enforcement_level == "advisory" and f"can't run policy '{d.policy_name}'" in d.message \
                and _PREVIEW_NOTE in d.message:
            undecided.add(Undecided(d.policy_name, urn, d.message.split(_PREVIEW_NOTE, 1)[1].strip()))
            continue
        level = "mandatory" if d.enforcement_level == "remediate" else d.enforcement_level
        violations.add(Violation(d.policy_name, level, urn, _own_message(d), d.severity, stage))


def _own_message(d: Diagnostic) -> str:
    """The pack prefixes each message with the policy's description; keep what the policy itself said."""
    if d.message.startswith(d.description + "\n"):
        return d.message[len(d.description) + 1:].strip()
    return d.message.strip()


def _file_names(stack: str, stack_file: str | None, config: str) -> dict[str, str]:
    """The pack's conventional file names -> the files this run read, where they differ."""
    rename = {}
    if stack_file and stack_file != f"Pulumi.{stack}.yaml":
        rename[f"stack file Pulumi.{stack}.yaml"] = f"stack file {stack_file}"
    if config and config != f"policies/config/{stack}.json":
        rename[f"policy config policies/config/{stack}.json"] = f"policy config {config}"
    return rename


def _renamed(violation: Violation, rename: Mapping[str, str]) -> Violation:
    message = violation.message
    for old, new in rename.items():
        message = message.replace(old, new)
    return violation if message == violation.message else dataclasses.replace(violation, message=message)
