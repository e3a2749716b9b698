"""The flexjudge error hierarchy.

    FlexJudgeError
    ├── ConfigError      a setting is unknown or out of range (scale, format, order, sampling)
    ├── InputError       a request or a data row is malformed (names the item and the cause)
    ├── MediaError       a media file is missing, unreadable or not supported by the model
    └── EngineError      the engine failed
        └── ModelLoadError   a checkpoint could not be loaded (says what to pass instead)

Unparseable model output is *not* an exception: it becomes an invalid verdict with a
reason (see :mod:`flexjudge.parsing`).
"""

from __future__ import annotations


class FlexJudgeError(Exception):
    """Root of every error flexjudge raises on purpose."""


class ConfigError(FlexJudgeError, ValueError):
    """A setting is unknown or out of range."""


class InputError(FlexJudgeError, ValueError):
    """A request or data row is malformed."""


class MediaError(InputError):
    """A media file is missing, unreadable, or cannot be taken by the loaded model."""


class EngineError(FlexJudgeError, RuntimeError):
    """The engine failed to generate."""


class ModelLoadError(EngineError):
    """A checkpoint could not be loaded."""
