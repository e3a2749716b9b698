"""flexjudge: Flex-Judge as software. A reasoning judge for text, images and more.

One path: a :class:`JudgeRequest` becomes a prompt, an engine generates, the parser reads
``<think>…</think><answer>…</answer>``, votes aggregate, a :class:`Verdict` comes back.
"""

from importlib import metadata as _metadata

from flexjudge.errors import (
    ConfigError,
    EngineError,
    FlexJudgeError,
    InputError,
    MediaError,
    ModelLoadError,
    OutputError,
    ServerUnavailable,
)
from flexjudge.judge import Judge, JudgeConfig
from flexjudge.request import Candidate, JudgeRequest, Scale, Task
from flexjudge.verdict import Verdict, Vote

try:
    __version__ = _metadata.version("flexjudge")
except _metadata.PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

__all__ = [
    "Candidate",
    "ConfigError",
    "EngineError",
    "FlexJudgeError",
    "InputError",
    "Judge",
    "JudgeConfig",
    "JudgeRequest",
    "MediaError",
    "ModelLoadError",
    "OutputError",
    "Scale",
    "ServerUnavailable",
    "Task",
    "Verdict",
    "Vote",
    "__version__",
]
