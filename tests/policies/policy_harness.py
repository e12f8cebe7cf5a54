"""Call the pack's policies directly, as the CLI would: full config (schema defaults + the stack's policy config),
inputs for resource policies, outputs for stack policies, props behind the SDK's unknown-checking proxy."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aoai_policies.config_defaults import PolicyDefaults, parse_entries, reconcile
from aoai_policies.pack import POLICIES
from aoai_policies.remedies import WHERE, split
from pulumi.output import Unknown
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

PACK_DIR = Path(__file__).resolve().parents[2] / "policies"
PROJECT = "aoai-platform"


def pack_config(stack: str) -> dict[str, Any]:
    """The stack's policy config file, as `--policy-pack-config policies/config/<stack>.json` passes it."""
    return json.loads((PACK_DIR / "config" / f"{stack}.json").read_text())


def policy(name: str) -> Policy:
    """The pack's policy of that name."""
    return _BY_NAME[name]


_BY_NAME = {p.name: p for p in POLICIES}


def _reconciled(p: Policy, config: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """The CLI's reconciliation for one policy (aoai_policies/config_defaults.py, the one place the rule lives); the
    properties are the caller's to change."""
    level, properties = _reconciled_once(p.name, json.dumps(config or {}, sort_keys=True))
    return level, copy.deepcopy(properties)


@functools.lru_cache(maxsize=4096)
def _reconciled_once(name: str, config: str) -> tuple[str, dict[str, Any]]:
    """`_reconciled` for a policy and a config's JSON text: the same every time, so worked out once per session."""
    p = policy(name)
    schema = p.config_schema.properties if p.config_schema else {}
    level = (p.enforcement_level or EnforcementLevel.ADVISORY).value
    entry = reconcile([PolicyDefaults(p.name, level, schema)], parse_entries(json.loads(config)))[p.name]
    return entry.level, entry.properties


def enforcement_level(p: Policy, config: Mapping[str, Any]) -> EnforcementLevel:
    """The level the CLI gives a policy: its own entry, else "all", else the policy's default."""
    return EnforcementLevel(_reconciled(p, config)[0])


def full_config(p: Policy, stack: str | None = "prod", **overrides: Any) -> dict[str, Any]:
    """What the CLI sends a policy: every schema default, then the stack's values, then the test's overrides.
    The SDK does not apply defaults itself, so tests always pass the whole config."""
    schema = p.config_schema.properties if p.config_schema else {}
    values = _reconciled(p, pack_config(stack) if stack else None)[1]
    values.update(copy.deepcopy(overrides))
    unknown = set(values) - set(schema)
    assert not unknown, f"config keys {sorted(unknown)} are not in the schema of {p.name}"
    return values


def _options(protect: bool = False, parent: str | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)


def urn_of(resource_type: str, name: str) -> str:
    """A URN in the engine's form for a test resource."""
    return f"urn:pulumi:test::{PROJECT}::{resource_type}::{name}"


def check_resource(policy_name: str, resource_type: str, props: Mapping[str, Any], *, name: str = "subject",
                   protect: bool = False, stack: str | None = "prod", **config: Any) -> list[str]:
    """Run a resource policy on one resource's inputs; the violation messages it reports."""
    p = policy(policy_name)
    assert isinstance(p, ResourceValidationPolicy)
    args = ResourceValidationArgs(resource_type, unknown_checking_proxy(copy.deepcopy(dict(props))),
                                  urn_of(resource_type, name), name, _options(protect), None,
                                  full_config(p, stack, **config))
    messages: list[str] = []

    def collect(message: str, urn: str | None = None) -> None:
        messages.append(own_sentence(policy_name, message))

    p.validate(args, collect)
    return messages


def own_sentence(policy_name: str, message: str) -> str:
    """The policy's own sentence of a message, after checking that the message ends with the line that names the keys
    to change (aoai_policies/remedies.py); every test of a message checks that line this way."""
    sentence, where = split(message)
    assert where.startswith(WHERE) and ("stack file Pulumi." in where or "policy config policies/config/" in where), \
        f"{policy_name}: the message does not say which file and key to change: {message!r}"
    return sentence


@dataclass
class Res:
    """A stack resource for tests: type, Pulumi name, outputs, protect, parent and dependencies by name."""

    type: str
    name: str
    props: dict[str, Any]
    protect: bool = False
    parent: str | None = None
    depends: list[str] = field(default_factory=list)

    @property
    def urn(self) -> str:
        return urn_of(self.type, self.name)


def policy_resources(specs: Iterable[Res]) -> list[PolicyResource]:
    """PolicyResources linked by parent and dependencies, as the SDK's AnalyzeStack builds them."""
    specs = list(specs)
    made = {s.name: PolicyResource(s.type, unknown_checking_proxy(copy.deepcopy(s.props)), s.urn, s.name,
                                   _options(s.protect, urn_of("x", s.parent) if s.parent else None), None, None, [],
                                   {}) for s in specs}
    for s in specs:
        made[s.name].parent = made.get(s.parent) if s.parent else None
        made[s.name].dependencies.extend(made[d] for d in s.depends if d in made)  # removed ones vanish
    return list(made.values())


@dataclass(frozen=True)
class Finding:
    """One reported violation: which policy, at which level, about which resource, and what to do."""

    policy: str
    level: EnforcementLevel
    message: str
    urn: str | None


def check_stack(policy_name: str, resources: Sequence[Res] | Sequence[PolicyResource], *,
                stack: str | None = "prod", **config: Any) -> list[Finding]:
    """Run a stack policy on resources' outputs; the findings it reports (with the resource's URN)."""
    p = policy(policy_name)
    assert isinstance(p, StackValidationPolicy)
    items = list(resources)
    prs = policy_resources(items) if items and isinstance(items[0], Res) else items  # type: ignore[arg-type]
    findings: list[Finding] = []

    def collect(message: str, urn: str | None = None) -> None:
        findings.append(Finding(policy_name, EnforcementLevel.MANDATORY, own_sentence(policy_name, message), urn))

    p.validate(StackValidationArgs(prs, full_config(p, stack, **config)), collect)  # type: ignore[arg-type]
    return findings


def messages(findings: Iterable[Finding]) -> list[str]:
    """Just the messages."""
    return [f.message for f in findings]


def engine_value(value: Any) -> Any:
    """A value as the engine sends it to an analyzer: unknowns (computed during preview) as the unknown sentinel."""
    if isinstance(value, Unknown):
        return UNKNOWN_STRING_VALUE
    if isinstance(value, Mapping):
        return {k: engine_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [engine_value(v) for v in value]
    return copy.deepcopy(value)


def graph_resources(graph: Any, outputs: bool) -> list[PolicyResource]:
    """An offline-engine graph as the SDK gives it to stack policies (outputs) or, per resource, resource policies
    (inputs); parents and dependencies linked by URN."""
    made = {}
    for r in graph.resources:
        props = r.outputs if (outputs and r.custom) else r.inputs
        made[r.urn] = PolicyResource(r.type, unknown_checking_proxy(engine_value(props)), r.urn, r.name,
                                     _options(r.protect, r.parent or None), None, None, [], {})
    for r in graph.resources:
        made[r.urn].parent = made.get(r.parent)
        made[r.urn].dependencies.extend(made[d] for d in r.dependencies if d in made)
        made[r.urn].property_dependencies.update(
            {k: [made[d] for d in v if d in made] for k, v in r.property_dependencies.items()})
    return list(made.values())


def evaluate(graph: Any, config: Mapping[str, Any], stack: str | None = None) -> list[Finding]:
    """Run the whole pack over a program graph under a policy config file's content, as the CLI would: resource
    policies once per resource on its inputs, stack policies once on all outputs; disabled policies skipped."""
    findings: list[Finding] = []
    resources_in = graph_resources(graph, outputs=False)
    resources_out = graph_resources(graph, outputs=True)
    for p in POLICIES:
        level = enforcement_level(p, config)
        if level == EnforcementLevel.DISABLED:
            continue
        values = _reconciled(p, config)[1]

        def report(message: str, urn: str | None = None, _p: Policy = p, _level: EnforcementLevel = level,
                   _urn: str | None = None) -> None:
            findings.append(Finding(_p.name, _level, own_sentence(_p.name, message), urn or _urn))

        def cannot_run(error: UnknownValueError, _p: Policy = p) -> None:
            # What the SDK reports when a policy reads a value computed during preview.
            findings.append(Finding(_p.name, EnforcementLevel.ADVISORY, f"can't run policy '{_p.name}' during "
                                    f"preview: {error.message}", None))

        if isinstance(p, ResourceValidationPolicy):
            for r in resources_in:
                args = ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, r.opts, None, values)
                try:
                    p.validate(args, functools.partial(report, _urn=r.urn))
                except UnknownValueError as error:
                    cannot_run(error)
        elif isinstance(p, StackValidationPolicy):
            try:
                p.validate(StackValidationArgs(resources_out, values), report)
            except UnknownValueError as error:
                cannot_run(error)
    return findings


def mandatory(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that would fail `pulumi preview` / `pulumi up`."""
    return [f for f in findings if f.level == EnforcementLevel.MANDATORY]
