"""Run the real Pulumi program for a stack under the SDK's mock engine and capture the whole resource graph.

The program is `__main__.py` itself, run as the Python language host runs it, with the stack file's config (plus the
project file's declared defaults) handed over in the CLI's string form. The mocks answer as Azure would: ARM ids,
identity principal and client ids, vault and key URIs with a version, so cross-resource links resolve as in Azure.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import gc
import hashlib
import importlib
import inspect
import logging
import runpy
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.resource as pulumi_resource
from google.protobuf import empty_pb2
from pulumi.output import Unknown
from pulumi.runtime import mocks, rpc
from pulumi.runtime import resource as runtime_resource
from pulumi.runtime.proto import resource_pb2, source_pb2
from pulumi.runtime.settings import ROOT, SETTINGS
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from settings import shapes

from . import project_files

PROJECT_DIR = Path(__file__).resolve().parent.parent
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
_ABSENT = object()

# A stable, obviously synthetic subscription and tenant for offline runs.
SUBSCRIPTION_ID = "00000000-0000-4000-8000-00000000a0a1"
TENANT_ID = "00000000-0000-4000-8000-00000000c1d2"
CLIENT_OBJECT_ID = "00000000-0000-4000-8000-00000000d3e4"


@dataclass
class Resource:
    """One registration as the engine saw it: what a policy pack analyzes and what a reviewer reads."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    protect: bool
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    provider: str = ""
    ignore_changes: list[str] = field(default_factory=list)
    retain_on_delete: bool = False


@dataclass
class Graph:
    """The registrations of one program run, in registration order, and the stack's outputs."""

    project: str
    stack: str
    resources: list[Resource]
    outputs: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    """What the program logged as warnings (`pulumi.log.warn`), e.g. a model version close to retirement."""

    def by_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> Resource:
        return next(r for r in self.resources if r.name == name)


def _guid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "|".join(parts)))


def _stand_in_for_unknowns(value: Any) -> Any:
    """`value` with each unknown replaced by a placeholder string, which `_unknown_where_computed` turns back."""
    if isinstance(value, Unknown):
        return "unknown"
    if isinstance(value, Mapping):
        return {k: _stand_in_for_unknowns(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stand_in_for_unknowns(v) for v in value]
    return value


def _unknown_where_computed(state: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
    """`state` with every value that Azure computed (absent from, or different to, the inputs) made unknown: what
    a preview knows of a resource that is yet to be created is its inputs."""
    result: dict[str, Any] = {}
    for key, value in state.items():
        given = inputs.get(key, _ABSENT)
        if isinstance(value, Mapping) and isinstance(given, Mapping):
            result[key] = _unknown_where_computed(value, given)
        else:
            result[key] = value if given is not _ABSENT and given == value else Unknown()
    return result


@functools.cache
def output_names(type_: str) -> frozenset[str]:
    """The engine names of the outputs the azure-native resource class declares."""
    _, module, cls = type_.split(":")
    klass = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), cls)
    return frozenset(getattr(member.fget, "_pulumi_name", name)
                     for name, member in inspect.getmembers(klass) if isinstance(member, property))


def as_outputs(type_: str, state: Mapping[str, Any]) -> dict[str, Any]:
    """`state` in the shape the provider returns: input-only properties (a diagnostic setting's resourceUri, a lock's
    scope) are absent, and where the resource declares no `properties` output (a Key) the API's properties come back
    flattened to the top level. Stack policies read outputs, so they must meet the shape of the real state."""
    names = output_names(type_)
    shaped = dict(state)
    nested = shaped.get("properties")
    if "properties" not in names and isinstance(nested, Mapping):
        del shaped["properties"]
        shaped.update(nested)
    return {key: value for key, value in shaped.items() if key in names or key == "id"}


# The host names Azure gives a vault (vaultUri, key URIs) and an account (endpoint) in each cloud of the `cloud`
# setting. Microsoft Learn "Azure Private Endpoint private DNS zone values" (MicrosoftDocs/azure-docs
# articles/private-link/private-endpoint-dns.md, Government table, read 2026-11-30): Key Vault vault.usgovcloudapi.net,
# Azure AI services cognitiveservices.azure.us; openai.azure.us is the public zone behind settings/catalog.py's
# privatelink.openai.azure.us.
CLOUD_SUFFIXES: dict[str, dict[str, str]] = {
    "public": {"vault": "vault.azure.net", "openai": "openai.azure.com",
               "cognitiveservices": "cognitiveservices.azure.com"},
    "usgovernment": {"vault": "vault.usgovcloudapi.net", "openai": "openai.azure.us",
                     "cognitiveservices": "cognitiveservices.azure.us"},
}


class AzureMocks(mocks.Mocks):
    """Answers each registration with the outputs Azure Resource Manager would return.

    With `computed=False` it answers as a first `pulumi preview` does for resources that do not exist yet: no id, and
    every value Azure would compute (ids, names, principal and client ids, URIs) unknown, so inputs built from them
    are unknown too.
    """

    def __init__(self, cloud_suffixes: Mapping[str, str] | None = None, computed: bool = True):
        self.suffixes = dict(cloud_suffixes or CLOUD_SUFFIXES["public"])
        self.computed = computed

    def call(self, args: mocks.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        if args.token == "azure-native:authorization:getClientConfig":
            return {"clientId": _guid("client"), "objectId": CLIENT_OBJECT_ID, "subscriptionId": SUBSCRIPTION_ID,
                    "tenantId": TENANT_ID}, []
        raise ValueError(f"offline engine: no mock for invoke {args.token}")

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict]:
        if not args.custom:
            return "", {}
        if args.typ == shapes.SLEEP:
            # The time provider's id is "<createDuration>,<destroyDuration>"; its outputs are its inputs.
            return (f"{args.inputs.get('createDuration', '')},{args.inputs.get('destroyDuration', '')}"
                    if self.computed else ""), dict(args.inputs)
        # Before creation some inputs are unknown themselves; a stand-in lets the shapes below be computed.
        inputs = dict(args.inputs) if self.computed else _stand_in_for_unknowns(dict(args.inputs))
        arm_id = self.arm_id(args.typ, args.name, inputs)
        state: dict[str, Any] = dict(inputs)
        state["id"] = arm_id
        state["name"] = arm_id.rstrip("/").split("/")[-1]
        state.update(self._computed(args.typ, arm_id, state))
        if not self.computed:
            return "", as_outputs(args.typ, _unknown_where_computed(state, args.inputs))
        return arm_id, as_outputs(args.typ, state)

    def arm_id(self, type_: str, logical_name: str, inputs: Mapping[str, Any]) -> str:
        if type_ not in shapes.SHAPES:
            raise ValueError(f"offline engine: no ARM shape for {type_}; add its row to settings/shapes.py")
        return shapes.SHAPES[type_].arm_id(SUBSCRIPTION_ID, inputs, logical_name)

    def _computed(self, type_: str, arm_id: str, state: dict[str, Any]) -> dict[str, Any]:
        name = state["name"]
        if type_ == shapes.USER_ASSIGNED_IDENTITY:
            return {"principalId": _guid("principal", arm_id), "clientId": _guid("client", arm_id),
                    "tenantId": TENANT_ID}
        if type_ == shapes.VAULT:
            props = dict(state.get("properties", {}))
            props["vaultUri"] = f"https://{name}.{self.suffixes['vault']}/"
            return {"properties": props}
        if type_ == shapes.KEY:
            vault = arm_id.split("/vaults/")[1].split("/")[0]
            version = hashlib.sha256(arm_id.encode()).hexdigest()[:32]
            uri = f"https://{vault}.{self.suffixes['vault']}/keys/{name}"
            return {"keyUri": uri, "keyUriWithVersion": f"{uri}/{version}"}
        if type_ == shapes.ACCOUNT:
            props = dict(state.get("properties", {}))
            subdomain = props.get("customSubDomainName", name)
            host = self.suffixes["openai"] if state.get("kind") == "OpenAI" else self.suffixes["cognitiveservices"]
            props["endpoint"] = f"https://{subdomain}.{host}/"
            props["provisioningState"] = "Succeeded"
            identity = dict(state.get("identity", {}))
            # Input: a list of identity ids. Output: a map id -> {principalId, clientId}. Echoing the list back
            # would crash the SDK's output decoding.
            ids = identity.get("userAssignedIdentities") or []
            if isinstance(ids, list):
                identity["userAssignedIdentities"] = {
                    i: {"principalId": _guid("principal", i), "clientId": _guid("client", i)} for i in ids}
            if "SystemAssigned" in identity.get("type", ""):
                identity["principalId"] = _guid("principal", arm_id)
                identity["tenantId"] = TENANT_ID
            return {"properties": props, "identity": identity}
        if type_ == shapes.WORKSPACE:
            return {"customerId": _guid("workspace", arm_id)}
        if type_ == shapes.SYSTEM_TOPIC:
            return {"metricResourceId": _guid("topic", arm_id), "provisioningState": "Succeeded"}
        if type_ == shapes.SYSTEM_TOPIC_EVENT_SUBSCRIPTION:
            return {"provisioningState": "Succeeded"}
        if type_ == shapes.DEFENDER_PRICING:
            return {"resourcesCoverageStatus": "FullyCovered", "deprecated": False}
        return {}


class RecordingMonitor(mocks.MockMonitor):
    """The SDK's mock monitor, keeping every registration request whole, with URNs formed as the engine forms them,
    and what each component and the stack register as outputs (the engine makes those their outputs:
    pulumi/pulumi pkg/resource/deploy/step_executor.go `executeRegisterResourceOutputs`)."""

    def __init__(self, mock: mocks.Mocks):
        super().__init__(mock)
        self.registrations: list[Resource] = []
        self.by_urn: dict[str, Resource] = {}
        self.stack_outputs: dict[str, Any] = {}
        self.root_urn = ""

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine qualifies a type with its parent's full type chain, leaving out the root stack.
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != ROOT_STACK_TYPE:
                type_ = f"{parent_type}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == ROOT_STACK_TYPE:
            self.root_urn = response.urn
            return response
        registered = self.resources[response.urn]
        resource = Resource(
            urn=response.urn, type=request.type, name=request.name, parent=request.parent, custom=request.custom,
            protect=bool(request.protect), dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            inputs=rpc.deserialize_properties(request.object), outputs=dict(registered.state),
            id=registered.id or "", provider=request.provider, ignore_changes=list(request.ignoreChanges),
            retain_on_delete=bool(request.retainOnDelete))
        self.registrations.append(resource)
        self.by_urn[resource.urn] = resource
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        outputs = rpc.deserialize_properties(request.outputs)
        if request.urn == self.root_urn:
            self.stack_outputs = outputs
        elif request.urn in self.by_urn:
            self.by_urn[request.urn].outputs = outputs
        return super().RegisterResourceOutputs(request)


class _WarningLog(logging.Handler):
    """Keeps the warnings the program logs through the engine (the CLI prints them as `warning:` lines)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self.logger = logging.getLogger(f"offline.engine.program.{id(self)}")
        self.logger.propagate = False
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def stack_config(stack: str, stack_file: Path | None = None, project_dir: Path = PROJECT_DIR,
                 ) -> tuple[str, dict[str, str]]:
    """The project name and the config the CLI would hand the program, after the CLI's own checks of Pulumi.yaml and
    the stack file (offline/project_files.py): the project's declared defaults, then the stack file's values, every
    value the string the CLI passes in PULUMI_CONFIG. A file the CLI would refuse raises `LoadError`."""
    resolved = project_files.stack_config(stack, stack_file, project_dir)
    return resolved.project, dict(resolved.values)


@contextlib.contextmanager
def _replaced(owner: Any, name: str, value: Any) -> Iterator[None]:
    """`owner.name` is `value` while the block runs, and what it was before afterwards."""
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


def _alias_kept_as_given(alias: Any, name: str, type_: str, parent: Any) -> Any:
    return alias


@contextlib.contextmanager
def alias_urns_left_to_the_engine(monitor: mocks.MockMonitor) -> Iterator[None]:
    """While the program runs, skip the SDK's eager computation of every alias's URN.

    `pulumi.Resource.__init__` turns each alias into a URN right away (pulumi/resource.py, `collapse_alias_to_urn`),
    for children to inherit when the engine cannot take alias *specs*. The mock monitor takes them (its
    GetDeploymentInfo lists RESOURCE_MONITOR_FEATURE_ALIAS_SPECS, as the CLI's engine does), so the SDK sends each
    alias as a spec (runtime/resource.py, `prepare_aliases`) and the eager URNs are never read. Every azure-native
    resource carries some 25 type aliases (its API versions), and computing their URNs is three quarters of a run's
    time. The registrations are the same either way (tests/offline/test_engine_speed.py compares them)."""
    features = monitor.GetDeploymentInfo(empty_pb2.Empty()).supportedFeatures
    if resource_pb2.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS not in features:
        yield
        return
    with _replaced(pulumi_resource, "collapse_alias_to_urn", _alias_kept_as_given):
        yield


def _no_stack_trace() -> source_pb2.StackTrace:
    return source_pb2.StackTrace()


@contextlib.contextmanager
def source_positions_left_out() -> Iterator[None]:
    """While the program runs, skip the SDK's capture of the caller's stack for every registration.

    `register_resource` walks the whole Python stack, reading each frame's source line, so that the CLI can point a
    diagnostic at the line that declared the resource (pulumi/runtime/resource.py, `_get_stack_trace`, pulumi 3.x,
    read 2026-11-30). The mock monitor never reads `sourcePosition` or `stackTrace`, and the walk is a quarter of a
    run's time. Only those two fields change (tests/offline/test_engine_speed.py compares the rest)."""
    with _replaced(runtime_resource, "_get_stack_trace", _no_stack_trace):
        yield


class _InLine(concurrent.futures.ThreadPoolExecutor):
    """An executor that runs each call at once, on the calling thread (a finished future, no worker thread)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # the awaiting coroutine gets it, as from a worker thread
            future.set_exception(error)
        return future


@contextlib.contextmanager
def monitor_calls_in_line() -> Iterator[None]:
    """While the program runs, answer the SDK's calls to the mock monitor on the event loop's own thread.

    The SDK sends each RegisterResource (and Invoke, RegisterResourceOutputs) through `loop.run_in_executor`, so that
    the program goes on while the engine works (pulumi/runtime/resource.py `register_resource`, read 2026-11-30). The
    mock monitor answers at once, and the hop to a worker thread and back costs a tenth of a run (prod: 0.44 s to
    0.38 s, measured here 2026-11-30). The requests are the same either way (tests/offline/test_engine_speed.py);
    their order is not part of what a run promises, with or without threads (the SDK gathers dependencies from
    sets)."""
    # The loop `_sync_await` runs the program on; asyncio keeps its default executor in `_default_executor` (no getter).
    with _replaced(_ensure_event_loop(), "_default_executor", _InLine(max_workers=1)):
        yield


@contextlib.contextmanager
def engine_shortcuts(monitor: mocks.MockMonitor) -> Iterator[None]:
    """The shortcuts: work of the SDK whose result the mock monitor does not use, and a thread it does not need."""
    with alias_urns_left_to_the_engine(monitor), source_positions_left_out(), monitor_calls_in_line():
        yield


_runs = 0


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector while the program runs.

    The azure-native modules the program loads hold tens of thousands of long-lived objects (typing unions, input
    and output classes), and every full collection walks all of them again, for garbage a single run hardly makes.
    Paused, a run in a warm process takes a fifth less time (0.53 s to 0.43 s for prod) and a cold `check` of prod
    about 0.25 s less (measured here, two cores, 2026-11-30). From the second run in one process on (tests, `diff`),
    what is alive before the run (modules, graphs callers keep) is collected once and frozen (`gc.freeze`), so that
    later collections skip it; the runs' own garbage is collected as usual afterwards (40 runs: no growth)."""
    global _runs
    if _runs == 1 and gc.isenabled():
        gc.collect()
        gc.freeze()
    _runs += 1
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def run_program(stack: str, stack_file: Path | None = None, project_dir: Path = PROJECT_DIR,
                preview: bool = False, config_overrides: Mapping[str, Any] | None = None,
                monitor: RecordingMonitor | None = None, first_preview: bool = False,
                full_sdk: bool = False) -> Graph:
    """Run `__main__.py` for `stack` under the mock engine and return every registration and the stack outputs.

    `config_overrides` replaces top-level keys of the project's namespace (tests use it to vary a stack).
    Settings errors propagate as `settings.SettingsError`; pass your own `monitor` to see what was registered first.
    `first_preview` runs as a first `pulumi preview` of an empty stack: a dry run whose computed outputs are unknown.
    `full_sdk` runs every step the SDK runs under the CLI, including what the mock monitor never reads (see
    `engine_shortcuts`).
    """
    project, config = stack_config(stack, stack_file, project_dir)
    for key, value in (config_overrides or {}).items():
        full = f"{project}:{key}"
        if value is None:
            config.pop(full, None)
        else:
            config[full] = project_files.config_string(value)

    # Azure answers with the stack's cloud's host names (an unknown cloud is the settings' error to report).
    suffixes = CLOUD_SUFFIXES.get(config.get(f"{project}:cloud", "public"), CLOUD_SUFFIXES["public"])
    monitor = monitor or RecordingMonitor(AzureMocks(suffixes, computed=not first_preview))
    preview = preview or first_preview
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    ROOT.set(None)
    logs = _WarningLog()
    mocks.set_mocks(monitor.mocks, project=project, stack=stack, preview=preview, monitor=monitor,
                    logger=logs.logger)
    ROOT.set(None)  # set_mocks made a root stack of its own; the program gets a fresh one, as under the CLI
    pulumi.runtime.set_all_config(config)
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    main = str(project_dir / "__main__.py")

    def run_main() -> None:
        runpy.run_path(main, run_name="__main__")

    with contextlib.nullcontext() if full_sdk else engine_shortcuts(monitor), collector_paused():
        _sync_await(run_in_stack(run_main))
    return Graph(project, stack, monitor.registrations, monitor.stack_outputs, logs.messages)
