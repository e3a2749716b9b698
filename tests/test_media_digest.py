"""Content digests: equal content, equal key; different content or timing, different key."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PIL import Image

import flexjudge.media as media
from flexjudge.errors import ConfigError, MediaError
from flexjudge.media import file_digest, load_audio, load_video, media_digest


def test_files_hash_like_sha256sum(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"abc" * 1000)
    expected = hashlib.sha256(b"abc" * 1000).hexdigest()
    assert media_digest(path) == media_digest(str(path)) == file_digest(path) == expected
    with pytest.raises(MediaError, match=r"media file '.*gone\.wav' does not exist"):
        media_digest(tmp_path / "gone.wav")
    with pytest.raises(MediaError, match="does not exist"):
        media_digest(str(tmp_path / "gone.wav"), kind="file")
    with pytest.raises(MediaError, match=r"media file 'clips/a\.mp4' does not exist \(nor is"):
        media_digest("clips/a.mp4")


def test_arrays_and_images():
    a = np.arange(12, dtype=np.uint8)
    assert media_digest(a) == media_digest(a.copy())
    assert media_digest(a) != media_digest(a.reshape(3, 4))
    assert media_digest(a) != media_digest(a.astype(np.int16))
    assert media_digest(a.reshape(3, 4).T) == media_digest(np.ascontiguousarray(a.reshape(3, 4).T))
    red = Image.new("RGB", (8, 8), (255, 0, 0))
    assert media_digest(red) == media_digest(Image.new("RGB", (8, 8), (255, 0, 0)))
    assert media_digest(red) != media_digest(Image.new("RGB", (8, 8), (254, 0, 0)))
    assert media_digest(red) != media_digest(red.convert("RGBA"))


def test_images_on_disk_and_in_memory(tmp_path):
    im = Image.new("RGB", (5, 7), (1, 2, 3))
    im.save(tmp_path / "x.png")
    with Image.open(tmp_path / "x.png") as loaded:
        assert media_digest(loaded) == media_digest(im)  # pixels, not the encoded bytes


def test_molecules_key_on_canonical_smiles(tmp_path):
    assert media_digest("OCC") == media_digest("CCO")
    assert media_digest("OCC") == hashlib.sha256(b"CCO").hexdigest()
    assert media_digest("CCO") != media_digest("CCN")
    assert media_digest(media.parse_molecule("OCC")) == media_digest("CCO")
    sdf = tmp_path / "ethanol.sdf"
    from rdkit import Chem

    sdf.write_text(Chem.MolToMolBlock(Chem.MolFromSmiles("OCC")))
    assert media_digest(sdf, kind="molecule") == media_digest("CCO")
    assert media_digest(sdf) == file_digest(sdf)
    with pytest.raises(MediaError, match="invalid SMILES 'C1CC'"):
        media_digest("C1CC")
    with pytest.raises(MediaError, match="cannot digest a value of type dict"):
        media_digest({"a": 1})
    with pytest.raises(ConfigError):
        media_digest("CCO", kind="smell")


def test_clips_include_their_timing(tmp_path):
    from PIL import Image as I

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(4):
        I.new("RGB", (56, 56), (10 * i, 0, 0)).save(folder / f"{i}.png")
    one = load_video(folder, fps=1.0)
    assert media_digest(one) == media_digest(load_video(folder, fps=1.0))
    assert media_digest(one) != media_digest(load_video(folder, fps=1.0, frame_rate=2.0))
    assert len(media_digest(folder)) == 64
    samples = np.sin(np.arange(16000) / 10).astype(np.float32) * 0.5
    a16 = load_audio((samples, 16000))
    a8 = load_audio((samples, 16000), target_rate=8000)
    assert media_digest(a16) == media_digest(load_audio((samples, 16000)))
    assert media_digest(a16) != media_digest(a8)


def test_public_api_is_listed():
    assert media.__all__ == sorted(media.__all__, key=lambda n: (not n.isupper(), n))
    for name in media.__all__:
        assert getattr(media, name) is not None
