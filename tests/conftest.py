"""Shared fixtures: real tiny checkpoints, written once per session by the same builder that
`flexjudge tiny-model` uses, and loaded through `from_pretrained` like any user checkpoint."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Nothing may come from the hub; fail fast instead of retrying for half a minute.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_vl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from flexjudge.testing.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "vl-small")


@pytest.fixture(scope="session")
def tiny_vl_qwen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from flexjudge.testing.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "vl-qwen", vocab="qwen")


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny LLaMA-3.1-style causal LM (text only; the Flex-Mol-LLaMA backbone)."""
    from flexjudge.testing.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "llama3", arch="llama3")


@pytest.fixture(scope="session")
def tiny_omni(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Qwen2.5-Omni thinker (audio, images, video)."""
    from flexjudge.testing.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "omni", arch="qwen2_5_omni")


@pytest.fixture(scope="session")
def tiny_omni_full(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny full Qwen2.5-Omni (thinker, talker, token2wav)."""
    from flexjudge.testing.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "omni-full", arch="qwen2_5_omni_full")


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The quick demo, once: builds, judges, fine-tunes text-only, judges again."""
    from flexjudge.demo.run import DemoSettings, run_demo

    return run_demo(tmp_path_factory.mktemp("demo"), DemoSettings.quick())


@pytest.fixture(scope="session")
def trained_vl(demo_run: dict) -> Path:
    return Path(demo_run["model"])


@pytest.fixture(scope="session")
def tiny_mol_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Mol-LLaMA (`flexjudge tiny-model DIR --arch mol_llama`): a checkpoint, with the
    published-layout sources it was assembled from under ``sources/``."""
    from flexjudge.testing.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("mol-llama") / "tiny", arch="mol_llama")


@pytest.fixture()
def png(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "pic.png"
    Image.new("RGB", (60, 40), (200, 30, 30)).save(path)
    return path
