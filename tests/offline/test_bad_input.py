"""No input a person can type produces a traceback: every bad stack file, policy config or command line exits 2 with a
message naming the file (with line and column where there is one) and the key to change, and `--json` gets the same
problems. A few inputs that look wrong but mean what they say (an unquoted date) pass.

Each case is one edit of a real file (Pulumi.dev.yaml, policies/config/dev.json) or one command line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from offline.cli import main
from tests.offline.helpers import ROOT

DEV = (ROOT / "Pulumi.dev.yaml").read_text()
DEV_CONFIG = json.loads((ROOT / "policies" / "config" / "dev.json").read_text())


def edit(old: str, new: str, count: int = 1) -> Callable[[str], str]:
    """A stack file edit: replace `old` (which must be there) with `new`."""
    def apply(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, count)
    return apply


def config(**entries: object) -> Callable[[str], str]:
    """A policy config edit: dev.json with these entries set (None removes one)."""
    def apply(_: str) -> str:
        document = dict(DEV_CONFIG)
        for name, value in entries.items():
            name = name.replace("_", "-")
            if value is None:
                document.pop(name, None)
            else:
                document[name] = value
        return json.dumps(document, indent=2)
    return apply


@dataclass(frozen=True)
class Case:
    """One bad input: what to write, how to run, and what the operator must be told."""

    id: str
    kind: str  # stack, config or cli
    change: Callable[[str], str] | str | None
    key: str  # the key (or flag) the message must name
    text: str  # a fragment of the message: what is wrong
    code: int = 2
    stack: str = "dev"
    line: bool = True  # the message names a line and column of the file
    argv: tuple[str, ...] = ()


STACK_CASES = [
    Case("tab-indent", "stack", edit("\n    sku: standard", "\n\tsku: standard"), "", "a tab: YAML indents with spaces"),
    Case("bad-indent", "stack", edit("\n    keyType: RSA", "\n     keyType: RSA"), "",
         "check this line's indentation"),
    Case("unclosed-quote", "stack", edit('keyExpiresOn: "2028-06-30"', 'keyExpiresOn: "2028-06-30'), "",
         "is not valid YAML"),
    Case("stack-file-is-a-list", "stack", "- config\n- regions\n", "", "must be a mapping with a 'config:' block"),
    Case("empty-file", "stack", "", "aoai-platform:environment", "is missing configuration value 'environment'"),
    Case("duplicate-key", "stack", edit("  aoai-platform:access:", "  aoai-platform:deployments: []\n  aoai-platform:access:"),
         "aoai-platform:deployments", "already defined at line"),
    Case("regions-empty", "stack", lambda t: re.sub(r"  aoai-platform:regions:\n(    .*\n)+",
                                                    "  aoai-platform:regions: []\n", t), "regions", "is empty"),
    Case("regions-a-mapping", "stack", lambda t: re.sub(r"  aoai-platform:regions:\n(    .*\n)+",
                                                        "  aoai-platform:regions:\n    location: swedencentral\n", t),
         "aoai-platform:regions", "must be of type 'array<object>'"),
    Case("key-vault-a-string", "stack", lambda t: re.sub(r"  aoai-platform:keyVault:\n(    .*\n)+",
                                                         "  aoai-platform:keyVault: premium\n", t),
         "aoai-platform:keyVault", "must be of type 'object'"),
    Case("version-a-number", "stack", edit('version: "1"', "version: 1"), "deployments[3].version",
         "is a number, not a version"),
    Case("version-octal", "stack", edit('version: "1"', "version: 0001"), "deployments[3].version",
         "is a number, not a version"),
    Case("unknown-top-level-key", "stack", edit("  aoai-platform:monitoring:", "  aoai-platform:monitorng:"),
         "monitorng", "did you mean 'monitoring'?"),
    Case("unknown-sub-key", "stack", edit("    keySize: 2048", "    keySise: 2048"), "keyVault.keySise",
         "did you mean 'keySize'?"),
    Case("misspelt-region", "stack", edit("    - location: swedencentral", "    - location: swedencentrl"),
         "regions[0].location", "did you mean 'swedencentral'?"),
    Case("misspelt-role", "stack", edit("role: Cognitive Services OpenAI User", "role: Cognitive Services OpenAI Usr"),
         "access[0].role", "did you mean 'Cognitive Services OpenAI User'?"),
    Case("misspelt-model", "stack", edit("- model: gpt-4.1", "- model: gpt-4.l"), "deployments[1].model",
         "did you mean 'gpt-4.1'?"),
    Case("environment-of-another-stack", "stack", None, "environment", "differs from the stack name 'staging'",
         stack="staging"),
    Case("bad-cidr", "stack", edit("vnetAddressSpace: 10.30.0.0/16", "vnetAddressSpace: 10.30.0.0/33"),
         "regions[0].vnetAddressSpace", "is not a CIDR"),
    Case("capacity-a-word", "stack", edit("      capacity: 10", "      capacity: ten"), "deployments[0].capacity",
         "is not allowed"),
    Case("key-expired", "stack", edit('keyExpiresOn: "2028-06-30"', 'keyExpiresOn: "2020-01-01"'),
         "keyVault.keyExpiresOn", "2020-01-01"),
    Case("unparseable-key", "stack", edit("  aoai-platform:namePrefix: aoai", "  a:b:c:d: aoai"), "a:b:c:d",
         "could not parse a:b:c:d as a configuration key"),
    Case("secure-value", "stack", edit("  aoai-platform:namePrefix: aoai", "  aoai-platform:namePrefix:\n    secure: AAAB"),
         "aoai-platform:namePrefix", "offline run cannot decrypt"),
    # The CLI hands a bare `true` over as the string "true" (a string key takes any scalar): the settings judge it.
    Case("environment-a-boolean", "stack", edit("aoai-platform:environment: dev", "aoai-platform:environment: true"),
         "environment", "'true' differs from the stack name 'dev'"),
    Case("override-not-a-boolean", "stack", edit("  aoai-platform:namePrefix: aoai",
                                                 "  aoai-platform:namePrefix: aoai\n  aoai-platform:allowEnvironmentMismatch: sure"),
         "aoai-platform:allowEnvironmentMismatch", "must be of type 'boolean'"),
    Case("data-classification", "stack", edit("dataClassification: internal", "dataClassification: secret"),
         "tags.dataClassification", "'secret'"),
    Case("non-string-key", "stack", edit("  aoai-platform:tags:\n", "  aoai-platform:tags:\n    12: x\n"),
         "aoai-platform:tags", "expected only string keys"),
    Case("unquoted-date-means-the-date", "stack", edit('keyExpiresOn: "2028-06-30"', "keyExpiresOn: 2028-06-30"),
         "", "", code=0),
    Case("unquoted-dated-version-means-the-version", "stack", edit('version: "2025-04-14"', "version: 2025-04-14"),
         "", "", code=0),
]

CONFIG_CASES = [
    Case("config-not-json", "config", '{"all": "mandatory",}', "", "is not valid JSON"),
    Case("config-a-list", "config", '["mandatory"]', "", "must be a JSON object"),
    Case("config-duplicate-policy", "config", '{"aoai-log-retention": {"minRetentionDays": 90},\n'
                                              ' "aoai-log-retention": "advisory"}',
         "aoai-log-retention", "already defined at line 1"),
    Case("config-unknown-policy", "config", config(aoai_log_retension={"minRetentionDays": 30}),
         "aoai-log-retension", "did you mean 'aoai-log-retention'?"),
    Case("config-unknown-property", "config", config(aoai_log_retention={"minRetentionDay": 30}),
         "aoai-log-retention.minRetentionDay", "did you mean 'minRetentionDays'?"),
    Case("config-wrong-type", "config", config(aoai_log_retention={"minRetentionDays": "long"}),
         "aoai-log-retention.minRetentionDays", "is a string, but an integer is expected"),
    Case("config-below-minimum", "config", config(aoai_log_retention={"minRetentionDays": -1}),
         "aoai-log-retention.minRetentionDays", "is below the minimum"),
    Case("config-enum-case", "config", config(aoai_deployment_sku_residency={"residencyMode": "datazone"}),
         "aoai-deployment-sku-residency.residencyMode", "did you mean 'dataZone'?"),
    Case("config-bad-level", "config", config(all="block"), "all", "'block' is not a valid enforcement level",
         line=True),
    Case("config-level-a-number", "config", config(aoai_log_retention={"enforcementLevel": 2}), "",
         "2 is not a valid enforcement level; must be a string"),
    Case("config-replace-not-a-list-name", "config",
         config(aoai_allowed_regions={"allowedRegions": ["swedencentral"], "replace": ["allowedRegion"]}),
         "aoai-allowed-regions.replace[0]", "did you mean 'allowedRegions'?"),
    Case("config-all-with-properties", "config", config(all={"enforcementLevel": "mandatory", "x": 1}), "all",
         "takes an enforcement level only"),
    Case("config-exemption-matches-nothing", "config",
         config(aoai_log_retention={"exemptResources": ["aoai-dev-swc-log"]}),
         "aoai-log-retention.exemptResources[0]", "is no resource of this stack"),
    Case("config-region-typo", "config",
         config(aoai_allowed_regions={"allowedRegions": ["swedencentrl"], "replace": ["allowedRegions"]}),
         "aoai-allowed-regions.allowedRegions[0]", "did you mean 'swedencentral'?"),
    Case("config-role-typo", "config",
         config(aoai_role_assignment_scope={"allowedRolesByScope": {"account": ["Cognitive Services OpenAI Contributer"]}}),
         "aoai-role-assignment-scope.allowedRolesByScope.account[0]", "is no role the project knows"),
    Case("config-model-typo", "config", config(aoai_deployment_model_allowed={"allowedModels": {"gpt-4o-mni": ["1"]}}),
         "aoai-deployment-model-allowed.allowedModels.gpt-4o-mni", "did you mean 'gpt-4o-mini'?"),
]

CLI_CASES = [
    Case("cli-unknown-stack", "cli", None, "Pulumi.prd.yaml", "did you mean 'prod'?", line=False,
         argv=("check", "--stack", "prd")),
    Case("cli-missing-stack-file", "cli", None, "--stack-file", "no stack file", line=False,
         argv=("check", "--stack", "dev", "--stack-file", "/nonexistent/Pulumi.dev.yaml")),
    Case("cli-missing-policy-config", "cli", None, "/nonexistent/dev.json", "no policy config", line=False,
         argv=("check", "--stack", "dev", "--policy-config", "/nonexistent/dev.json")),
    Case("cli-not-a-pack", "cli", None, "PulumiPolicy.yaml", "no policy pack", line=False,
         argv=("check", "--stack", "dev", "--policy-pack", "/tmp")),
    Case("cli-unknown-base-ref", "cli", None, "no-such-ref", "git rev-parse", line=False,
         argv=("diff", "--stack", "dev", "--base", "no-such-ref")),
    Case("cli-preview-unknown-stack", "cli", None, "Pulumi.tst.yaml", "no stack file", line=False,
         argv=("preview", "--stack", "tst")),
    Case("cli-quota-missing-stack-file", "cli", None, "--stack-file", "no stack file", line=False,
         argv=("quota", "--stack", "dev", "--stack-file", "/nonexistent.yaml")),
]

CASES = STACK_CASES + CONFIG_CASES + CLI_CASES


def test_the_suite_is_large_enough_and_covers_every_kind() -> None:
    assert len(CASES) >= 40
    assert {c.kind for c in CASES} == {"stack", "config", "cli"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_exits_with_a_message_naming_file_and_key(case: Case, pool, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    argv = list(case.argv)
    shown = ""
    if case.kind == "stack":
        path = tmp_path / f"Pulumi.{case.stack}.yaml"
        change = case.change
        path.write_text(change if isinstance(change, str) else change(DEV) if change else DEV)
        argv = ["check", "--stack", case.stack, "--stack-file", str(path), "--policy-config",
                str(ROOT / "policies" / "config" / "dev.json")]
        shown = str(path)
    elif case.kind == "config":
        path = tmp_path / "dev.json"
        change = case.change
        path.write_text(change if isinstance(change, str) else change("") if change else "")
        argv = ["check", "--stack", "dev", "--policy-config", str(path)]
        shown = str(path)
    report = tmp_path / "out.json"
    code = main([*argv, "--json", str(report)] if argv[0] in ("check", "diff", "quota", "preview") else argv,
                pool=pool)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert code == case.code, captured.err[-3000:]
    if case.code == 0:
        return
    assert case.text in captured.err, captured.err
    if shown:
        where = re.escape(shown) + (r":\d+:\d+" if case.line else "")
        assert re.search(where, captured.err), (where, captured.err)
    if case.key:
        assert case.key in captured.err, (case.key, captured.err)
    document = json.loads(report.read_text())
    assert document["exitCode"] == 2 and document["problems"], "the problems go to --json too"
    if shown and case.line:
        assert any(p["file"] == shown and p["line"] for p in document["problems"]), document


@pytest.mark.parametrize("argv", [["nonsense"], ["check"], ["check", "--stack"], ["diff", "--nope"]])
def test_a_command_line_argparse_refuses_exits_2_with_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m offline") and "Traceback" not in err
