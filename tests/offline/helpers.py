"""Helpers the offline tests share: a small policy pack to write anywhere, and graph mutation."""

from __future__ import annotations

import copy
import json
import pickle
import sys
import textwrap
from pathlib import Path
from typing import Any

from offline.engine import Graph, Resource, output_names

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "policies"

TINY_PACK_MAIN = '''
"""A two-policy pack whose verdicts the tests can predict exactly."""
import os

from pulumi_policy import (EnforcementLevel, PolicyConfigSchema, PolicyPack, ResourceValidationPolicy,
                           StackValidationPolicy)


def account_access(args, report_violation):
    if args.resource_type != "azure-native:cognitiveservices:Account":
        return
    expected = args.get_config()["expected"]
    actual = args.props["properties"].get("publicNetworkAccess")
    if actual != expected:
        report_violation(f"publicNetworkAccess is {actual}, expected {expected}")
    if args.get_config().get("requireProtect") and not args.opts.protect:
        report_violation("the account is not protected")


def keys_in_vaults(args, report_violation):
    config = args.get_config()
    if config.get("echoStack"):
        report_violation("stack " + os.environ.get("PULUMI_STACK", "?") + " dry run "
                         + os.environ.get("PULUMI_DRY_RUN", "?"))
    by_urn = {r.urn: r for r in args.resources}
    for resource in args.resources:
        if resource.resource_type != "azure-native:keyvault:Key":
            continue
        vaults = [d for d in resource.dependencies if d.resource_type == "azure-native:keyvault:Vault"]
        if not vaults:
            report_violation("key has no vault dependency", resource.urn)
        if resource.parent is None or resource.parent.urn not in by_urn:
            report_violation("key has no parent component", resource.urn)
        if not str(resource.props.get("keyUriWithVersion", "")).startswith("https://"):
            report_violation("key has no versioned URI", resource.urn)


PolicyPack("tiny-pack", [
    ResourceValidationPolicy(
        "tiny-account-private", "Accounts are private.", validate=account_access,
        config_schema=PolicyConfigSchema(properties={
            "expected": {"type": "string", "enum": ["Disabled", "Enabled"], "default": "Disabled"},
            "requireProtect": {"type": "boolean", "default": False}})),
    StackValidationPolicy(
        "tiny-keys-in-vaults", "Keys live in vaults.", validate=keys_in_vaults,
        enforcement_level=EnforcementLevel.ADVISORY,
        config_schema=PolicyConfigSchema(properties={"echoStack": {"type": "boolean", "default": False}})),
], EnforcementLevel.MANDATORY)
'''


# A test pack runs with the interpreter running the tests, named the way the CLI needs it (a pack gets no virtualenv
# by default): with make setup that is .venv, which has pulumi-policy.
TEST_PACK_PROJECT = (f"runtime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: {sys.prefix}\n"
                     f"version: 0.3.0\n")


def write_pack(directory: Path, main: str, project: str = TEST_PACK_PROJECT) -> Path:
    """A policy pack directory: PulumiPolicy.yaml and __main__.py."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "PulumiPolicy.yaml").write_text(project)
    (directory / "__main__.py").write_text(textwrap.dedent(main))
    return directory


def varied(graph: Graph) -> Graph:
    """A private copy of a graph to mutate (a pickle round trip: a third of `copy.deepcopy`'s time for the same
    copy, since a graph holds only plain values and the SDK's unknowns)."""
    return pickle.loads(pickle.dumps(graph, protocol=pickle.HIGHEST_PROTOCOL))  # type: ignore[no-any-return]


def set_path(values: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path, creating maps on the way; `...` as value deletes the last key."""
    parts = path.split(".")
    for part in parts[:-1]:
        values = values.setdefault(part, {})
    if value is Ellipsis:
        values.pop(parts[-1], None)
    else:
        values[parts[-1]] = value


def resource(graph: Graph, name: str) -> Resource:
    """The registration with this Pulumi name (exactly one)."""
    found = [r for r in graph.resources if r.name == name]
    assert len(found) == 1, (name, len(found))
    return found[0]


def set_both(res: Resource, path: str, value: Any) -> None:
    """Change a property as Azure would see it: in the inputs (resource policies) and the outputs (stack policies)."""
    set_path(res.inputs, path, copy.deepcopy(value))
    if res.custom:
        # Where the provider flattens `properties` in its outputs (a Key), the output path has no such prefix.
        flattened = path.startswith("properties.") and "properties" not in output_names(res.type)
        set_path(res.outputs, path.removeprefix("properties.") if flattened else path, copy.deepcopy(value))


def remove(graph: Graph, name: str) -> None:
    """Drop a registration, as if the program no longer created it."""
    target = resource(graph, name)
    graph.resources.remove(target)


def add(graph: Graph, type_: str, name: str, inputs: dict[str, Any], outputs: dict[str, Any] | None = None,
        parent: str = "", protect: bool = False) -> Resource:
    """Register one more custom resource, as a component bug or a hand edit would: inputs for resource policies,
    outputs (inputs plus `id` by default) for stack policies."""
    added = Resource(urn=f"urn:pulumi:{graph.stack}::{graph.project}::{type_}::{name}", type=type_, name=name,
                     parent=parent, custom=True, protect=protect, dependencies=[], property_dependencies={},
                     inputs=copy.deepcopy(inputs),
                     outputs=copy.deepcopy(outputs if outputs is not None else inputs))
    graph.resources.append(added)
    return added


def focused_config(stack: str, policy: str, directory: Path) -> Path:
    """The stack's policy config with every policy but `policy` disabled (the pack then skips them entirely), for
    tests that ask whether one named rule catches a variation: the verdict of that rule is the same, at a fraction of
    the time of running every rule."""
    document = json.loads((PACK / "config" / f"{stack}.json").read_text())
    entry = document.get(policy)
    entry = {**entry, "enforcementLevel": "mandatory"} if isinstance(entry, dict) else "mandatory"
    document = {**document, "all": "disabled", policy: entry}
    path = directory / f"{stack}-{policy}.json"
    path.write_text(json.dumps(document, indent=1))
    return path
