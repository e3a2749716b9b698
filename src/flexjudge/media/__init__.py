"""The media layer: pure loaders that turn what a request names (a video file or frame
folder, an audio file, a molecule) into what a model's processor takes, plus content digests.

* :func:`load_video` -> :class:`VideoClip`: uint8 frames ``(T, H, W, 3)`` sampled by time and
  sized for Qwen2.5-VL (sides multiples of 28), with timestamps and the sampled fps.
* :func:`load_audio` -> :class:`AudioClip`: mono float32 in ``[-1, 1]`` at 16 kHz.
* :func:`parse_molecule`, :func:`describe`, :func:`depict`, :func:`molecule_text`,
  :func:`render_molecule`: RDKit molecules as text and/or a 2D depiction;
  :class:`MoleculeEncoder` is the extension point for native molecule encoders.
* :func:`media_digest`: SHA-256 content keys for a result store.

Every failure is a :class:`flexjudge.errors.MediaError` naming the file (or SMILES) and the
cause. Importing this package is cheap: PyAV, soundfile, SciPy and RDKit (the ``media``
extra) load on first use.
"""

from flexjudge.media.audio import (
    MAX_SECONDS,
    TARGET_RATE,
    AudioClip,
    load_audio,
    probe_audio,
    resample,
)
from flexjudge.media.digest import file_digest, media_digest
from flexjudge.media.molecules import (
    DEFAULT_DEPICTION_SIZE,
    DEFAULT_MODE,
    MOLECULE_MODES,
    Molecule,
    MoleculeDescription,
    MoleculeEncoder,
    MoleculeMode,
    MoleculeView,
    canonical_smiles,
    depict,
    describe,
    embed_3d,
    molecule_text,
    parse_molecule,
    placeholder_text,
    render_molecule,
)
from flexjudge.media.video import (
    DEFAULT_VIDEO_LIMITS,
    OFFICIAL_EVAL_VIDEO,
    PATCH_FACTOR,
    QWEN_VIDEO,
    VIDEO_PRESETS,
    VideoClip,
    VideoInfo,
    VideoLimits,
    VideoPreset,
    load_video,
    probe_video,
    smart_resize,
)

__all__ = [
    "DEFAULT_DEPICTION_SIZE",
    "DEFAULT_MODE",
    "DEFAULT_VIDEO_LIMITS",
    "MAX_SECONDS",
    "MOLECULE_MODES",
    "OFFICIAL_EVAL_VIDEO",
    "PATCH_FACTOR",
    "QWEN_VIDEO",
    "TARGET_RATE",
    "VIDEO_PRESETS",
    "AudioClip",
    "Molecule",
    "MoleculeDescription",
    "MoleculeEncoder",
    "MoleculeMode",
    "MoleculeView",
    "VideoClip",
    "VideoInfo",
    "VideoLimits",
    "VideoPreset",
    "canonical_smiles",
    "depict",
    "describe",
    "embed_3d",
    "file_digest",
    "load_audio",
    "load_video",
    "media_digest",
    "molecule_text",
    "parse_molecule",
    "placeholder_text",
    "probe_audio",
    "probe_video",
    "render_molecule",
    "resample",
    "smart_resize",
]
