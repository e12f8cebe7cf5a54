"""Serve a policy pack the way the Pulumi CLI serves it, and speak the Analyzer gRPC protocol to it in the CLI's order.

How the CLI starts a Python pack (pulumi/pulumi, read 2026-11-30 at 1b59498): `pkg/resource/plugin/analyzer_plugin.go`
`NewPolicyAnalyzer` finds the `python` language plugin and asks it to `RunPlugin` the pack directory (kind
`analyzer`); `sdk/python/cmd/pulumi-language-python/main.go` `RunPlugin` then
- resolves the interpreter from PulumiPolicy.yaml's runtime options (`parseOptions` with isPlugin=false, so unlike a
  resource plugin a pack gets **no** `venv` default; `sdk/python/toolchain`: with `virtualenv` set,
  `<pack dir>/<virtualenv>/bin/python` and an activated environment, else `PULUMI_PYTHON_CMD` or `python3`/`python`
  on PATH; a uv.lock or poetry.lock above the pack picks those toolchains when none is named);
- runs `<python> -u -m pulumi.policy <engine address> <absolute pack dir>` with the pack directory as working
  directory (packs have always run there, for backwards compatibility);
- answers the engine's Handshake itself and holds the pack back until the engine's `ConfigureStack` arrives
  (`sdk/policy_proxy.go` `PolicyProxy`), then starts it with PULUMI_ORGANIZATION, PULUMI_PROJECT, PULUMI_STACK,
  PULUMI_DRY_RUN and PULUMI_CONFIG (that request's config map as JSON) added to the environment, and forwards that
  same `ConfigureStack` to it before anything else.
The engine then calls GetAnalyzerInfo and Configure (`pkg/engine/update.go`, with the config reconciled as
offline/policy_config.py does), and for every registration (the root stack, each default provider, every component
and custom resource) Remediate and then Analyze on its inputs (`pkg/resource/deploy/step_generator.go`), and at the
end AnalyzeStack once on every resource's outputs (`AnalyzeResources`). Doing exactly that, in a separate process
started the same way, is what makes the offline gate trustworthy: the pack cannot see anything here that it would not
see under `pulumi preview`, and a pack the CLI could not start does not start here either.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import re
import shutil
import subprocess
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from .loader import LoadError, load_yaml
from .project_files import go_json, valid_version_range

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
    # What a self-managed (DIY) backend such as azblob:// passes: it has no organizations (pkg/backend/diy/state.go).
    organization: str = "organization"
    # Stack tags: a DIY backend sends only those set with `pulumi stack tag set` (pkg/backend/diy/stack_tags.go), so
    # none by default; Pulumi Cloud adds pulumi:project, pulumi:runtime and vcs:* tags (pkg/backend/stack.go).
    tags: Mapping[str, str] = field(default_factory=dict)
    # The config keys whose values are `secure:` (config.Map.SecureKeys), sorted.
    secret_keys: tuple[str, ...] = ()


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
    """What one Analyze or AnalyzeStack call returned (with the remediations the Remediate before it made)."""

    diagnostics: tuple[Diagnostic, ...]
    not_applicable: tuple[tuple[str, str], ...]
    remediations: tuple[Remediation, ...] = ()


@dataclass(frozen=True)
class Remediation:
    """A remediation policy's answer to Remediate: new inputs for the resource, or a diagnostic when it failed."""

    policy_name: str
    urn: str
    properties: Mapping[str, Any] | None
    diagnostic: str = ""


@dataclass(frozen=True)
class Call:
    """One request the host sent, as a recording: the RPC method and the resource (or stack) it was about."""

    method: str
    subject: str = ""


@dataclass(frozen=True)
class PackProject:
    """PulumiPolicy.yaml: the runtime (only python is served here), its options as the language host reads them, and
    the pack version."""

    runtime: str
    version: str
    toolchain: str = ""  # pip, poetry or uv; "" lets the host choose (a uv.lock or poetry.lock above the pack)
    virtualenv: str = ""


def read_pack_project(pack_dir: Path) -> PackProject:
    """Read PulumiPolicy.yaml as the CLI does (workspace.LoadPolicyPack, then the language host's `parseOptions`)."""
    project_file = pack_dir / "PulumiPolicy.yaml"
    try:
        document = load_yaml(project_file, str(project_file))
    except LoadError as error:
        if not project_file.exists():
            raise PackStartError(f"no policy pack at {pack_dir}: cannot read {project_file.name}") from error
        raise PackStartError(str(error)) from error
    raw = document.value if isinstance(document.value, Mapping) else {}
    runtime = raw.get("runtime")
    name, options = ((runtime.get("name"), runtime.get("options") or {}) if isinstance(runtime, Mapping)
                     else (runtime, {}))
    if name != "python":
        raise PackStartError(f"{project_file}: runtime {name!r} is not supported offline (only python)")
    problems = [f"{key} option must be a string" for key in ("virtualenv", "toolchain", "typechecker")
                if key in options and not isinstance(options[key], str)]
    toolchain = options.get("toolchain", "")
    if isinstance(toolchain, str) and toolchain not in ("", "pip", "poetry", "uv"):
        problems.append(f"unsupported toolchain option: {toolchain}")
    required = raw.get("requiredPulumiVersion", "")
    if not isinstance(required, str) or not valid_version_range(required):  # plugin.go ValidatePulumiVersionRange
        problems.append(f"parsing CLI version range {required!r} failed")
    if problems:  # the language host's own words (pulumi-language-python main.go `parseOptions`)
        raise PackStartError(f"{project_file}: " + "; ".join(problems))
    return PackProject("python", str(raw.get("version") or ""), str(toolchain), str(options.get("virtualenv", "")))


@dataclass(frozen=True)
class PackLaunch:
    """How the CLI's Python language host starts a pack: the command, its working directory, and the environment it
    starts from (before the stack's variables are added)."""

    command: tuple[str, ...]
    cwd: Path
    base_environment: Mapping[str, str]

    @property
    def python(self) -> str:
        return self.command[0]


def pack_launch(pack_dir: Path, project: PackProject, environ: Mapping[str, str] | None = None) -> PackLaunch:
    """Resolve the pack's interpreter with the language host's rules (module docstring), or say what to run.

    There is no fallback to this process's own interpreter: the CLI has none, so a pack that only starts here would
    fail at the first `pulumi preview --policy-pack`."""
    environ = dict(os.environ if environ is None else environ)
    pack_dir = pack_dir.resolve()
    if not (pack_dir / "__main__.py").is_file():
        raise PackStartError(f"{pack_dir}: the pack has no __main__.py (the CLI would run it as a buildable "
                             f"package with `python -m pulumi.run.plugin`, which the offline host does not serve)")
    toolchain = project.toolchain or _detected_toolchain(pack_dir)
    if toolchain != "pip":
        raise PackStartError(f"{pack_dir / 'PulumiPolicy.yaml'}: the {toolchain} toolchain is not served offline; "
                             f"name `toolchain: pip` and a `virtualenv` in the runtime options")
    args = ("-u", "-m", "pulumi.policy", ENGINE_ADDRESS, str(pack_dir))
    if not project.virtualenv:
        found = _python_on_path(environ)
        if found is None:
            raise PackStartError(
                f"{pack_dir / 'PulumiPolicy.yaml'} names no virtualenv, so the CLI runs the pack with the python3 "
                f"(or PULUMI_PYTHON_CMD) on PATH, and there is none; set runtime.options.virtualenv")
        return PackLaunch((found, *args), pack_dir, {})
    venv = Path(project.virtualenv)
    venv = venv if venv.is_absolute() else pack_dir / venv
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.is_file():
        what = "doesn't exist" if not venv.exists() else "doesn't appear to be a virtual environment"
        raise PackStartError(
            f"{pack_dir / 'PulumiPolicy.yaml'} runs the pack with the virtualenv {project.virtualenv!r}, but "
            f"{os.path.normpath(venv)} {what}: `pulumi preview --policy-pack` fails there too. Run `make setup` "
            f"(it creates .venv with policies/requirements.txt), or create that virtualenv and run "
            f"`{os.path.normpath(python)} -m pip install -r {pack_dir / 'requirements.txt'}`.")
    return PackLaunch((str(python), *args), pack_dir, _activated(environ, venv))


def pack_environment(launch: PackLaunch, context: StackContext,
                     environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The pack's environment: the launch's base, the stack's variables from ConfigureStack (each only when not
    empty), then the CLI's own environment, which the language host appends last, so where a name repeats the CLI's
    value wins (Go's exec keeps the last one)."""
    stack_variables = {"PULUMI_ORGANIZATION": context.organization, "PULUMI_PROJECT": context.project,
                       "PULUMI_STACK": context.stack, "PULUMI_DRY_RUN": "true" if context.dry_run else "false",
                       "PULUMI_CONFIG": go_json(dict(context.config)) if context.config else ""}
    return {**launch.base_environment, **{k: v for k, v in stack_variables.items() if v},
            **(os.environ if environ is None else environ)}


def _detected_toolchain(pack_dir: Path) -> str:
    """What the host picks with no `toolchain` option: uv or poetry when their lock file is in or above the pack."""
    for directory in (pack_dir, *pack_dir.parents):
        for lock, toolchain in (("uv.lock", "uv"), ("poetry.lock", "poetry")):
            if (directory / lock).is_file():
                return toolchain
    return "pip"


def _python_on_path(environ: Mapping[str, str]) -> str | None:
    """toolchain.CommandPath: PULUMI_PYTHON_CMD, else python3 then python (the other way round on Windows)."""
    names = [environ["PULUMI_PYTHON_CMD"]] if environ.get("PULUMI_PYTHON_CMD") else (
        ["python", "python3"] if os.name == "nt" else ["python3", "python"])
    for name in names:
        found = shutil.which(name, path=environ.get("PATH"))
        if found:
            return found
    return None


def _activated(environ: Mapping[str, str], venv: Path) -> dict[str, str]:
    """toolchain.ActivateVirtualEnv: the venv's bin first on PATH, VIRTUAL_ENV set, PYTHONHOME removed."""
    bin_dir = str(venv / ("Scripts" if os.name == "nt" else "bin"))
    result = {k: v for k, v in environ.items() if k.upper() not in ("PYTHONHOME", "VIRTUAL_ENV", "PATH")}
    path = next((v for k, v in environ.items() if k.upper() == "PATH"), None)
    result["PATH"] = bin_dir if path is None else f"{bin_dir}{os.pathsep}{path}"
    result["VIRTUAL_ENV"] = str(venv)
    return result


_MISSING_MODULE = re.compile(r"No module named '?(pulumi_policy|pulumi)[.']")


class PolicyPackProcess:
    """The pack's own process. `start()` returns at once so the caller can run the program meanwhile;
    `wait_for_port()` then reads the port the pack prints. `stop()` always ends it."""

    def __init__(self, pack_dir: Path, context: StackContext, timeout: float = STARTUP_TIMEOUT_SECONDS):
        self.pack_dir = pack_dir.resolve()
        self.context = context
        self.timeout = timeout
        self.project = read_pack_project(self.pack_dir)
        self.launch = pack_launch(self.pack_dir, self.project)
        self._process: subprocess.Popen[bytes] | None = None
        self._lines: deque[str] = deque(maxlen=200)
        self._port_ready = threading.Event()
        self._port: int | None = None
        self._readers: list[threading.Thread] = []

    def start(self) -> None:
        """Spawn the pack as the CLI's Python language host does, and read its output in the background."""
        env = pack_environment(self.launch, self.context)
        try:
            self._process = subprocess.Popen(list(self.launch.command), cwd=self.launch.cwd, env=env,
                                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
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
            missing = _MISSING_MODULE.search(detail)
            fix = (f"\n{self.launch.python} lacks the pack's requirements ({missing.group(1)} is not installed), as "
                   f"`pulumi preview --policy-pack` would find too. Run `make setup`, or "
                   f"`{self.launch.python} -m pip install -r {self.pack_dir / 'requirements.txt'}`."
                   if missing else "")
            raise PackStartError(f"the policy pack at {self.pack_dir} {reason}"
                                 + (f":\n{_indent(detail)}" if detail else "") + fix)
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


class _Recorder(grpc.UnaryUnaryClientInterceptor):
    """Keeps every request the host sends, in the order it sends them (the protocol tests compare it with the CLI)."""

    def __init__(self, calls: list[Call]):
        self.calls = calls

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        method = details.method.rsplit("/", 1)[-1]
        subject = getattr(request, "urn", "") or getattr(request, "stack", "")
        if method == "AnalyzeStack":
            subject = f"{len(request.resources)} resources"
        self.calls.append(Call(method, subject))
        return continuation(details, request)


class _Answer:
    """A pack's answer kept for reuse: the call's result once it arrived. A call that failed is not reused."""

    def __init__(self, call: Any):
        self._call = call
        self.failed = False

    def result(self) -> Any:
        try:
            return self._call.result()
        except Exception:
            self.failed = True
            raise


class AnalyzerClient:
    """The Analyzer service of one running pack, with requests built as the CLI builds them. `calls` records every
    request sent, in order."""

    def __init__(self, port: int, timeout: float = STARTUP_TIMEOUT_SECONDS):
        self.raw_channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=_GRPC_OPTIONS)
        try:
            grpc.channel_ready_future(self.raw_channel).result(timeout=timeout)
        except grpc.FutureTimeoutError as error:
            self.raw_channel.close()
            raise PackStartError(f"the policy pack on port {port} did not accept a connection") from error
        self.calls: list[Call] = []
        self.stub = analyzer_pb2_grpc.AnalyzerStub(grpc.intercept_channel(self.raw_channel, _Recorder(self.calls)))
        self.answers: dict[tuple[bytes, bytes, str, bytes], Any] | None = None
        self._configured = (b"", b"")  # the last ConfigureStack and Configure sent: what the pack's answers depend on

    def close(self) -> None:
        """Close the gRPC channel (the process is the host's to stop)."""
        self.raw_channel.close()

    def configure_stack(self, context: StackContext) -> None:
        """The first request a pack receives under the CLI: the stack, its config (the strings the program gets), the
        keys holding secrets, and the stack's tags (analyzer_plugin.go `NewPolicyAnalyzer`)."""
        request = analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=context.stack, project=context.project, organization=context.organization,
            dry_run=context.dry_run, config=dict(context.config), config_secret_keys=list(context.secret_keys),
            tags=dict(context.tags))
        try:
            self.stub.ConfigureStack(request)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNIMPLEMENTED:  # older packs: the CLI carries on too
                raise
        self._configured = (request.SerializeToString(deterministic=True), self._configured[1])

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
        self._configured = (self._configured[0], request.SerializeToString(deterministic=True))

    def reuse_answers(self) -> None:
        """From now on, answer Remediate, Analyze and AnalyzeStack requests that this pack already answered, after the
        same ConfigureStack and Configure, from memory instead of sending them again. For test sessions, which check
        the same registrations under the same config many times; `check` never does it (each of its registrations is
        sent once). The pack's answer is a function of its configuration and the request: policies see nothing else."""
        if self.answers is None:
            self.answers = {}

    def _ask(self, method: str, request: Any) -> Any:
        """A future-like for `method`'s answer to `request`: remembered (reuse_answers), or sent now."""
        if self.answers is None:
            return getattr(self.stub, method).future(request)
        key = (*self._configured, method, request.SerializeToString(deterministic=True))
        known = self.answers.get(key)
        if known is None or known.failed:
            known = self.answers[key] = _Answer(getattr(self.stub, method).future(request))
        return known

    def analyze_all(self, targets: Sequence[PolicyTarget]) -> list[AnalyzeResult]:
        """Remediate, then Analyze, each registration, as the engine's step generator does: a remediation's new
        inputs are what Analyze sees. Requests go out together (the pack serves four at a time); results in order."""
        requests = [_analyze_request(t) for t in targets]
        remediating = [self._ask("Remediate", request) for request in requests]
        remediations = [_remediations(target, call.result()) for target, call in zip(targets, remediating, strict=True)]
        final = [_remediated(target, found) for target, found in zip(targets, remediations, strict=True)]
        # A registration no remediation changed is analyzed with the very request it was remediated with.
        analyzing = [self._ask("Analyze", request if after is before else _analyze_request(after))
                     for request, before, after in zip(requests, targets, final, strict=True)]
        return [dataclasses.replace(_result(call.result()), remediations=found)
                for call, found in zip(analyzing, remediations, strict=True)]

    def analyze_stack(self, targets: Sequence[PolicyTarget]) -> AnalyzeResult:
        """Run the stack policies once over every resource of the stack."""
        request = analyzer_pb2.AnalyzeStackRequest(resources=[_stack_resource(t) for t in targets])
        try:
            return _result(self._ask("AnalyzeStack", request).result())
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.UNIMPLEMENTED:  # the CLI skips packs without stack policies
                return AnalyzeResult((), ())
            raise


class PolicyPackHost:
    """A started, connected pack for one stack context; reusable for any number of checks of that stack."""

    def __init__(self, pack_dir: Path, context: StackContext, timeout: float = STARTUP_TIMEOUT_SECONDS,
                 reuse_answers: bool = False):
        self.pack_dir = pack_dir.resolve()
        self.context = context
        self.reuse_answers = reuse_answers
        self.process = PolicyPackProcess(self.pack_dir, context, timeout)
        self.client: AnalyzerClient | None = None
        self.info: PackInfo | None = None

    def start(self) -> PolicyPackHost:
        """Start the process without waiting for it (the program can run meanwhile)."""
        self.process.start()
        return self

    def connect(self, context: StackContext | None = None) -> PolicyPackHost:
        """Attach to the pack and describe the stack to it as the CLI does before the update: ConfigureStack (every
        time: each run brings its own config), then GetAnalyzerInfo (once; the CLI caches the answer too). The CLI's
        Handshake never reaches a Python pack (the language host's proxy answers it), so none is sent."""
        if not self.process.started:
            self.process.start()
        try:
            if self.client is None:
                self.client = AnalyzerClient(self.process.wait_for_port(), self.process.timeout)
                if self.reuse_answers:
                    self.client.reuse_answers()
            self.client.configure_stack(context or self.context)
            if self.info is None:
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

    def __init__(self, reuse_answers: bool = False) -> None:
        """`reuse_answers`: the packs answer a request they already answered under the same configuration from memory
        (`AnalyzerClient.reuse_answers`; test sessions)."""
        self._hosts: dict[tuple[Path, str, str, bool], PolicyPackHost] = {}
        self.reuse_answers = reuse_answers

    def get(self, pack_dir: Path, context: StackContext) -> PolicyPackHost:
        """The running host for this pack and stack, started (not yet waited for) when there is none."""
        key = (pack_dir.resolve(), context.project, context.stack, context.dry_run)
        host = self._hosts.get(key)
        if host is None or not host.process.running:
            host = self._hosts[key] = PolicyPackHost(pack_dir, context, reuse_answers=self.reuse_answers).start()
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
    # Engine-form values (offline/values.py `to_engine`: str, float, bool, None, lists, string-keyed dicts) fill a
    # Struct as json_format.ParseDict would, in a quarter less time (tests/offline/test_values.py compares them).
    properties = struct_pb2.Struct()
    properties.update(target.properties)
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


def _remediations(target: PolicyTarget, response: Any) -> tuple[Remediation, ...]:
    return tuple(Remediation(r.policyName, target.urn,
                             json_format.MessageToDict(r.properties) if r.HasField("properties") else None,
                             r.diagnostic) for r in response.remediations)


def _remediated(target: PolicyTarget, remediations: Sequence[Remediation]) -> PolicyTarget:
    """The target with the last remediation's properties, as the engine carries them into Analyze."""
    for remediation in remediations:
        if not remediation.diagnostic and remediation.properties is not None:
            target = dataclasses.replace(target, properties=remediation.properties)
    return target


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


__all__ = ["AnalyzeResult", "AnalyzerClient", "Call", "Diagnostic", "HostPool", "PackInfo", "PackLaunch",
           "PackStartError", "PolicyInfo", "PolicyPackHost", "PolicyPackProcess", "PolicyTarget", "ProviderRef",
           "Remediation", "StackContext", "pack_environment", "pack_launch", "read_pack_project"]
