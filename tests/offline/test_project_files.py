"""Pulumi.yaml and the stack files pass the Pulumi CLI's own checks, config reaches the settings exactly as the CLI hands
it over, and what the CLI would refuse stops `python -m offline` with exit 2, naming the file and the key, before the
program (and so before the settings validation) runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

import settings
from offline import project_files
from offline.cli import main
from offline.engine import AzureMocks, RecordingMonitor, run_program
from offline.loader import LoadError
from offline.project_files import go_json, load_project, matches_type, resolve_config, stack_config
from tests.offline.helpers import ROOT

STACKS = ("dev", "prod")


def write_project(directory: Path, edit: Any = None) -> Path:
    """A copy of Pulumi.yaml in `directory`, changed by `edit(document)`."""
    document = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    if edit is not None:
        edit(document)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return directory


def stack_text(stack: str, replace: tuple[str, str] | None = None, append: str = "") -> str:
    text = (ROOT / f"Pulumi.{stack}.yaml").read_text()
    if replace is not None:
        assert replace[0] in text, replace[0]
        text = text.replace(*replace)
    return text + append


# --- the CLI's checks of the committed files --------------------------------------------------------------------------

def test_pulumi_yaml_passes_the_cli_checks_and_types_every_key() -> None:
    project = load_project(ROOT)
    assert project.name == "aoai-platform" and project.runtime == "python"
    types = {key: declaration.full_type for key, declaration in project.config.items()}
    assert {key for key, full in types.items() if full == "string"} == settings.STRING_KEYS
    assert {key for key, full in types.items() if full != "string"} == set(settings.TOP_LEVEL_KEYS) - settings.STRING_KEYS
    assert {full for key, full in types.items() if full != "string"} == {"object", "array<object>", "boolean"}
    assert [key for key, full in types.items() if full == "boolean"] == ["allowEnvironmentMismatch"]
    assert set(types) == set(settings.TOP_LEVEL_KEYS), "every settings key is declared, and only those"


def test_the_minimum_cli_version_is_required_where_the_cli_reads_it_and_stated_in_the_readme() -> None:
    # `object` config values are checked from CLI 3.187.0 (pulumi/pulumi CHANGELOG: #20129 in 3.186.0 admits the type,
    # #20132 in 3.187.0 parses its values); Pulumi.yaml's requiredPulumiVersion is read from 3.219.0 (#21627).
    assert load_project(ROOT).required_version == ">=3.187.0"
    pack = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())
    assert pack["requiredPulumiVersion"] == ">=3.187.0", "the pack's project file is read by the CLI from 3.221.0"
    readme = (ROOT / "README.md").read_text()
    assert "3.187" in readme and "requiredPulumiVersion" in readme


@pytest.mark.parametrize("stack", STACKS)
def test_both_stack_files_pass_the_cli_checks(stack: str) -> None:
    resolved = stack_config(stack)
    assert resolved.secret_keys == ()
    assert set(resolved.values) == {f"aoai-platform:{key}" for key in settings.TOP_LEVEL_KEYS}


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["config"]["regions"].update(defualt=[]), "config.regions.defualt: 'defualt' not allowed; did you mean 'default'?"),
    (lambda d: d["config"]["tags"].update(type="map"), "config.tags.type: 'map' is not a config type"),
    (lambda d: d["config"]["access"].pop("items"), "The configuration key 'access' declares an array but does not specify the underlying type via the 'items' attribute"),
    (lambda d: d["config"]["account"].update(default=[]), "The default value specified for configuration key 'account' is not of the expected type 'object'"),
    (lambda d: d["config"]["cloud"].update(value="public"), "project config 'cloud' cannot have both a 'default' and 'value' attribute"),
    (lambda d: d.pop("name"), "project is missing a non-empty string 'name' attribute"),
    (lambda d: d["config"]["regions"].update(items={"kind": "object"}), "config.regions.items: must be a mapping with a 'type'"),
    (lambda d: d["config"]["tags"].update(description=5), "config.tags.description: expected string"),
    (lambda d: d["config"].update(extra=None), "config.extra: expected a string, integer, boolean, array or a declaration"),
    (lambda d: d["runtime"].update(version=3), "runtime.version: 'version' not allowed"),
    (lambda d: d.update(requiredPulumiVersion="3.187 or newer"), "requiredPulumiVersion: '3.187 or newer' is not a version range"),
    (lambda d: d["config"].update({"azure-native:location": {"type": "string", "value": "x"}}), "Configuration key 'azure-native:location' is not namespaced by the project and should not define a type"),
])
def test_a_project_file_the_cli_refuses_is_refused(tmp_path: Path, edit: Any, message: str) -> None:
    with pytest.raises(LoadError) as caught:
        load_project(write_project(tmp_path, edit))
    assert caught.value.file == "Pulumi.yaml" and message in str(caught.value)


# --- the declared types, as ValidateConfigValue checks them ----------------------------------------------------------

@pytest.mark.parametrize(("type_name", "items", "value", "ok"), [
    ("string", None, "42", True), ("string", None, 42, False), ("integer", None, "42", True),
    ("integer", None, 42.0, True), ("integer", None, "4.2", False), ("integer", None, True, False),
    ("boolean", None, "true", True), ("boolean", None, "yes", False), ("object", None, {}, True),
    ("object", None, "{}", False), ("array", project_files.ItemsType("object"), [{}], True),
    ("array", project_files.ItemsType("object"), ["swedencentral"], False), ("array", None, [], False),
])
def test_declared_types_match_the_cli(type_name: str, items: Any, value: Any, ok: bool) -> None:
    assert matches_type(type_name, items, value) is ok


# --- config as the CLI hands it over ---------------------------------------------------------------------------------

def settings_input(values: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What `load_settings` hands `parse_settings` when the CLI passes `values` as PULUMI_CONFIG."""
    from pulumi.runtime.config import CONFIG

    captured: dict[str, Any] = {}
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(values))
    monkeypatch.setattr(pulumi, "get_project", lambda: "aoai-platform")
    monkeypatch.setattr(pulumi, "get_stack", lambda: "test")
    monkeypatch.setattr(settings, "parse_settings", lambda raw, stack, **_: captured.update(raw))
    token = CONFIG.set({})
    try:
        settings.load_settings()
    finally:
        CONFIG.reset(token)
    return captured


@pytest.mark.parametrize("stack", STACKS)
def test_every_key_reaches_the_settings_as_the_stack_file_holds_it(stack: str, monkeypatch: pytest.MonkeyPatch) -> None:
    written = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    defaults = {key: d.default for key, d in load_project(ROOT).config.items() if d.has_default}
    received = settings_input(dict(stack_config(stack).values), monkeypatch)
    expected = {**defaults, **{key.split(":", 1)[1]: value for key, value in written.items()}}
    assert received == expected


@pytest.mark.parametrize(("written", "received"), [
    ('"42"', "42"),  # a digit-only string stays a string (JSON-decoding it made the integer 42)
    ("42", "42"),  # so does an unquoted number: the CLI passes the text of a string-typed key
    ('"007"', "007"), ("'true'", "true"), ('""', ""),
])
def test_string_keys_stay_strings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str, received: str) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(stack_text("dev", append=f"  aoai-platform:nameSuffix: {written}\n"))
    values = stack_config("dev", path).values
    assert values["aoai-platform:nameSuffix"] == received
    assert settings_input(dict(values), monkeypatch)["nameSuffix"] == received


def test_a_digit_only_name_suffix_names_the_resources(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(stack_text("dev", append='  aoai-platform:nameSuffix: "42"\n'))
    graph = run_program("dev", stack_file=path)
    account = next(r for r in graph.resources if r.type == "azure-native:cognitiveservices:Account")
    assert account.inputs["accountName"].endswith("42")


def test_values_are_rendered_as_go_renders_them() -> None:
    assert go_json({"b": [1, 2.0, 1e-7, 1e21], "a": "<&>", "c": None}) == (
        '{"a":"\\u003c\\u0026\\u003e","b":[1,2,1e-7,1e+21],"c":null}')
    assert project_files.config_string(True) == "true" and project_files.config_string(10.0) == "10"
    assert project_files.default_string({"mode": "regional"}) == '{"mode":"regional"}'


# --- what the CLI refuses exits 2 before the program runs ------------------------------------------------------------

REFUSED = {
    "duplicate key": (("", "  aoai-platform:deployments:\n    - model: whisper\n      sku: Standard\n      capacity: 1\n"),
                      ["mapping key \"aoai-platform:deployments\" already defined at line"]),
    "wrong declared type": (("  aoai-platform:regions:\n    - location: swedencentral\n      vnetAddressSpace: 10.30.0.0/16\n"
                             "      privateEndpointSubnet: 10.30.1.0/24\n", "  aoai-platform:regions: swedencentral\n"),
                            ["aoai-platform:regions: Stack 'dev' with configuration key 'regions' must be of type "
                             "'array<object>' (it is string 'swedencentral')"]),
    "missing required key": (("  aoai-platform:environment: dev\n", ""),
                             ["aoai-platform:environment: Stack 'dev' is missing configuration value 'environment'"]),
    "secure value": (("", "  aoai-platform:nameSuffix:\n    secure: v1:abc123\n"),
                     ["aoai-platform:nameSuffix: is a secret (`secure:`)", "cannot decrypt"]),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_what_the_cli_refuses_exits_2_naming_file_and_key(case: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    (old, new), messages = REFUSED[case]
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(stack_text("dev", (old, new)) if old else stack_text("dev", append=new))
    assert main(["check", "--stack", "dev", "--stack-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"error: {path} cannot be used: the Pulumi CLI would stop here, before the program runs" in err
    for message in messages:
        assert f"{path}:" in err and message in err, err
    assert "Traceback" not in err and "the stack configuration of" not in err, "the CLI's checks come first"


def test_the_cli_checks_run_before_anything_is_registered(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(stack_text("prod", append="  aoai-platform:environment: staging\n"))
    monitor = RecordingMonitor(AzureMocks())
    with pytest.raises(LoadError) as caught:
        run_program("prod", stack_file=path, monitor=monitor)
    assert caught.value.key == "config.aoai-platform:environment" and caught.value.line is not None
    assert monitor.registrations == []


def test_secret_keys_are_named_for_the_pack(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(stack_text("dev", append="  azure-native:clientSecret:\n    secure: v1:abc\n"))
    project = load_project(ROOT)
    stack = project_files.load_stack_file(project, path)
    with pytest.raises(LoadError, match="azure-native:clientSecret: is a secret"):
        resolve_config(project, stack, "dev")
    assert project_files.secure_paths(stack.config["azure-native:clientSecret"]) == [()]


def test_a_stack_file_may_carry_its_secrets_provider(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text("secretsprovider: azurekeyvault://kv-pulumi-secrets-001.vault.azure.net/keys/pulumi-stacks\n"
                    "encryptedkey: ZXhhbXBsZQ==\n" + stack_text("prod"))
    stack = project_files.load_stack_file(load_project(ROOT), path)
    assert stack.secrets_provider.startswith("azurekeyvault://") and stack.encrypted_key == "ZXhhbXBsZQ=="
    assert stack_config("prod", path).values == stack_config("prod").values
