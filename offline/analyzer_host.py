"""Serve a policy pack the way the Pulumi CLI serves it, and speak the Analyzer gRPC protocol to it.

The CLI boots a Python pack through its `pulumi-analyzer-policy-python` shim: `python -u -m pulumi.policy
<engine-address> .` with the pack directory as working directory (the virtualenv named in PulumiPolicy.yaml's runtime
options, if any), and the stack in the environment (PULUMI_PROJECT, PULUMI_STACK, PULUMI_DRY_RUN, PULUMI_CONFIG,
PULUMI_ORGANIZATION). The pack's `PolicyPack(...)` prints its port on stdout and serves until killed. The CLI then
calls Handshake (optional), ConfigureStack, GetAnalyzerInfo, Configure, Analyze per resource and AnalyzeStack once
(sdk/go/common/resource/plugin/analyzer_plugin.go). Doing exactly that, in a separate process, is what makes the
offline gate trustworthy: the pack cannot see anything here that it would not see under `pulumi preview`.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

# `python -m pulumi.policy` requires the engine address positionally but never dials it (the Python policy SDK has
# no engine calls); the CLI passes its host server here. Nothing listens on this one.
ENGINE_ADDRESS = "127.0.0.1:0"
STARTUP_TIMEOUT_SECONDS = 60.0
_GRPC_OPTIONS = [("grpc.max_receive_message_length", 400 * 1024 * 1024),
                 ("grpc.max_send_message_length", 400 * 1024 * 1024)]

LEVEL_NAMES = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory",
               analyzer_pb2.DISABLED: "disabled", analyzer_pb2.REMEDIATE: "remediate"}
LEVEL_VALUES = {name: value for value, name in LEVEL_NAMES.items()}
SEVERITY_NAMES = {analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "", analyzer_pb2.POLICY_SEVERITY_LOW: "low",
                  analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium", analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
                  analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical"}


class PackStartError(Exception):
    """The policy pack could not be started or did not answer; the message says why and shows its stderr."""


@dataclass(frozen=True)
class StackContext:
    """The stack a pack analyzes, as the CLI describes it to the pack (environment and ConfigureStack)."""

    project: str
    stack: str
    config: Mapping[str, str] = field(default_factory=dict)
    dry_run: bool = True
    organization: str = "organization"  # what the CLI passes for a DIY backend without an organization
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderRef:
    """The provider resource that manages a resource (AnalyzeRequest.provider)."""

    urn: str
    type: str
    name: str
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PolicyTarget:
    """One resource as a policy sees it: engine-form properties (inputs for Analyze, outputs for AnalyzeStack)."""

    urn: str
    type: str
    name: str
    properties: Mapping[str, Any]
    protect: bool = False
    ignore_changes: Sequence[str] = ()
    parent: str = ""
    dependencies: Sequence[str] = ()
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    provider: ProviderRef | None = None


@dataclass(frozen=True)
class PolicyInfo:
    """A policy as GetAnalyzerInfo describes it."""

    name: str
    description: str
    enforcement_level: str
    policy_type: str
    display_name: str = ""
    severity: str = ""
    framework: Mapping[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    remediation_steps: str = ""
    url: str = ""
    config_properties: Mapping[str, Any] = field(default_factory=dict)
    config_required: tuple[str, ...] = ()


@dataclass(frozen=True)
class PackInfo:
    """The pack as GetAnalyzerInfo describes it; the version from PulumiPolicy.yaml wins, as in the CLI."""

    name: str
    version: str
    supports_config: bool
    policies: tuple[PolicyInfo, ...]
    initial_config: Mapping[str, tuple[str, dict[str, Any]]]
    description: str = ""


@dataclass(frozen=True)
class Diagnostic:
    """A violation (or a "can't run during preview" note) as the pack reported it."""

    policy_name: str
    pack_name: str
    pack_version: str
    description: str
    message: str
    enforcement_level: str
    urn: str
    severity: str


@dataclass(frozen=True)
class AnalyzeResult:
    """What one Analyze or AnalyzeStack call returned."""

    diagnostics: tuple[Diagnostic, ...]
    not_applicable: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class PackProject:
    """PulumiPolicy.yaml: the runtime (only python is served here), its options, and the pack version."""

    runtime: str
    options: Mapping[str, Any]
    version: str


def read_pack_project(pack_dir: Path) -> PackProject:
    """Read PulumiPolicy.yaml as the CLI does; a pack without one, or not in Python, cannot be served here."""
    project_file = pack_dir / "PulumiPolicy.yaml"
    try:
        document = yaml.safe_load(project_file.read_text()) or {}
    except OSError as error:
        raise PackStartError(f"no policy pack at {pack_dir}: cannot read {project_file.name} "
                             f"({error.strerror or error})") from error
    except yaml.YAMLError as error:
        raise PackStartError(f"{project_file}: not valid YAML ({error})") from error
    runtime = document.get("runtime")
    name, options = (runtime.get("name"), runtime.get("options") or {}) if isinstance(runtime, dict) else (runtime, {})
    if name != "python":
        raise PackStartError(f"{project_file}: runtime {name!r} is not supported offline (only python)")
    return PackProject("python", dict(options), str(document.get("version") or ""))


def pack_interpreter(pack_dir: Path, project: PackProject) -> str:
    """The Python that runs the pack: the virtualenv PulumiPolicy.yaml names, else this interpreter (the project's
    virtualenv holds policies/requirements.txt)."""
    virtualenv = project.options.get("virtualenv")
    if not virtualenv:
        return sys.executable
    venv = Path(str(virtualenv))
    venv = venv if venv.is_absolute() else pack_dir / venv
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.exists():
        raise PackStartError(f'"{venv}" doesn\'t appear to be a virtual environment (runtime option virtualenv)')
    return str(python)


class PolicyPackProcess:
    """The pack's own process. `start()` returns at once so the caller can run the program meanwhile;
    `wait_for_port()` then reads the port the pack prints. `stop()` always ends it."""

    def __init__(self, pack_dir: Path, context: StackContext, timeout: float = STARTUP_TIMEOUT_SECONDS):
        self.pack_dir = pack_dir.resolve()
        self.context = context
        self.timeout = timeout
        self.project = read_pack_project(self.pack_dir)
        self._process: subprocess.Popen[bytes] | None = None
        self._lines: deque[str] = deque(maxlen=200)
        self._port_ready = threading.Event()
        self._port: int | None = None
        self._readers: list[threading.Thread] = []

    def start(self) -> None:
        """Spawn the pack as the CLI's python policy shim does, and read its output in the background."""
        env = dict(os.environ)
        env.update({"PULUMI_PROJECT": self.context.project, "PULUMI_STACK": self.context.stack,
                    "PULUMI_DRY_RUN": "true" if self.context.dry_run else "false",
                    "PULUMI_ORGANIZATION": self.context.organization})
        if self.context.config:
            env["PULUMI_CONFIG"] = json.dumps(dict(self.context.config))
        command = [pack_interpreter(self.pack_dir, self.project), "-u", "-m", "pulumi.policy", ENGINE_ADDRESS, "."]
        try:
            self._process = subprocess.Popen(command, cwd=self.pack_dir, env=env, stdin=subprocess.DEVNULL,
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as error:
            raise PackStartError(f"cannot start the policy pack at {self.pack_dir}: {error}") from error
        _LIVE.add(self)
        self._readers = [threading.Thread(target=self._read_stdout, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for raw in self._process.stdout:
            line = raw.decode(errors="replace").rstrip()
            if self._port is None:
                try:
                    self._port = int(line)
                except ValueError:
                    self._lines.append(line)
                    continue
                self._port_ready.set()
            else:
                self._lines.append(line)
        self._port_ready.set()  # end of output: wake the waiter, which then sees no port

    def _read_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        for raw in self._process.stderr:
            self._lines.append(raw.decode(errors="replace").rstrip())

    def output(self) -> str:
        """What the pack printed besides its port (its errors, most recent last)."""
        return "\n".join(self._lines)

    def wait_for_port(self) -> int:
        """The port the pack serves on; a pack that exits or stays silent is stopped and reported with its output."""
        if self._process is None:
            raise PackStartError("the policy pack was not started")
        if not self._port_ready.wait(self.timeout) or self._port is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=2)  # let stderr drain when the pack died
            self.stop()
            reason = (f"exited with code {self._process.returncode}" if self._process.returncode is not None
                      else f"did not print its port within {self.timeout:.0f}s")
            detail = self.output().strip()
            raise PackStartError(f"the policy pack at {self.pack_dir} {reason}"
                                 + (f":\n{_indent(detail)}" if detail else ""))
        return self._port

    def stop(self) -> None:
        """End the process (terminate, then kill after 5 s) and close its pipes; safe to call twice."""
        _LIVE.discard(self)
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for reader in self._readers:  # they end at end of file, now that the process is gone
            reader.join(timeout=5)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()

    @property
    def started(self) -> bool:
        """True once start() spawned the process, whether or not it still runs."""
        return self._process is not None

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._process is not None and self._process.poll() is None


# Packs still running when the interpreter exits are stopped, whatever path led there (held strongly, so a host
# dropped without close() cannot leave an orphaned pack behind).
_LIVE: set[PolicyPackProcess] = set()


def _stop_all() -> None:
    for process in list(_LIVE):
        process.stop()


atexit.register(_stop_all)


class AnalyzerClient:
    """The Analyzer service of one running pack, with requests built as the CLI builds them."""

    def __init__(self, port: int, timeout: float = STARTUP_TIMEOUT_SECONDS):
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=_GRPC_OPTIONS)
        try:
            grpc.channel_ready_future(self.channel).result(timeout=timeout)
        except grpc.FutureTimeoutError as error:
            self.channel.close()
            raise PackStartError(f"the policy pack on port {port} did not accept a connection") from error
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)

    def close(self) -> None:
        """Close the gRPC channel (the process is the host's to stop)."""
        self.channel.close()

    def handshake(self, pack_dir: Path) -> None:
        """The CLI's optional Handshake; Python packs do not implement it, which is fine."""
        request = analyzer_pb2.AnalyzerHandshakeRequest(
            engine_address=ENGINE_ADDRESS, root_directory=str(pack_dir), program_directory=str(pack_dir))
        try:
            self.stub.Handshake(request)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise

    def configure_stack(self, context: StackContext) -> None:
        """Tell the pack which stack it analyzes, with the stack's config and tags, as the CLI does at load."""
        config = struct_pb2.Struct()
        config.update(dict(context.config))
        request = analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=context.stack, project=context.project, organization=context.organization,
            dry_run=context.dry_run, config=config, tags=dict(context.tags))
        try:
            self.stub.ConfigureStack(request)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise

    def get_info(self, project_version: str = "") -> PackInfo:
        """The pack's policies and initial config; `project_version` (from PulumiPolicy.yaml) wins over the SDK's."""
        info = self.stub.GetAnalyzerInfo(empty_pb2.Empty())
        policies = tuple(sorted((_policy_info(p) for p in info.policies), key=lambda p: p.name))
        initial = {name: (LEVEL_NAMES[c.enforcementLevel], json_format.MessageToDict(c.properties))
                   for name, c in info.initialConfig.items()}
        return PackInfo(info.name, project_version or info.version, info.supportsConfig, policies, initial,
                        info.description)

    def configure(self, config: Mapping[str, tuple[str, Mapping[str, Any]]]) -> None:
        """Configure with (enforcement level, properties) per policy; the CLI skips the call for empty config."""
        if not config:
            return
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, (level, properties) in config.items():
            if level not in LEVEL_VALUES:
                raise ValueError(f"invalid enforcement level {level!r} for {name}")
            policy_config = analyzer_pb2.PolicyConfig(enforcementLevel=LEVEL_VALUES[level])
            json_format.ParseDict(dict(properties), policy_config.properties)
            request.policyConfig[name].CopyFrom(policy_config)
        self.stub.Configure(request)

    def analyze_all(self, targets: Sequence[PolicyTarget]) -> list[AnalyzeResult]:
        """Analyze each resource; requests go out together (the pack serves four at a time), results in order."""
        pending = [self.stub.Analyze.future(_analyze_request(t)) for t in targets]
        return [_result(call.result()) for call in pending]

    def analyze_stack(self, targets: Sequence[PolicyTarget]) -> AnalyzeResult:
        """Run the stack policies once over every resource of the stack."""
        request = analyzer_pb2.AnalyzeStackRequest(resources=[_stack_resource(t) for t in targets])
        try:
            return _result(self.stub.AnalyzeStack(request))
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.UNIMPLEMENTED:  # the CLI skips packs without stack policies
                return AnalyzeResult((), ())
            raise


class PolicyPackHost:
    """A started, connected pack for one stack context; reusable for any number of checks of that stack."""

    def __init__(self, pack_dir: Path, context: StackContext, timeout: float = STARTUP_TIMEOUT_SECONDS):
        self.pack_dir = pack_dir.resolve()
        self.context = context
        self.process = PolicyPackProcess(self.pack_dir, context, timeout)
        self.client: AnalyzerClient | None = None
        self.info: PackInfo | None = None

    def start(self) -> PolicyPackHost:
        """Start the process without waiting for it (the program can run meanwhile)."""
        self.process.start()
        return self

    def connect(self) -> PolicyPackHost:
        """Wait for the port, connect, and learn the pack's policies, as the CLI does before the update."""
        if self.client is not None:
            return self
        if not self.process.started:
            self.process.start()
        port = self.process.wait_for_port()
        try:
            self.client = AnalyzerClient(port, self.process.timeout)
            self.client.handshake(self.pack_dir)
            self.info = self.client.get_info(self.process.project.version)
        except grpc.RpcError as error:
            self.close()
            raise PackStartError(f"the policy pack at {self.pack_dir} failed to answer: {error.details()}"
                                 + _tail(self.process.output())) from error
        return self

    def close(self) -> None:
        """Close the connection and stop the pack process."""
        if self.client is not None:
            self.client.close()
            self.client = None
        self.process.stop()

    def __enter__(self) -> PolicyPackHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class HostPool:
    """Started packs kept for reuse, one per (pack, project, stack, dry run): a warm check skips the startup.

    The pack's environment (PULUMI_CONFIG among it) is the first request's; later runs of the same stack with other
    config (a --stack-file variant) reach the pack through ConfigureStack, which is where the CLI sends it too."""

    def __init__(self) -> None:
        self._hosts: dict[tuple[Path, str, str, bool], PolicyPackHost] = {}

    def get(self, pack_dir: Path, context: StackContext) -> PolicyPackHost:
        """The running host for this pack and stack, started (not yet waited for) when there is none."""
        key = (pack_dir.resolve(), context.project, context.stack, context.dry_run)
        host = self._hosts.get(key)
        if host is None or not host.process.running:
            host = self._hosts[key] = PolicyPackHost(pack_dir, context).start()
        return host

    def close(self) -> None:
        """Stop every pack of the pool."""
        for host in self._hosts.values():
            host.close()
        self._hosts.clear()


def _policy_info(policy: Any) -> PolicyInfo:
    framework = {k: getattr(policy.framework, k) for k in ("name", "version", "reference", "specification")
                 if getattr(policy.framework, k)}
    schema = json_format.MessageToDict(policy.configSchema.properties) if policy.HasField("configSchema") else {}
    policy_type = {analyzer_pb2.POLICY_TYPE_RESOURCE: "resource",
                   analyzer_pb2.POLICY_TYPE_STACK: "stack"}.get(policy.policy_type, "unknown")
    return PolicyInfo(
        name=policy.name, description=policy.description, enforcement_level=LEVEL_NAMES[policy.enforcementLevel],
        policy_type=policy_type, display_name=policy.displayName, severity=SEVERITY_NAMES.get(policy.severity, ""),
        framework=framework, tags=tuple(policy.tags), remediation_steps=policy.remediation_steps, url=policy.url,
        config_properties=schema, config_required=tuple(policy.configSchema.required))


def _options(target: PolicyTarget) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=target.protect, ignoreChanges=list(target.ignore_changes), deleteBeforeReplaceDefined=False,
        customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(), parent=target.parent)


def _provider(provider: ProviderRef | None) -> analyzer_pb2.AnalyzerProviderResource | None:
    if provider is None:
        return None
    properties = struct_pb2.Struct()
    json_format.ParseDict(dict(provider.properties), properties)
    return analyzer_pb2.AnalyzerProviderResource(urn=provider.urn, type=provider.type, name=provider.name,
                                                 properties=properties)


def _properties(target: PolicyTarget) -> struct_pb2.Struct:
    properties = struct_pb2.Struct()
    json_format.ParseDict(dict(target.properties), properties)
    return properties


def _analyze_request(target: PolicyTarget) -> analyzer_pb2.AnalyzeRequest:
    return analyzer_pb2.AnalyzeRequest(type=target.type, properties=_properties(target), urn=target.urn,
                                       name=target.name, options=_options(target), provider=_provider(target.provider))


def _stack_resource(target: PolicyTarget) -> analyzer_pb2.AnalyzerResource:
    return analyzer_pb2.AnalyzerResource(
        type=target.type, properties=_properties(target), urn=target.urn, name=target.name,
        options=_options(target), provider=_provider(target.provider), parent=target.parent,
        dependencies=list(target.dependencies),
        # Like the CLI, properties without dependencies are left out.
        propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(v))
                              for k, v in target.property_dependencies.items() if v})


def _result(response: analyzer_pb2.AnalyzeResponse) -> AnalyzeResult:
    diagnostics = tuple(
        Diagnostic(d.policyName, d.policyPackName, d.policyPackVersion, d.description, d.message,
                   LEVEL_NAMES.get(d.enforcementLevel, "advisory"), d.urn, SEVERITY_NAMES.get(d.severity, ""))
        for d in response.diagnostics)
    return AnalyzeResult(diagnostics, tuple((n.policy_name, n.reason) for n in response.not_applicable))


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines()[-40:])


def _tail(text: str) -> str:
    return f"\n{_indent(text)}" if text.strip() else ""


__all__ = ["AnalyzeResult", "AnalyzerClient", "Diagnostic", "HostPool", "PackInfo", "PackStartError", "PolicyInfo",
           "PolicyPackHost", "PolicyPackProcess", "PolicyTarget", "ProviderRef", "StackContext"]
