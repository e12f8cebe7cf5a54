"""The host serves a pack as the Pulumi CLI does: its own process started with `python -m pulumi.policy`, the stack in
its environment, config merged with schema defaults, resources analyzed with their options and the stack with its
wiring. Tested against a small pack whose every verdict is known.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offline.analyzer_host import PackStartError, PolicyPackHost, StackContext
from offline.engine import Graph
from offline.gate import resource_targets, run_check
from offline.policy_config import PolicyConfigError
from tests.offline.helpers import resource, set_both, varied, write_pack

KEY = "aoai-prod-swc-cmk-key"


def test_pack_describes_its_policies(tiny_pack: Path, pool, stack_contexts) -> None:
    host = pool.get(tiny_pack, stack_contexts["prod"]).connect()
    assert host.info is not None
    assert (host.info.name, host.info.version) == ("tiny-pack", "0.3.0"), "the version comes from PulumiPolicy.yaml"
    assert [(p.name, p.policy_type, p.enforcement_level) for p in host.info.policies] == [
        ("tiny-account-private", "resource", "mandatory"), ("tiny-keys-in-vaults", "stack", "advisory")]
    assert host.info.policies[0].config_properties["expected"]["default"] == "Disabled"


def test_schema_defaults_reach_the_policy(tiny_pack: Path, graphs: dict[str, Graph], gate) -> None:
    result = gate(graphs["prod"], pack=tiny_pack, config=None)
    assert result.violations == (), "the policy reads config['expected'], which only the default supplies"
    assert result.policy_config["tiny-account-private"].properties == {"expected": "Disabled", "requireProtect": False}


def test_config_file_changes_properties_and_levels(tiny_pack: Path, graphs: dict[str, Graph], gate,
                                                   tmp_path: Path) -> None:
    config = tmp_path / "strict.json"
    config.write_text(json.dumps({"all": "advisory", "tiny-account-private": {"expected": "Enabled"}}))
    result = gate(graphs["prod"], pack=tiny_pack, config=config)
    accounts = {v.resource_name for v in result.violations if v.policy == "tiny-account-private"}
    assert accounts == {"aoai-prod-swc-openai-account", "aoai-prod-frc-openai-account"}
    assert {v.enforcement_level for v in result.violations} == {"advisory"} and result.exit_code == 0
    assert "publicNetworkAccess is Disabled, expected Enabled" in {v.message for v in result.violations}


def test_resource_options_reach_resource_policies(tiny_pack: Path, graphs: dict[str, Graph], gate,
                                                  tmp_path: Path) -> None:
    config = tmp_path / "protect.json"
    config.write_text(json.dumps({"tiny-account-private": {"requireProtect": True}}))
    assert gate(graphs["prod"], pack=tiny_pack, config=config).violations == ()
    graph = varied(graphs["prod"])
    resource(graph, "aoai-prod-swc-openai-account").protect = False
    result = gate(graph, pack=tiny_pack, config=config)
    assert [(v.resource_name, v.message) for v in result.violations] == [
        ("aoai-prod-swc-openai-account", "the account is not protected")]


def test_stack_policies_see_outputs_parents_and_dependencies(tiny_pack: Path, graphs: dict[str, Graph],
                                                             gate) -> None:
    assert gate(graphs["prod"], pack=tiny_pack, config=None).violations == ()
    graph = varied(graphs["prod"])
    key = resource(graph, KEY)
    key.dependencies = [d for d in key.dependencies if "keyvault:Vault" not in d]
    key.parent = "urn:pulumi:prod::aoai-platform::nowhere::gone"
    set_both(key, "keyUriWithVersion", "")
    result = gate(graph, pack=tiny_pack, config=None)
    assert sorted(v.message for v in result.violations) == [
        "key has no parent component", "key has no vault dependency", "key has no versioned URI"]
    assert {(v.stage, v.resource_name, v.enforcement_level) for v in result.violations} == {
        ("stack", KEY, "advisory")}


def test_pack_runs_with_the_stack_in_its_environment(tiny_pack: Path, graphs: dict[str, Graph], gate,
                                                     tmp_path: Path) -> None:
    config = tmp_path / "echo.json"
    config.write_text(json.dumps({"tiny-keys-in-vaults": {"echoStack": True}}))
    result = gate(graphs["dev"], pack=tiny_pack, config=config)
    assert [(v.message, v.resource_name) for v in result.violations] == [
        ("stack dev dry run true", "aoai-platform-dev")], "a stack-level finding belongs to the root stack"


def test_invalid_config_for_the_schema_is_refused(tiny_pack: Path, graphs: dict[str, Graph], gate,
                                                  tmp_path: Path) -> None:
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"tiny-account-private": {"expected": "Sometimes"}}))
    with pytest.raises(PolicyConfigError, match=r'tiny-account-private\.expected: "Sometimes" is not allowed \(one of'):
        gate(graphs["prod"], pack=tiny_pack, config=config)
    config.write_text(json.dumps({"tiny-account-private": {"expectd": "Enabled"}}))
    with pytest.raises(PolicyConfigError) as error:
        gate(graphs["prod"], pack=tiny_pack, config=config)
    assert "bad.json:1:27: tiny-account-private.expectd: 'expectd' is not a property of this policy (did you mean " \
           "'expected'?)" in str(error.value), "a misspelt property is refused, not passed on as the CLI would"


def test_a_pack_that_fails_to_start_says_why(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "broken", "from pulumi_policy import PolicyPack\nraise SystemExit('no policies')\n")
    host = PolicyPackHost(pack, StackContext("aoai-platform", "dev"), timeout=30)
    with pytest.raises(PackStartError, match="exited with code 1") as error:
        host.connect()
    assert "no policies" in str(error.value)
    assert not host.process.running


def test_a_pack_in_another_language_is_refused(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "node", "", project="runtime: nodejs\n")
    with pytest.raises(PackStartError, match="runtime 'nodejs' is not supported"):
        PolicyPackHost(pack, StackContext("aoai-platform", "dev"))


def test_closing_the_host_stops_the_pack_process(tiny_pack: Path, graphs: dict[str, Graph],
                                                  stack_contexts) -> None:
    with PolicyPackHost(tiny_pack, stack_contexts["prod"]) as host:
        run_check(host, graphs["prod"], None, stack_contexts["prod"])
        assert host.process.running
    assert not host.process.running


def test_config_for_a_policy_the_pack_does_not_have_is_flagged(tiny_pack: Path, graphs: dict[str, Graph], gate,
                                                               tmp_path: Path) -> None:
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"tiny-acount-private": {"expected": "Enabled"}}))
    with pytest.raises(PolicyConfigError, match="tiny-acount-private: no policy of pack tiny-pack has this name; did "
                                                "you mean 'tiny-account-private'"):
        gate(graphs["prod"], pack=tiny_pack, config=typo)
    typo.write_text(json.dumps({"tiny-acount-private": "advisory"}))
    with pytest.raises(PolicyConfigError, match="tiny-acount-private: no policy of pack tiny-pack has this name"):
        gate(graphs["prod"], pack=tiny_pack, config=typo)  # a level alone for a misspelt name is refused too


def _analyses(host: PolicyPackHost) -> int:
    assert host.client is not None
    return sum(c.method in ("Remediate", "Analyze", "AnalyzeStack") for c in host.client.calls)


def test_reused_answers_are_the_pack_s_own_under_the_same_configuration(tiny_pack: Path, graphs: dict[str, Graph],
                                                                       stack_contexts, tmp_path: Path) -> None:
    """The test session's pool reuses answers (HostPool(reuse_answers=True)): a check repeated under the same
    configuration sends nothing and says the same; another configuration is asked afresh. A host reuses nothing
    unless told to (`check`)."""
    context = stack_contexts["prod"]
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"tiny-account-private": {"expected": "Enabled"}}))
    with PolicyPackHost(tiny_pack, context) as host:
        first = run_check(host, graphs["prod"], None, context)
        sent = _analyses(host)
        assert sent == 2 * len(resource_targets(graphs["prod"])) + 1  # Remediate and Analyze each, AnalyzeStack
        run_check(host, graphs["prod"], None, context)
        assert _analyses(host) == 2 * sent, "by default every check sends every request"
        assert host.client is not None
        host.client.reuse_answers()
        run_check(host, graphs["prod"], None, context)
        assert _analyses(host) == 3 * sent, "answers are reused from the moment reuse is turned on"
        again = run_check(host, graphs["prod"], None, context)
        assert (again.violations, again.exit_code) == (first.violations, first.exit_code) and _analyses(host) == 3 * sent
        other = run_check(host, graphs["prod"], strict, context)
        assert _analyses(host) == 4 * sent
        assert {v.resource_name for v in other.violations if v.policy == "tiny-account-private"} == {
            "aoai-prod-swc-openai-account", "aoai-prod-frc-openai-account"}
        back = run_check(host, graphs["prod"], None, context)
        assert back.violations == first.violations and _analyses(host) == 4 * sent


def test_the_session_pool_reuses_answers(tiny_pack: Path, pool, stack_contexts) -> None:
    host = pool.get(tiny_pack, stack_contexts["prod"]).connect()
    assert host.client is not None and host.client.answers is not None
