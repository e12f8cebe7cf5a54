"""The pack as the CLI loads it: a process that prints its port and serves the Analyzer gRPC service."""

from __future__ import annotations

import contextlib
import copy
import os
import select
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import grpc
import pytest
from aoai_policies import tokens as t
from aoai_policies.pack import PACK_NAME, POLICIES
from google.protobuf import empty_pb2, struct_pb2
from policy_harness import PACK_DIR, enforcement_level, full_config, pack_config
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import StackValidationPolicy
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

MAIN = [sys.executable, "-u", "__main__.py"]
# What the CLI's Python policy host runs: the SDK's entry point with an engine address and the pack directory.
POLICY_HOST = [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", "."]


@contextlib.contextmanager
def serve(command: Sequence[str]) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """Start the pack in policies/ as a child process, read its port from stdout, yield a connected stub."""
    # The CLI starts a pack with PULUMI_STACK (and the rest of ConfigureStack's context) in its environment.
    environment = {**os.environ, "PULUMI_STACK": "prod"}
    process = subprocess.Popen(list(command), cwd=PACK_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=environment)
    try:
        assert process.stdout is not None and process.stderr is not None
        ready, _, _ = select.select([process.stdout], [], [], 60)
        line = process.stdout.readline() if ready else ""
        if not line.strip().isdigit():
            process.kill()
            raise AssertionError(f"the pack printed no port ({line!r}); stderr: {process.stderr.read()[-2000:]}")
        channel = grpc.insecure_channel(f"127.0.0.1:{int(line)}")
        grpc.channel_ready_future(channel).result(timeout=30)
        try:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
        finally:
            channel.close()
    finally:
        process.kill()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """One pack process for the module, started the way the brief's CLI host starts it."""
    with serve(MAIN) as stub:
        yield stub


def struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(copy.deepcopy(dict(value)))
    return result


def configure(stub: analyzer_pb2_grpc.AnalyzerStub, stack: str) -> None:
    """Configure every policy as the CLI does for `--policy-pack-config policies/config/<stack>.json`: the level,
    and the schema defaults overlaid with the file's properties."""
    config = pack_config(stack)
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for p in POLICIES:
        values = full_config(p, stack)
        level = analyzer_pb2.EnforcementLevel.Value(enforcement_level(p, config).value.upper())
        request.policyConfig[p.name].CopyFrom(analyzer_pb2.PolicyConfig(enforcementLevel=level,
                                                                        properties=struct(values)))
    stub.Configure(request)


def analyze(stub: analyzer_pb2_grpc.AnalyzerStub, resource_type: str, props: Mapping[str, Any],
            name: str = "prod-subject") -> list[Any]:
    request = analyzer_pb2.AnalyzeRequest(
        type=resource_type, properties=struct(props), urn=f"urn:pulumi:prod::aoai-platform::{resource_type}::{name}",
        name=name, options=analyzer_pb2.AnalyzerResourceOptions(protect=True))
    return list(stub.Analyze(request).diagnostics)


def analyze_stack(stub: analyzer_pb2_grpc.AnalyzerStub, graph: Any) -> list[Any]:
    resources = [analyzer_pb2.AnalyzerResource(
        type=r.type, properties=struct(r.outputs if r.custom else r.inputs), urn=r.urn, name=r.name, parent=r.parent,
        options=analyzer_pb2.AnalyzerResourceOptions(protect=r.protect), dependencies=r.dependencies,
        propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                              for k, v in r.property_dependencies.items()})
        for r in graph.resources]
    return list(stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources)).diagnostics)


@pytest.mark.parametrize("command", [MAIN, POLICY_HOST], ids=["python __main__.py", "python -m pulumi.policy"])
def test_the_pack_serves_its_policies_with_their_metadata(command: list[str]) -> None:
    with serve(command) as stub:
        stub.GetPluginInfo(empty_pb2.Empty())
        info = stub.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == PACK_NAME and info.supportsConfig
    assert [p.name for p in info.policies] == [p.name for p in POLICIES]
    for served, p in zip(info.policies, POLICIES, strict=True):
        assert p.severity is not None and p.config_schema is not None
        assert served.severity == analyzer_pb2.PolicySeverity.Value(f"POLICY_SEVERITY_{p.severity.value.upper()}")
        assert served.enforcementLevel == analyzer_pb2.MANDATORY
        assert served.remediation_steps == p.remediation_steps and served.framework.specification
        assert set(served.configSchema.properties) == set(p.config_schema.properties)
        expected = "POLICY_TYPE_STACK" if isinstance(p, StackValidationPolicy) else "POLICY_TYPE_RESOURCE"
        assert served.policy_type == analyzer_pb2.PolicyType.Value(expected)


def test_a_public_account_is_a_mandatory_violation_over_grpc(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    configure(analyzer, "prod")
    account = {"kind": "OpenAI", "sku": {"name": "S0"}, "location": "swedencentral",
               "identity": {"type": "UserAssigned", "userAssignedIdentities": ["/x/id"]},
               "tags": {"owner": "o", "costCenter": "c", "dataClassification": "confidential", "environment": "prod"},
               "properties": {"publicNetworkAccess": "Enabled", "customSubDomainName": "aoai-x",
                              "disableLocalAuth": True, "restrictOutboundNetworkAccess": True,
                              "allowedFqdnList": [], "networkAcls": {"defaultAction": "Deny", "bypass": "None"},
                              "encryption": {"keySource": "Microsoft.KeyVault", "keyVaultProperties": {
                                  "keyVaultUri": "https://kv/", "keyName": "k", "keyVersion": "v",
                                  "identityClientId": UNKNOWN_STRING_VALUE}}}}
    (diagnostic,) = analyze(analyzer, t.ACCOUNT, account)
    assert diagnostic.policyName == "aoai-account-public-network-disabled"
    assert diagnostic.enforcementLevel == analyzer_pb2.MANDATORY
    assert diagnostic.severity == analyzer_pb2.POLICY_SEVERITY_CRITICAL
    sentence, where = diagnostic.message.rsplit("\n", 1)
    assert sentence.endswith("\nSet properties.publicNetworkAccess to 'Disabled' on Azure OpenAI account "
                             "'prod-subject' (it is 'Enabled'), so the account is reachable only through its "
                             "private endpoint.")
    assert where == ("Fix in the program: components/openai.py; or, after review, in policy config "
                     "policies/config/prod.json: aoai-account-public-network-disabled.exemptResources"), \
        "the pack names the stack's files from PULUMI_STACK, which the CLI sets"


def test_the_stack_config_sets_the_level_a_user_assignment_is_reported_at(
        analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    assignment = {"principalType": "User", "principalId": "0f0e0d0c-0b0a-4909-8807-060504030201",
                  "scope": "/subscriptions/s",
                  "roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/"
                                      "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"}
    levels = {}
    for stack in ("dev", "prod"):
        configure(analyzer, stack)
        (diagnostic,) = analyze(analyzer, t.ROLE_ASSIGNMENT, assignment)
        assert diagnostic.policyName == "aoai-no-user-principals"
        levels[stack] = diagnostic.enforcementLevel
    assert levels == {"dev": analyzer_pb2.ADVISORY, "prod": analyzer_pb2.MANDATORY}


def test_the_prod_program_passes_the_served_pack_and_a_broken_copy_does_not(
        analyzer: analyzer_pb2_grpc.AnalyzerStub, program_graphs: Callable[[str], Any]) -> None:
    configure(analyzer, "prod")
    graph = copy.deepcopy(program_graphs("prod"))
    assert [(d.policyName, d.message) for d in analyze_stack(analyzer, graph)] == []
    graph.resources = [r for r in graph.resources if r.name != "aoai-prod-frc-cmk-pe-dns"]
    (diagnostic,) = analyze_stack(analyzer, graph)
    assert diagnostic.policyName == "aoai-vault-private-endpoint"
    assert diagnostic.urn == graph.named("aoai-prod-frc-cmk-pe").urn
    assert diagnostic.enforcementLevel == analyzer_pb2.MANDATORY


def test_ids_unknown_during_a_first_preview_make_stack_policies_advisory(
        analyzer: analyzer_pb2_grpc.AnalyzerStub, program_graphs: Callable[[str], Any]) -> None:
    configure(analyzer, "prod")
    graph = copy.deepcopy(program_graphs("prod"))
    graph.named("aoai-prod-swc-openai-account").outputs["id"] = UNKNOWN_STRING_VALUE
    diagnostics = analyze_stack(analyzer, graph)
    assert diagnostics and all(d.enforcementLevel == analyzer_pb2.ADVISORY for d in diagnostics)
    assert all("can't run policy" in d.message and "during preview" in d.message for d in diagnostics)
