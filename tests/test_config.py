from __future__ import annotations

from pathlib import Path

import pytest

from hermes.config import Config, ConfigError, Overrides, load_config, parse_config
from hermes.model.endpoint import check_endpoint


def write(home: Path, text: str) -> Path:
    path = home / "config.yaml"
    path.write_text(text)
    return path


def test_defaults_without_any_file(workspace: Path) -> None:
    cfg = load_config(workspace, env={})
    assert cfg == Config()


def test_precedence_flags_over_env_over_file(hermes_home: Path, workspace: Path) -> None:
    write(hermes_home, "model:\n  name: from-file\n  base_url: http://file/v1\n")
    cfg = load_config(workspace, env={})
    assert (cfg.model.name, cfg.model.base_url) == ("from-file", "http://file/v1")
    cfg = load_config(
        workspace, env={"HERMES_MODEL": "from-env", "OPENAI_BASE_URL": "http://env/v1"}
    )
    assert (cfg.model.name, cfg.model.base_url) == ("from-env", "http://env/v1")
    cfg = load_config(
        workspace,
        Overrides(model="from-flag", base_url="http://flag/v1"),
        env={"HERMES_MODEL": "from-env"},
    )
    assert (cfg.model.name, cfg.model.base_url) == ("from-flag", "http://flag/v1")


def test_workspace_file_overrides_user_file(hermes_home: Path, workspace: Path) -> None:
    write(hermes_home, "approvals:\n  mode: yolo\n")
    (workspace / ".hermes").mkdir()
    (workspace / ".hermes" / "config.yaml").write_text("approvals:\n  mode: auto-edit\n")
    assert load_config(workspace, env={}).approvals.mode == "auto-edit"


def test_api_key_sources(workspace: Path) -> None:
    assert load_config(workspace, env={"OPENAI_API_KEY": "a"}).api_key == "a"
    assert load_config(workspace, env={"OPENAI_API_KEY": "a", "HERMES_API_KEY": "b"}).api_key == "b"
    cfg = load_config(workspace, Overrides(api_key="c"), env={"HERMES_API_KEY": "b"})
    assert cfg.api_key == "c"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model:\n  nme: x\n", "unknown key 'model.nme'"),
        ("modle:\n  name: x\n", "unknown key 'modle'"),
        (
            "model:\n  context_window: big\n",
            "'model.context_window' must be int or null, got 'big'",
        ),
        ("approvals:\n  mode: sometimes\n", "'approvals.mode' must be one of"),
        ("approvals:\n  allow: terminal\n", "'approvals.allow' must be list of str"),
        ("tools:\n  terminal_timeout: true\n", "'tools.terminal_timeout' must be float"),
        ("compaction:\n  threshold: 3\n", "'compaction.threshold' must be between"),
        ("model: [1, 2]\n", "'model' must be a mapping"),
        ("- a\n- b\n", "top level must be a mapping"),
        ("model:\n  name: [unclosed\n", "not valid YAML"),
    ],
)
def test_config_errors_name_key_and_file(
    hermes_home: Path, workspace: Path, text: str, message: str
) -> None:
    path = write(hermes_home, text)
    with pytest.raises(ConfigError) as info:
        load_config(workspace, env={})
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_bad_env_approval_mode(workspace: Path) -> None:
    with pytest.raises(ConfigError, match="HERMES_APPROVAL_MODE"):
        load_config(workspace, env={"HERMES_APPROVAL_MODE": "maybe"})


def test_int_accepted_where_float_expected() -> None:
    cfg = parse_config({"tools": {"terminal_timeout": 5}}, "x")
    assert cfg.tools.terminal_timeout == 5.0


def test_missing_key_message_says_how_to_set_it(workspace: Path) -> None:
    cfg = load_config(workspace, env={})
    with pytest.raises(ConfigError) as info:
        check_endpoint(cfg)
    text = str(info.value)
    assert "--api-key" in text and "HERMES_API_KEY" in text and "OPENAI_API_KEY" in text


def test_local_endpoint_needs_no_key(workspace: Path) -> None:
    cfg = load_config(workspace, Overrides(base_url="http://127.0.0.1:9/v1"), env={})
    check_endpoint(cfg)


def test_bad_base_url(workspace: Path) -> None:
    cfg = load_config(workspace, Overrides(base_url="localhost:8080"), env={})
    with pytest.raises(ConfigError, match="not an http"):
        check_endpoint(cfg)


def test_example_config_is_valid_and_complete() -> None:
    import dataclasses

    import yaml

    example = Path(__file__).resolve().parent.parent / "config.example.yaml"
    raw = yaml.safe_load(example.read_text())
    cfg = parse_config(raw, str(example))
    assert cfg.model == Config().model
    for section, cls_value in dataclasses.asdict(Config()).items():
        if section == "api_key":
            continue
        assert set(raw[section]) == set(cls_value), f"config.example.yaml misses keys of {section}"
