"""The shipped configs: accelerate launch configs that accelerate itself parses (nothing is
launched), and the paper's recipe as a `flexjudge train --config` file, layered
defaults < YAML < command-line options."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flexjudge.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
LAUNCH = sorted((CONFIGS / "accelerate").glob("*.yaml"))


def test_the_three_launch_configs_are_shipped():
    assert {p.name for p in LAUNCH} == {"deepspeed_zero3.yaml", "fsdp.yaml", "multi_gpu.yaml"}


@pytest.mark.parametrize("path", LAUNCH, ids=lambda p: p.stem)
def test_launch_config_is_what_accelerate_reads(path: Path):
    from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file

    raw = yaml.safe_load(path.read_text())
    assert raw["compute_environment"] == "LOCAL_MACHINE" and raw["use_cpu"] is False
    assert raw["num_machines"] == 1 and raw["num_processes"] >= 2
    assert path.read_text().lstrip().startswith("#")  # each explains itself
    config = load_config_from_file(str(path))  # unknown keys would raise here
    assert isinstance(config, ClusterConfig)
    kind = str(config.distributed_type).rsplit(".", 1)[-1]
    if path.stem == "deepspeed_zero3":
        assert kind == "DEEPSPEED" and config.deepspeed_config["zero_stage"] == 3
        assert config.deepspeed_config["zero3_save_16bit_model"] is True
    elif path.stem == "fsdp":
        assert kind == "FSDP"
        assert config.fsdp_config["fsdp_state_dict_type"] == "FULL_STATE_DICT"
        assert config.fsdp_config["fsdp_auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
    else:
        assert kind == "MULTI_GPU"


def _layered(tmp_path: Path, yaml_text: str | None, cli: list[str]) -> dict:
    """The options `train` would use, without training: the command stops in train_sft."""
    from click.testing import CliRunner

    import flexjudge.train as train_pkg
    from flexjudge.cli.train_cmd import train

    seen: dict = {}

    class Stop(Exception):
        pass

    def fake_train_sft(model, rows, output, *, lora=None, freeze_vision=False, **overrides):
        seen.update(overrides, lora=lora, freeze_vision=freeze_vision)
        raise Stop

    data = tmp_path / "rows.jsonl"
    data.write_text(
        '{"prompt": [{"role": "user", "content": "q"}], '
        '"completion": [{"role": "assistant", "content": "a"}]}\n'
    )
    args = ["--model", "m", "--data", str(data), "--output", str(tmp_path / "o"), *cli]
    if yaml_text is not None:
        (tmp_path / "c.yaml").write_text(yaml_text)
        args += ["--config", str(tmp_path / "c.yaml")]
    mp = pytest.MonkeyPatch()
    mp.setattr(train_pkg, "train_sft", fake_train_sft)
    try:
        result = CliRunner().invoke(train, args)
    finally:
        mp.undo()
    if isinstance(result.exception, ConfigError):
        raise result.exception
    assert isinstance(result.exception, Stop), result.output
    return seen


def test_paper_recipe_layers_under_command_line_options(tmp_path: Path):
    paper = (CONFIGS / "recipes" / "paper.yaml").read_text()
    seen = _layered(tmp_path, paper, ["--lr", "7e-6"])
    assert seen["learning_rate"] == 7e-6  # the flag beats the file (the Omni recipe)
    assert seen["gradient_accumulation_steps"] == 4 and seen["per_device_train_batch_size"] == 2
    assert seen["weight_decay"] == 1e-4 and seen["warmup_steps"] == 0.05 and seen["seed"] == 42
    assert seen["lr_scheduler_type"] == "cosine" and seen["max_length"] == 4096
    assert seen["lora"] is None and not seen["freeze_vision"]
    assert _layered(tmp_path, paper, [])["learning_rate"] == 1e-5
    assert "learning_rate" not in _layered(tmp_path, None, [])  # no file: the built-in defaults


def test_config_sets_lora_and_types_values_like_the_options(tmp_path: Path):
    seen = _layered(
        tmp_path,
        "lora: true\nlora-rank: 8\nlora_targets: [q_proj, v_proj]\nlr: 1e-4\nfreeze_vision: true\n",
        ["--lora-rank", "4"],
    )
    assert seen["lora"].rank == 4 and seen["lora"].targets == ("q_proj", "v_proj")
    assert seen["learning_rate"] == 1e-4 and seen["freeze_vision"] is True


@pytest.mark.parametrize(
    "text, message",
    [
        ("learning_rate: 1.0e-5\n", "unknown key 'learning_rate'"),
        ("- lr\n", "mapping"),
        ("batch_size: two\n", "batch_size"),
    ],
)
def test_bad_config_is_a_config_error(tmp_path: Path, text: str, message: str):
    with pytest.raises(ConfigError, match=message):
        _layered(tmp_path, text, [])
