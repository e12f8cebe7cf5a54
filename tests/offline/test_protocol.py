"""The offline host speaks the Analyzer protocol in the Pulumi CLI's order and covers what the CLI covers.

The CLI's order, from pulumi/pulumi (read 2026-11-30, commit 1b59498):
1. ConfigureStack, before anything else reaches the pack: the Python language host's PolicyProxy holds the pack back
   until the engine's ConfigureStack arrives and forwards it first (sdk/policy_proxy.go `Attach`); the engine sends it
   right after starting the plugin (pkg/resource/plugin/analyzer_plugin.go `NewPolicyAnalyzer`). Handshake is
   answered by the proxy and never reaches the pack.
2. GetAnalyzerInfo, then Configure with the reconciled config (pkg/engine/update.go, local policy packs).
3. For every registration in registration order (the root stack, each default provider just before the first
   resource of its package, every component and custom resource): Remediate, then Analyze on its inputs
   (pkg/resource/deploy/step_generator.go `continueStepsFromImport`, `analyzeAll`).
4. AnalyzeStack once, after the stack outputs are final, with every resource and its outputs
   (pkg/resource/deploy/deployment_executor.go, step_generator.go `AnalyzeResources`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from offline.analyzer_host import Call, PolicyPackHost
from offline.engine import ROOT_STACK_TYPE, Graph
from offline.gate import default_policy_config, default_provider, root_stack_urn, run_check, stack_context
from offline.project_files import stack_config
from offline.render import check_lines
from tests.offline.helpers import PACK, TEST_PACK_PROJECT, write_pack
from tests.support import variant

RECORDING_PACK_MAIN = '''
"""A pack that writes down every request it receives, then answers as the real SDK does."""
import json
import os

from google.protobuf import json_format
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy import policy as sdk

LOG = os.environ["RECORDING_PACK_LOG"]


def record(name):
    original = getattr(sdk._PolicyAnalyzerServicer, name)

    def recorded(self, request, context):
        entry = {"method": name}
        if name == "ConfigureStack":
            entry.update(stack=request.stack, organization=request.organization, dry_run=request.dry_run,
                         config=dict(request.config), secret_keys=list(request.config_secret_keys),
                         tags=dict(request.tags), env_config=os.environ.get("PULUMI_CONFIG"))
        elif name in ("Remediate", "Analyze"):
            entry.update(urn=request.urn, type=request.type, parent=request.options.parent,
                         properties=json_format.MessageToDict(request.properties))
        elif name == "AnalyzeStack":
            entry.update(resources={r.urn: {"type": r.type, "parent": r.parent,
                                            "properties": json_format.MessageToDict(r.properties)}
                                    for r in request.resources})
        with open(LOG, "a") as log:
            log.write(json.dumps(entry) + "\\n")
        return original(self, request, context)

    setattr(sdk._PolicyAnalyzerServicer, name, recorded)


for method in ("ConfigureStack", "GetAnalyzerInfo", "Configure", "Remediate", "Analyze", "AnalyzeStack"):
    record(method)

PolicyPack("recording-pack", [
    ResourceValidationPolicy("recording-resources", "Sees every registration.", validate=lambda args, report: None),
    StackValidationPolicy("recording-stack", "Sees the whole stack.", validate=lambda args, report: None),
], EnforcementLevel.ADVISORY)
'''


def cli_order(graph: Graph) -> list[Call]:
    """The requests the CLI sends a freshly started pack for this graph (module docstring)."""
    calls = [Call("ConfigureStack", graph.stack), Call("GetAnalyzerInfo"), Call("Configure")]
    registrations = [root_stack_urn(graph)]
    providers: set[str] = set()
    for resource in graph.resources:
        provider = default_provider(graph, resource.type).urn
        if resource.custom and provider not in providers:
            providers.add(provider)
            registrations.append(provider)
        registrations.append(resource.urn)
    calls += [Call("Remediate", urn) for urn in registrations] + [Call("Analyze", urn) for urn in registrations]
    return [*calls, Call("AnalyzeStack", f"{len(registrations)} resources")]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One `check` of prod through a fresh recording pack: the host's own recording and the pack's log."""
    directory = tmp_path_factory.mktemp("recording")
    pack = write_pack(directory / "pack", RECORDING_PACK_MAIN, TEST_PACK_PROJECT)
    log = directory / "calls.jsonl"
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("RECORDING_PACK_LOG", str(log))
    graph = variant("prod")
    resolved = stack_config("prod")
    context = stack_context(graph, resolved.values, resolved.secret_keys)
    try:
        with PolicyPackHost(pack, context) as host:
            run_check(host, graph, default_policy_config(pack, "prod"), context)
            assert host.client is not None
            sent = list(host.client.calls)
    finally:
        monkeypatch.undo()
    received = [json.loads(line) for line in log.read_text().splitlines()]
    return {"graph": graph, "sent": sent, "received": received, "config": dict(resolved.values)}


def test_the_host_sends_what_the_cli_sends_in_the_clis_order(recorded: dict[str, Any]) -> None:
    sent: list[Call] = recorded["sent"]
    assert sent == cli_order(recorded["graph"])
    assert "Handshake" not in {c.method for c in sent}


def test_the_pack_receives_configure_stack_first_with_config_secret_keys_and_tags(recorded: dict[str, Any]) -> None:
    received = recorded["received"]
    assert [r["method"] for r in received[:3]] == ["ConfigureStack", "GetAnalyzerInfo", "Configure"]
    first = received[0]
    assert first["stack"] == "prod" and first["organization"] == "organization" and first["dry_run"] is True
    assert first["config"] == recorded["config"], "the same strings the program gets"
    assert first["config"]["aoai-platform:environment"] == "prod"
    assert first["secret_keys"] == [] and first["tags"] == {}, "no secure values; a DIY backend sends no tags"
    assert json.loads(first["env_config"]) == first["config"], "PULUMI_CONFIG is the ConfigureStack config"
    assert received[-1]["method"] == "AnalyzeStack"
    remediated = [r["urn"] for r in received if r["method"] == "Remediate"]
    analyzed = [r["urn"] for r in received if r["method"] == "Analyze"]
    assert sorted(remediated) == sorted(analyzed)
    last_remediate = max(i for i, r in enumerate(received) if r["method"] == "Remediate")
    assert last_remediate < min(i for i, r in enumerate(received) if r["method"] == "Analyze")


def test_components_the_root_stack_and_the_default_provider_are_analyzed(recorded: dict[str, Any]) -> None:
    graph: Graph = recorded["graph"]
    analyzed = {r["urn"]: r for r in recorded["received"] if r["method"] == "Analyze"}
    assert analyzed[root_stack_urn(graph)]["type"] == ROOT_STACK_TYPE
    provider = default_provider(graph, "azure-native:cognitiveservices:Account")
    assert analyzed[provider.urn]["properties"] == {"version": provider.properties["version"]}
    assert analyzed[provider.urn]["parent"] == "", "the engine leaves a default provider without a parent"
    components = [r for r in graph.resources if not r.custom]
    assert components and all(analyzed[c.urn]["properties"] == {} for c in components), "a component's inputs"
    providers = {default_provider(graph, r.type).urn for r in graph.resources if r.custom}
    assert providers == {provider.urn, "urn:pulumi:prod::aoai-platform::pulumi:providers:time::default_0_1_1"}
    assert set(analyzed) == {root_stack_urn(graph), *providers, *(r.urn for r in graph.resources)}


def test_analyze_stack_gets_components_and_the_stack_with_their_registered_outputs(recorded: dict[str, Any]) -> None:
    graph: Graph = recorded["graph"]
    stack = next(r for r in recorded["received"] if r["method"] == "AnalyzeStack")["resources"]
    account = next(r for r in graph.resources if r.type == "aoai:openai:OpenAIAccount")
    assert set(stack[account.urn]["properties"]) == {"accountId", "endpoint", "deployments"}
    assert stack[account.urn]["properties"]["endpoint"].startswith("https://")
    assert stack[root_stack_urn(graph)]["properties"]["environment"] == "prod"
    assert len(stack) == len(graph.resources) + 3, "every registration, the root stack and the two providers"


def test_the_recording_monitor_keeps_component_outputs() -> None:
    graph = variant("dev")
    cmk = next(r for r in graph.resources if r.type == "aoai:keyvault:CustomerManagedKey")
    assert set(cmk.outputs) == {"vaultId", "vaultUri", "keyId", "keyUriWithVersion", "identityId"}
    assert cmk.inputs == {}


def test_the_real_pack_passes_with_every_registration_analyzed(gate, graphs: dict[str, Graph]) -> None:
    for stack in ("dev", "prod"):
        assert gate(graphs[stack]).exit_code == 0, stack


def test_a_warm_pack_gets_configure_stack_again_for_each_run(pool, graphs: dict[str, Graph],
                                                             stack_contexts: dict[str, Any], tmp_path: Path) -> None:
    host = pool.get(PACK, stack_contexts["dev"])
    run_check(host, graphs["dev"], None, stack_contexts["dev"])
    assert host.client is not None
    before = len(host.client.calls)
    run_check(host, graphs["dev"], None, stack_contexts["dev"])
    again = [c.method for c in host.client.calls[before:before + 2]]
    assert again == ["ConfigureStack", "Configure"], "the analyzer info is cached, as the CLI caches it"


REMEDIATING_PACK_MAIN = '''
"""A remediation policy tags every account; a validation policy then requires the tag."""
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy

ACCOUNT = "azure-native:cognitiveservices:Account"


def tag(args):
    if args.resource_type == ACCOUNT:
        return {**args.props, "tags": {**args.props.get("tags", {}), "remediated": "yes"}}


def require_tag(args, report_violation):
    if args.resource_type == ACCOUNT and args.props.get("tags", {}).get("remediated") != "yes":
        report_violation("the account was analyzed without the remediated tag")


PolicyPack("remediating-pack", [
    ResourceValidationPolicy("tag-accounts", "Tags accounts.", remediate=tag,
                             enforcement_level=EnforcementLevel.REMEDIATE),
    ResourceValidationPolicy("require-tag", "Accounts carry the tag.", validate=require_tag),
], EnforcementLevel.MANDATORY)
'''


def test_analyze_sees_what_remediate_rewrote_as_in_the_engine(tmp_path: Path, graphs: dict[str, Graph],
                                                              stack_contexts: dict[str, Any]) -> None:
    pack = write_pack(tmp_path / "pack", REMEDIATING_PACK_MAIN, TEST_PACK_PROJECT)
    with PolicyPackHost(pack, stack_contexts["prod"]) as host:
        result = run_check(host, graphs["prod"], None, stack_contexts["prod"])
    assert result.violations == (), "Analyze got the remediated inputs"
    accounts = {r.urn for r in graphs["prod"].resources if r.type == "azure-native:cognitiveservices:Account"}
    assert set(result.remediated) == {("tag-accounts", urn) for urn in accounts} and len(accounts) == 2
    assert any(line.startswith("remediated (2)") for line in check_lines(result))
