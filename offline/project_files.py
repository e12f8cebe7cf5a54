"""The Pulumi CLI's own checks of Pulumi.yaml and Pulumi.<stack>.yaml, and the config strings it hands a program.

`pulumi preview` refuses a project or stack file before the program runs when the file breaks the CLI's rules; the
offline run applies the same rules first, so it rejects what the CLI rejects and hands the program (and the policy
pack) exactly the strings the CLI would. Every rule below is read from pulumi/pulumi at commit 1b59498 (2026-08-21),
read 2026-11-30:

- Pulumi.yaml: `ValidateProject` (the JSON schema sdk/go/common/workspace/project.json plus a required non-empty
  `name`), `RewriteShorthandConfigValues` (a bare value is a `default`, or a `value` for another namespace's key) and
  `Project.Validate` (not both `default` and `value`; an `array` needs `items`; a default must have the declared
  type; another namespace's key takes only `value`), all in sdk/go/common/workspace/project.go and loaders.go.
  `object` is a declared type since CLI 3.186.0 and its values are checked since 3.187.0 (CHANGELOG #20129, #20132).
- Pulumi.<stack>.yaml: keys without a namespace get the project's (loaders.go `stackConfigNamespacedWithProject`);
  a key must parse as `<namespace>:<name>` (resource/config/key.go `ParseKey`).
- Config checks (pkg/workspace/config.go `mergeConfig`): project defaults fill keys the stack does not set
  (`createConfigValue`); a project-namespace key with neither a stack value nor a default is "Stack 'dev' is missing
  configuration value 'x'"; each explicitly typed key is checked with `ValidateConfigValue` ("Stack 'dev' with
  configuration key 'x' must be of type 'array<object>'"), and a `secret: true` key must hold a `secure:` value.
- The strings: a string value as written, a number or boolean as JSON text, a mapping or list as compact JSON with
  sorted keys (resource/config/object.go `MarshalString`, plaintext.go `marshalText`, Go's encoding/json); the
  Python language host hands them over as PULUMI_CONFIG, a JSON object of strings
  (sdk/python/cmd/pulumi-language-python/main.go `constructConfig`), and the engine hands the same map and the
  secret keys to every policy pack in `ConfigureStack` (pkg/engine/update.go, `PolicyAnalyzerOptions`).

Offline there is no secrets provider, so a `secure:` value cannot be decrypted: it is refused by name. A stack's
`environment:` (Pulumi ESC) can only be resolved by Pulumi Cloud: refused too.
"""

from __future__ import annotations

import decimal
import difflib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .loader import Document, KeyPath, LoadError, Problem, dotted, load_yaml, walk

__all__ = ["ConfigType", "Project", "StackConfig", "StackFile", "config_string", "go_json", "load_project",
           "load_stack_file", "resolve_config", "stack_config"]

PROJECT_DIR = Path(__file__).resolve().parent.parent
SIMPLE_TYPES = ("string", "integer", "boolean", "array", "object")
_DECLARATION_KEYS = ("type", "items", "description", "secret", "default", "value")
_STRING_PROPERTIES = ("description", "author", "website", "license", "main", "stackConfigDir")
_STACK_STRINGS = ("secretsprovider", "encryptedkey", "encryptionsalt")
_UNSET: Any = object()


@dataclass(frozen=True)
class ItemsType:
    """The declared type of an array's items (`items:`), possibly an array itself."""

    type: str
    items: ItemsType | None = None

    @property
    def full_name(self) -> str:
        """The CLI's name for it, e.g. `array<object>` (project.go `InferFullTypeName`)."""
        return f"array<{self.items.full_name}>" if self.items is not None else self.type


@dataclass(frozen=True)
class ConfigType:
    """A key declared in Pulumi.yaml's `config:` block, after the CLI's shorthand rewrite."""

    key: str
    type: str | None = None
    items: ItemsType | None = None
    default: Any = _UNSET
    value: Any = _UNSET
    secret: bool = False

    @property
    def full_type(self) -> str:
        return ItemsType(self.type or "", self.items).full_name

    @property
    def has_default(self) -> bool:
        return self.default is not _UNSET and self.default is not None

    @property
    def has_value(self) -> bool:
        return self.value is not _UNSET and self.value is not None


@dataclass(frozen=True)
class Project:
    """Pulumi.yaml as the CLI loads it."""

    name: str
    runtime: str
    config: Mapping[str, ConfigType]
    required_version: str

    def full_key(self, declared: str) -> str:
        """`regions` -> `aoai-platform:regions`; a key with a namespace stays as it is."""
        return declared if ":" in declared else f"{self.name}:{declared}"


@dataclass(frozen=True)
class StackFile:
    """Pulumi.<stack>.yaml as the CLI loads it: the secrets provider lines and the config, keys namespaced."""

    path: Path
    document: Document
    secrets_provider: str
    encrypted_key: str
    config: Mapping[str, Any]
    key_paths: Mapping[str, KeyPath] = field(default_factory=dict)

    def problem(self, full_key: str, message: str, *inner: str | int) -> Problem:
        """A problem at a config key (or inside its value), named by the key as written in the file."""
        path = self.key_paths.get(full_key, ("config",))
        return self.document.problem(message, *path, *inner, key=full_key + (f".{dotted(inner)}" if inner else ""))


@dataclass(frozen=True)
class StackConfig:
    """What the CLI hands the program and every policy pack for one stack."""

    project: str
    stack: str
    values: Mapping[str, str]
    secret_keys: tuple[str, ...] = ()


# --- Go's rendering of config values ------------------------------------------------------------------------------

def go_json(value: Any) -> str:
    """`value` as Go's encoding/json.Marshal writes it: compact, map keys sorted, <, > and & escaped, whole floats
    without a fraction (1.0 -> 1), exponents only below 1e-6 or from 1e21."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return _go_string(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_go_string(str(k))}:{go_json(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    raise TypeError(f"cannot render {type(value).__name__} value {value!r} as config")


def _go_string(text: str) -> str:
    encoded = json.dumps(text, ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                         ("\u2029", "\\u2029")):
        encoded = encoded.replace(char, escape)
    return encoded


def _go_float(number: float) -> str:
    if not math.isfinite(number):
        raise ValueError(f"json: unsupported value: {number}")  # what Go's encoder says; the CLI fails there too
    if number == 0 or 1e-6 <= abs(number) < 1e21:
        return format(decimal.Decimal(repr(number)).normalize(), "f")
    return repr(number).replace("e-0", "e-")  # Go writes 1e-07 as 1e-7 and keeps e+21


def is_secure(value: Any) -> bool:
    """A `{secure: <ciphertext>}` value, as object.go `isSecureValue` recognises it."""
    return isinstance(value, Mapping) and len(value) == 1 and isinstance(value.get("secure"), str)


def secure_paths(value: Any) -> list[KeyPath]:
    """Where `value` holds encrypted values (the empty path when it is one itself)."""
    return [path for path, inner in walk(value) if is_secure(inner)]


def config_string(value: Any) -> str:
    """The string the CLI hands over for a stack file's value (object.go `MarshalString`, then `marshalText`)."""
    if isinstance(value, str):
        return value
    return go_json(value)


def default_string(value: Any) -> str:
    """The string the CLI hands over for a project default (config.go `createConfigValue`: `%v` for a string,
    integer or boolean, JSON for the rest)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int)):
        return str(value)
    return go_json(value)


# --- Pulumi.yaml ---------------------------------------------------------------------------------------------------

def load_project(project_dir: Path = PROJECT_DIR) -> Project:
    """Read and validate Pulumi.yaml as the CLI does; every problem is reported, each with file, line and key."""
    document = load_yaml(project_dir / "Pulumi.yaml", "Pulumi.yaml")
    raw = document.value
    if not isinstance(raw, Mapping):
        raise LoadError([document.problem("must be a mapping of project settings (expected project to be an object)")])
    problems: list[Problem] = []
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        problems.append(document.problem("project is missing a non-empty string 'name' attribute"))
        name = ""
    runtime = _runtime(document, raw.get("runtime"), problems)
    for key in _STRING_PROPERTIES:
        if raw.get(key) is not None and not isinstance(raw[key], str):
            problems.append(document.problem(f"expected string or null, but got {_json_type(raw[key])}", key))
    required_version = raw.get("requiredPulumiVersion", "")
    if not isinstance(required_version, str) or not valid_version_range(required_version):
        problems.append(document.problem(f"{_show(required_version)} is not a version range such as '>=3.187.0' "
                                         f"(the CLI parses it with blang/semver ParseRange)", "requiredPulumiVersion"))
        required_version = ""
    config = _project_config(document, raw.get("config"), name, problems)
    if problems:
        raise LoadError(problems)
    return Project(name, runtime, config, required_version)


def _runtime(document: Document, runtime: Any, problems: list[Problem]) -> str:
    """`runtime: python` or `runtime: {name: python, options: {...}}` (schema `ProjectRuntimeInfo`)."""
    if isinstance(runtime, str) and runtime:
        return runtime
    if isinstance(runtime, Mapping):
        for key in runtime:
            if key not in ("name", "options"):
                problems.append(document.problem(f"'{key}' not allowed; the allowed attributes are 'name' and "
                                                 f"'options'", "runtime", key))
        if runtime.get("options") is not None and not isinstance(runtime["options"], Mapping):
            problems.append(document.problem("expected object", "runtime", "options"))
        if isinstance(runtime.get("name"), str) and runtime["name"]:
            return str(runtime["name"])
    problems.append(document.problem("must name the runtime: a non-empty string or {name, options}", "runtime"))
    return ""


def _project_config(document: Document, config: Any, project: str, problems: list[Problem],
                    ) -> dict[str, ConfigType]:
    if config is None or isinstance(config, str):  # a string is the deprecated config directory
        return {}
    if not isinstance(config, Mapping):
        problems.append(document.problem(f"expected object, string or null, but got {_json_type(config)}", "config"))
        return {}
    declared: dict[str, ConfigType] = {}
    for key, raw in config.items():
        where = ("config", key)
        if key == "secret" and not isinstance(raw, bool):  # the schema's one named property of `config`
            problems.append(document.problem(f"expected boolean, but got {_json_type(raw)}", *where))
            continue
        if raw is None or isinstance(raw, float):
            problems.append(document.problem(f"expected a string, integer, boolean, array or a declaration "
                                             f"({{type, description, default, ...}}), but got {_json_type(raw)}",
                                             *where))
            continue
        namespaced = ":" not in key or key.startswith(project + ":")
        if not isinstance(raw, Mapping):  # the shorthand: a bare value
            declared[key] = ConfigType(key, default=raw) if namespaced else ConfigType(key, value=raw)
            continue
        declaration = _declaration(document, key, raw, problems)
        if declaration is not None:
            problem = _validate_declaration(declaration, namespaced)
            if problem:
                problems.append(document.problem(problem, *where))
            declared[key] = declaration
    return declared


def _declaration(document: Document, key: str, raw: Mapping[str, Any], problems: list[Problem]) -> ConfigType | None:
    where = ("config", key)
    found = len(problems)
    for attribute in raw:
        if attribute not in _DECLARATION_KEYS:
            hint = _closest(attribute, _DECLARATION_KEYS)
            problems.append(document.problem(f"'{attribute}' not allowed" + (f"; did you mean '{hint}'?" if hint else
                            "; the allowed attributes are " + ", ".join(f"'{a}'" for a in _DECLARATION_KEYS)),
                            *where, attribute))
    type_ = raw.get("type")
    if type_ is not None and type_ not in SIMPLE_TYPES:
        problems.append(document.problem(f"{_show(type_)} is not a config type; one of {', '.join(SIMPLE_TYPES)}",
                                         *where, "type"))
    if "description" in raw and not isinstance(raw["description"], str):
        problems.append(document.problem("expected string", *where, "description"))
    if "secret" in raw and not isinstance(raw["secret"], bool):
        problems.append(document.problem("expected boolean", *where, "secret"))
    items = _items(document, raw["items"], (*where, "items"), problems) if "items" in raw else None
    if len(problems) > found:
        return None
    return ConfigType(key, type_, items, raw.get("default", _UNSET), raw.get("value", _UNSET),
                      bool(raw.get("secret", False)))


def _items(document: Document, raw: Any, where: KeyPath, problems: list[Problem]) -> ItemsType | None:
    """`items:` (schema `configItemsType`): a `type`, and `items` again when that type is `array`."""
    if not isinstance(raw, Mapping) or "type" not in raw:
        problems.append(document.problem("must be a mapping with a 'type' (and 'items' for an array)", *where))
        return None
    for attribute in raw:
        if attribute not in ("type", "items"):
            problems.append(document.problem(f"'{attribute}' not allowed; the allowed attributes are 'items' and "
                                             f"'type'", *where, attribute))
    if raw["type"] not in SIMPLE_TYPES:
        problems.append(document.problem(f"{_show(raw['type'])} is not a config type; one of "
                                         f"{', '.join(SIMPLE_TYPES)}", *where, "type"))
        return None
    if raw["type"] == "array" and "items" not in raw:
        problems.append(document.problem("an array needs 'items'", *where))
        return None
    inner = _items(document, raw["items"], (*where, "items"), problems) if "items" in raw else None
    return ItemsType(raw["type"], inner)


def _validate_declaration(declaration: ConfigType, namespaced: bool) -> str:
    """`Project.Validate` for one key; the CLI's own sentence, or "" when it is fine."""
    key = declaration.key
    if declaration.has_default and declaration.has_value:
        return f"project config '{key}' cannot have both a 'default' and 'value' attribute"
    if namespaced:
        if declaration.type == "array" and declaration.items is None:
            return (f"The configuration key '{key}' declares an array but does not specify the underlying type via "
                    f"the 'items' attribute")
        if declaration.type is not None and declaration.has_default \
                and not matches_type(declaration.type, declaration.items, declaration.default):
            return (f"The default value specified for configuration key '{key}' is not of the expected type "
                    f"'{declaration.full_type}'")
        return ""
    if declaration.type is not None:
        return f"Configuration key '{key}' is not namespaced by the project and should not define a type"
    if declaration.has_default:
        return (f"Configuration key '{key}' is not namespaced by the project and should not define a default "
                f"value. Did you mean to use the 'value' attribute instead of 'default'?")
    if not declaration.has_value:
        return f"Configuration key '{key}' is namespaced and must provide an attribute 'value'"
    return ""


def matches_type(type_name: str, items: ItemsType | None, value: Any) -> bool:
    """project.go `ValidateConfigValue`: strings for `string`; whole numbers or digit strings for `integer`;
    booleans or "true"/"false" for `boolean`; mappings for `object`; lists whose items match for `array`."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return True
        return isinstance(value, str) and _go_atoi(value)
    if type_name == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if type_name == "object":
        return isinstance(value, Mapping)
    if not isinstance(value, list) or items is None:
        return False
    return all(matches_type(items.type, items.items, item) for item in value)


_RANGE_PART = re.compile(r"^(>=|<=|>|<|=|==|!=|!)?\d+(\.(\d+|[xX*])){0,2}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def valid_version_range(text: str) -> bool:
    """A range blang/semver `ParseRange` accepts: comparators such as `>=3.187.0 <4.0.0`, alternatives joined by
    `||`; empty means any version."""
    if not text.strip():
        return not text
    alternatives = [part.split() for part in text.split("||")]
    return all(alternative and all(_RANGE_PART.match(part) for part in alternative) for alternative in alternatives)


def _go_atoi(text: str) -> bool:
    """`strconv.Atoi`: an optional sign and decimal digits that fit 64 bits."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    return digits.isascii() and digits.isdigit() and -(2**63) <= int(text) <= 2**63 - 1


# --- Pulumi.<stack>.yaml -------------------------------------------------------------------------------------------

def load_stack_file(project: Project, path: Path, display: str | None = None) -> StackFile:
    """Read a stack file as the CLI does; refuse what it refuses, with the file, line and key of each problem."""
    document = load_yaml(path, display or path.name)
    raw = document.value if document.value is not None else {}
    if not isinstance(raw, Mapping):
        raise LoadError([document.problem("must be a mapping with a 'config:' block")])
    problems: list[Problem] = []
    strings: dict[str, str] = {}
    for key in _STACK_STRINGS:
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(document.problem(f"must be a string, not {_json_type(value)}", key))
        strings[key] = value if isinstance(value, str) else ""
    if raw.get("environment") is not None:
        problems.append(document.problem(
            "imports Pulumi ESC environments, which only Pulumi Cloud can resolve; the offline run cannot read "
            "them (use --stack-file with a copy that holds the values)", "environment"))
    config_raw = raw.get("config")
    config: dict[str, Any] = {}
    key_paths: dict[str, KeyPath] = {}
    if config_raw is not None and not isinstance(config_raw, Mapping):
        problems.append(document.problem(f"must be a mapping of config keys to values, not {_json_type(config_raw)}",
                                         "config"))
    for key, value in (config_raw or {}).items() if isinstance(config_raw, Mapping) else ():
        full = _parse_key(key, project.name)
        if full is None:
            problems.append(document.problem(f"could not parse {key} as a configuration key (configuration keys "
                                             f"should be of the form `<namespace>:<name>`)", "config", key))
            continue
        if full in config:  # `regions` and `aoai-platform:regions` both: the CLI keeps one at random
            first = document.position(*key_paths[full])
            problems.append(document.problem(
                f"sets the same key as line {first.line if first else '?'}; `{full}` must be written once",
                "config", key))
            continue
        config[full] = value
        key_paths[full] = ("config", key)
    if problems:
        raise LoadError(problems)
    return StackFile(path, document, strings["secretsprovider"], strings["encryptedkey"], config, key_paths)


def _parse_key(key: str, project: str) -> str | None:
    """The full `<namespace>:<name>` of a stack file's key (key.go `ParseKey`, plus the project namespace for a
    bare name), or None when the CLI cannot parse it."""
    parts = key.split(":")
    if len(parts) == 1:
        return f"{project}:{key}"
    if len(parts) == 2:
        return key
    if len(parts) == 3 and parts[1] == "config" and parts[0] and parts[2]:
        return f"{parts[0]}:{parts[2]}"
    return None


# --- the config the CLI hands over ---------------------------------------------------------------------------------

def resolve_config(project: Project, stack_file: StackFile, stack: str) -> StackConfig:
    """Apply the CLI's checks to a stack file and return what the program and the packs receive; every problem the
    CLI would stop at (and every `secure:` value, which offline cannot decrypt) is reported at once."""
    problems: list[Problem] = []
    for full, value in stack_file.config.items():
        for path in secure_paths(value):
            problems.append(stack_file.problem(
                full, "is a secret (`secure:`) encrypted by the stack's secrets provider, which the offline run "
                      "cannot decrypt; `pulumi config get` shows it with your credentials. Offline, pass a copy of the "
                      "stack file with a stand-in value through --stack-file", *path))
    values = {full: config_string(value) for full, value in stack_file.config.items()}
    for declared, declaration in sorted(project.config.items()):
        full = project.full_key(declared)
        if full in values:
            continue
        if declaration.has_value or declaration.has_default:
            chosen = declaration.default if declaration.has_default else declaration.value
            values[full] = default_string(chosen)
        elif full.startswith(project.name + ":"):
            problems.append(Problem(stack_file.document.file, f"Stack '{stack}' is missing configuration value "
                                    f"'{declared}' (Pulumi.yaml declares it without a default)", full,
                                    stack_file.document.position("config")))
    for declared, declaration in sorted(project.config.items()):
        full = project.full_key(declared)
        if full not in stack_file.config:
            continue  # defaults were validated against their type with Pulumi.yaml
        value = stack_file.config[full]
        if declaration.secret and not secure_paths(value):
            problems.append(stack_file.problem(full, f"Stack '{stack}' with configuration key '{declared}' must be "
                                                     f"encrypted as it's secret (`pulumi config set --secret`)"))
        if declaration.type is None or secure_paths(value):
            continue
        content = value if isinstance(value, (Mapping, list)) or value is None else config_string(value)
        if not matches_type(declaration.type, declaration.items, content):
            problems.append(stack_file.problem(full, f"Stack '{stack}' with configuration key '{declared}' must be "
                                                     f"of type '{declaration.full_type}' (it is {_describe(value)})"))
    if problems:
        raise LoadError(problems)
    secret_keys = tuple(sorted(full for full, value in stack_file.config.items() if secure_paths(value)))
    return StackConfig(project.name, stack, dict(sorted(values.items())), secret_keys)


def stack_config(stack: str, stack_file: Path | None = None, project_dir: Path = PROJECT_DIR) -> StackConfig:
    """Load Pulumi.yaml and the stack's file (Pulumi.<stack>.yaml unless another is given) and resolve its config."""
    project = load_project(project_dir)
    path = stack_file or project_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        shown = path.name if stack_file is None else str(path)
        raise FileNotFoundError(f"no stack file {shown}: create it (`make new-stack NAME={stack}`), or pass "
                                f"--stack-file{stack_hint(stack, project_dir)}")
    display = path.name if stack_file is None else str(stack_file)
    return resolve_config(project, load_stack_file(project, path, display), stack)


def stack_names(project_dir: Path = PROJECT_DIR) -> list[str]:
    """The stacks with a file in the project: Pulumi.<stack>.yaml."""
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def stack_hint(stack: str, project_dir: Path = PROJECT_DIR) -> str:
    """"; did you mean 'prod'? (stacks: dev, prod)" for a stack name that has no file."""
    names = stack_names(project_dir)
    close = difflib.get_close_matches(stack, names, n=1, cutoff=0.5)
    return (f"; did you mean {close[0]!r}?" if close else "") + (f" (stacks: {', '.join(names)})" if names else "")


# --- wording -------------------------------------------------------------------------------------------------------

def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object" if isinstance(value, Mapping) else "array"


def _describe(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty"
    return f"{_json_type(value)} {_show(value)}"


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else go_json(value)


def _closest(word: str, choices: tuple[str, ...], limit: int = 2) -> str:
    """The choice within `limit` edits of `word` (project.go `findClosestKey`), or ""."""
    best, best_distance = "", limit + 1
    for choice in sorted(choices):
        distance = _levenshtein(word.lower(), choice.lower())
        if distance < best_distance:
            best, best_distance = choice, distance
    return best


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]
