"""`python -m offline`: exit codes 0/1/2, clean messages, deterministic output, and no pack process left behind."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

import offline.engine
from offline.cli import main
from tests.offline.helpers import ROOT, write_pack

MARKER = "OFFLINE_TEST_RUN"


@pytest.fixture
def marker(monkeypatch: pytest.MonkeyPatch) -> str:
    """A value in this test's environment, which every pack it starts inherits: other packs on the machine (other
    sessions, other engineers' runs) do not count."""
    value = uuid.uuid4().hex
    monkeypatch.setenv(MARKER, value)
    return value


def policy_processes(marker: str) -> set[int]:
    """Pids of running policy packs (`python -u -m pulumi.policy ...`) started with this marker."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
                environment = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"pulumi.policy" in command and f"{MARKER}={marker}".encode() in environment:
                found.add(int(entry.name))
    return found


def stack_file(tmp_path: Path, change: dict) -> Path:  # type: ignore[type-arg]
    """Pulumi.prod.yaml with some top-level keys replaced."""
    document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    for key, value in change.items():
        document["config"][f"aoai-platform:{key}"] = value
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_check_passes_prod_with_exit_0(pool, shared_program: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--stack", "prod"], pool=pool) == 0
    out = capsys.readouterr().out
    assert "config policies/config/prod.json" in out and out.rstrip().endswith("PASS: no mandatory violations")


def test_check_fails_an_insecure_stack_with_exit_1(pool, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    insecure = stack_file(tmp_path, {"protection": {"protect": False, "locks": False}})
    assert main(["check", "--stack", "prod", "--stack-file", str(insecure)], pool=pool) == 1
    out = capsys.readouterr().out
    assert "mandatory violations (" in out and "FAIL:" in out
    # Every lock the stack lacks is one finding of one rule: the rule, where to fix it, then the resources once each.
    locks = out[out.index("  aoai-delete-locks: "):]
    header, where = locks.splitlines()[:2]
    assert header.startswith("  aoai-delete-locks: ") and header.endswith(" resources")
    assert where.strip().startswith(f"Fix in stack file {insecure}: protection.locks")
    assert "aoai-prod-swc-openai-account" in locks.split("\n\n")[0]


def test_settings_errors_exit_2_with_every_problem_and_no_traceback(tmp_path: Path, marker: str,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    bad = stack_file(tmp_path, {"regions": [{"location": "eastus", "vnetAddressSpace": "10.0.0.0/33"}]})
    assert main(["check", "--stack", "prod", "--stack-file", str(bad)]) == 2
    captured = capsys.readouterr()
    assert "error: the stack configuration of 'prod' cannot be used" in captured.err
    assert "regions[0].vnetAddressSpace: '10.0.0.0/33' is not a CIDR" in captured.err
    assert "regions[0].privateEndpointSubnet: is required" in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert policy_processes(marker) == set(), "the pack started for the run must be stopped"


@pytest.mark.parametrize("document, message", [
    ('{"all": "sometimes"}', "'sometimes' is not a valid enforcement level"),
    ('{"aoai-log-retention": {"minRetentionDays": "long"}}',
     'policy.json:1:25: aoai-log-retention.minRetentionDays: "long" is a string, but an integer is expected'),
])
def test_bad_policy_config_exits_2(pool, shared_program: None, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   document: str, message: str) -> None:
    config = tmp_path / "policy.json"
    config.write_text(document)
    assert main(["check", "--stack", "dev", "--policy-config", str(config)], pool=pool) == 2
    err = capsys.readouterr().err
    assert "error: the policy configuration cannot be used" in err and message in err and "Traceback" not in err


def test_missing_files_exit_2(pool, shared_program: None, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--stack", "dev", "--policy-config", str(tmp_path / "none.json")], pool=pool) == 2
    assert "no policy config" in capsys.readouterr().err
    assert main(["check", "--stack", "staging"], pool=pool) == 2
    assert "no stack file" in capsys.readouterr().err
    assert main(["check", "--stack", "dev", "--policy-pack", str(tmp_path)], pool=pool) == 2
    assert "PulumiPolicy.yaml is missing" in capsys.readouterr().err


def test_a_pack_that_cannot_start_exits_2_and_is_stopped(tmp_path: Path, marker: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    pack = write_pack(tmp_path / "broken", "import no_such_module\n")
    assert main(["check", "--stack", "dev", "--policy-pack", str(pack)]) == 2
    err = capsys.readouterr().err
    assert "the policy pack at" in err and "No module named 'no_such_module'" in err
    assert policy_processes(marker) == set()


def test_check_json_names_every_resource_and_violation(pool, shared_program: None, tmp_path: Path) -> None:
    out = tmp_path / "dev.json"
    assert main(["check", "--stack", "dev", "--json", str(out)], pool=pool) == 0
    doc = json.loads(out.read_text())
    assert doc["stack"] == "dev" and doc["summary"]["exitCode"] == 0
    account = next(r for r in doc["resources"] if r["name"] == "aoai-dev-swc-openai-account")
    assert {"urn", "type", "name", "parent", "dependencies", "protect", "inputs"} <= set(account)
    assert account["inputs"]["properties"]["publicNetworkAccess"] == "Disabled"
    assert account["inputs"]["sku"] == {"name": "S0"}
    assert [r["urn"] for r in doc["resources"]] == sorted(r["urn"] for r in doc["resources"])
    assert all({"policy", "enforcementLevel", "urn", "message"} <= set(v) for v in doc["violations"])
    user = [v for v in doc["violations"] if v["policy"] == "aoai-no-user-principals"]
    assert [(v["enforcementLevel"], v["urn"].rsplit("::", 1)[-1]) for v in user] == [
        ("advisory", "aoai-dev-swc-access-account-4c0f8a7d-a001fd3d")], "dev grants a user, which dev allows"
    assert doc["summary"]["mandatory"] == 0 and doc["policyPack"]["config"] == "policies/config/dev.json"


@pytest.mark.parametrize("command", ["preview", "report"])  # report runs check and writes its JSON too
def test_two_runs_give_identical_output(pool, shared_program: None, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str], command: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1796083200")  # the report's "Generated" time, pinned
    outputs = []
    # a runs the program itself; b reads the session's run of prod, made by another test or another process.
    for run, program in (("a", offline.engine.run_program), ("b", offline.cli.run_program)):
        monkeypatch.setattr("offline.cli.run_program", program)
        extra = ["--out", str(tmp_path / f"{run}.md")] if command == "report" else []
        main([command, "--stack", "prod", "--json", str(tmp_path / f"{run}.json"), *extra], pool=pool)
        outputs.append(capsys.readouterr().out.replace(str(tmp_path / run), "OUT"))
    assert outputs[0] == outputs[1]
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    if command == "report":
        assert (tmp_path / "a.md").read_text() == (tmp_path / "b.md").read_text()
        assert "| Generated | 2026-12-01T00:00:00Z |" in (tmp_path / "a.md").read_text()
    else:  # the tree: component > resources, each with its key settings
        out = outputs[0]
        assert out.startswith("aoai-platform-prod (pulumi:pulumi:Stack): 140 resources")
        assert "│   ├── aoai-prod-swc-openai-account  azure-native:cognitiveservices:Account  [protect]" in out
        assert "publicNetworkAccess=Disabled" in out and "kind=OpenAI" in out
        assert ("model=gpt-5.1 2025-11-13, sku=DataZoneProvisionedManaged, capacity=50, "
                "versionUpgradeOption=NoAutoUpgrade" in out)


def test_the_gate_runs_in_its_own_process_and_make_says_its_exit_code(tmp_path: Path, marker: str) -> None:
    """`make check` runs `python -m offline check` in a process of its own, which stops its pack before exiting. GNU
    make exits 2 whatever its recipe returned; the gated targets print the command's own code and meaning."""
    # dev, the smaller stack (a cold check of it is the cheapest exit 1): its content filter without the jailbreak shield.
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    document["config"]["aoai-platform:contentFilters"] = {"default": {"jailbreak": False}}
    insecure = tmp_path / "Pulumi.dev.yaml"
    insecure.write_text(yaml.safe_dump(document))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    done = subprocess.run(["make", "--no-print-directory", "check", "STACK=dev", f"STACK_FILE={insecure}"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 2
    assert (f"make: '.venv/bin/python -m offline check --stack dev --stack-file {insecure}' exited 1 (1: a "
            "mandatory violation blocks the deployment;") in done.stderr
    assert "aoai-deployment-content-filter: aoai-dev-swc-openai-filter-default" in done.stdout, done.stdout
    assert done.stdout.rstrip().endswith("FAIL: 1 mandatory violation(s) block the deployment"), done.stdout
    assert policy_processes(marker) == set(), "python -m offline must stop the pack before exiting"
    done = subprocess.run(["make", "--no-print-directory", "check", "STACK=nope"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 2 and "exited 2 (1: a mandatory violation" in done.stderr
    assert "did you mean" not in done.stderr or "(stacks: " in done.stderr


def test_new_stack_writes_both_files_from_the_templates_and_they_pass_the_gate(pool) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt
    import importlib.util

    spec = importlib.util.spec_from_file_location("new_stack", ROOT / "scripts" / "new_stack.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    name = "t" + uuid.uuid4().hex[:6]
    try:
        stack_path, config_path = module.new_stack(name, today=dt.date(2026, 11, 30))
        text = stack_path.read_text()
        assert f"aoai-platform:environment: {name}" in text and 'keyExpiresOn: "2028-05-23"' in text
        assert json.loads(config_path.read_text())["aoai-environment-tag"] == {"environment": name}
        assert main(["check", "--stack", name], pool=pool) == 0
        with pytest.raises(FileExistsError):
            module.new_stack(name)
    finally:
        for path in (ROOT / f"Pulumi.{name}.yaml", ROOT / "policies" / "config" / f"{name}.json"):
            path.unlink(missing_ok=True)
    for bad in ("Prod", "x", "toolongname", "prod-eu"):
        with pytest.raises(ValueError, match="cannot name a stack"):
            module.new_stack(bad)


@pytest.mark.parametrize("command", [["preview"], ["check"], ["report"], ["diff"], ["quota"], ["catalog", "refresh"]])
def test_every_subcommand_s_help_has_examples_and_exit_codes(command: list[str],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "examples:\n  .venv/bin/python -m offline " + " ".join(command) in text
    assert "exit codes:\n  0  done" in text and "2  the run could not be judged" in text
