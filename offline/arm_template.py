"""The plan of a stack as an Azure Resource Manager template: the same resources, in the form other scanners read.

`make benchmark` times a Checkov scan of this template beside our own `check` of the same stack, so the comparison
says how our gate's cost relates to a common outside scanner's on any machine (a ratio, not seconds). It is a
faithful enough body for a scanner (ARM type, API version, name, location, SKU, kind, identity, tags, properties),
not a template to deploy: values only known after apply stay the engine's placeholders, and nothing here is sent to
Azure.

Each resource's API version is the one the pinned azure-native SDK uses for it: its constructor's docstring says "Uses
Azure REST API version <v>" (pulumi_azure_native/<module>/<resource>.py, v3.29.0, read 2026-11-30). azure-native
inputs are the ARM body with some `properties` lifted up (x-ms-client-flatten): inputs that are not
top-level ARM fields go back under `properties`.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from pathlib import Path
from typing import Any

from settings import shapes

from .engine import Graph, Resource

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
# Fields an ARM resource body carries beside `properties` (the template resource format, Microsoft Learn
# "Resources in ARM templates", azure-resource-manager/templates/resource-declaration, read 2026-11-30).
TOP_LEVEL = ("location", "tags", "sku", "kind", "identity", "zones", "plan", "etag")
_VERSION = re.compile(r"Uses Azure REST API version (\S+?)\.?\s")


@functools.cache
def api_version(token: str) -> str:
    """The REST API version the installed azure-native SDK uses for `token`, from its constructor's docstring."""
    _, module, name = token.split(":")
    package = importlib.import_module(f"pulumi_azure_native.{module}")
    found = _VERSION.search(Path(inspect.getfile(getattr(package, name))).read_text(encoding="utf-8"))
    if found is None:
        raise LookupError(f"{token}: the azure-native class names no REST API version")
    return found.group(1)


def _arm_name(resource: Resource) -> str:
    """The template's `name`: the resource's own name, after its parents' for a child type (`vault/key`)."""
    segments = resource.id.rsplit("/providers/", 1)[-1].split("/")[1:]
    return "/".join(segments[1::2]) if len(segments) > 1 else resource.id.rsplit("/", 1)[-1]


def template_resource(resource: Resource) -> dict[str, Any]:
    """One registration as a template resource."""
    shape = shapes.shape(resource.type)
    in_url = {shape.name_input, "resourceGroupName", *shape.parent_inputs}
    if shape.scope_input:
        in_url.add(shape.scope_input)
    body: dict[str, Any] = {"type": shape.arm_type, "apiVersion": api_version(resource.type),
                            "name": _arm_name(resource)}
    if shape.scope_input:
        body["scope"] = resource.inputs.get(shape.scope_input)
    properties = dict(resource.inputs.get("properties") or {})
    for key, value in resource.inputs.items():
        if key in in_url or key == "properties":
            continue
        if key in TOP_LEVEL:
            body[key] = value
        else:
            properties[key] = value
    if isinstance(body.get("identity"), dict):  # azure-native lists user-assigned identities; ARM maps them
        identity = dict(body["identity"])
        if isinstance(identity.get("userAssignedIdentities"), list):
            identity["userAssignedIdentities"] = {i: {} for i in identity["userAssignedIdentities"]}
        body["identity"] = identity
    if properties:
        body["properties"] = properties
    return body


def arm_template(graph: Graph) -> dict[str, Any]:
    """Every Azure resource of the graph (components and the time provider's Sleep are Pulumi's alone)."""
    resources = [template_resource(r) for r in graph.resources
                 if r.custom and r.type in shapes.SHAPES and shapes.shape(r.type).level != shapes.NOT_IN_AZURE]
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0",
            "metadata": {"generator": f"aoai-platform offline plan of {graph.project}/{graph.stack}"},
            "resources": resources}
