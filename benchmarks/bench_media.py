"""Media-layer speed on this machine (not a timed test): video decode + sample + resize,
audio decode + down-mix + resample, RDKit parse/describe and depiction.

Inputs are synthesised first (a moving-pattern video encoded with PyAV, a speech-like
44.1 kHz tone as int16 WAV and mp3, a list of drug SMILES), so the numbers need no data set.
Each row is the median of ``--repeat`` runs after one warm-up. Prints a Markdown table.

    python benchmarks/bench_media.py [--seconds 20] [--repeat 3] [--out results/media.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from _timing import timed

DRUGS = [
    "CC(=O)Oc1ccccc1C(=O)O",
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
    "CC(C)Cc1ccc(cc1)C(C)C(=O)O",
    "CC(=O)Nc1ccc(O)cc1",
    "CN1CCC[C@H]1c1cccnc1",
    "OC(=O)CCCCC1SCC2NC(=O)NC12",
    "CC12CCC3C(CCC4=CC(=O)CCC34C)C1CCC2O",
    "c1ccc2c(c1)ccc1ccccc12",
    "CC(C)NCC(O)COc1cccc2ccccc12",
    "COc1ccc2[nH]cc(CCNC(C)=O)c2c1",
    "CN(C)CCCN1c2ccccc2CCc2ccccc21",
    "O=C(O)c1ccccc1O",
    "CC1(C)SC2C(NC(=O)Cc3ccccc3)C(=O)N2C1C(=O)O",
    "NC(=O)c1cccnc1",
    "Clc1ccc(cc1)C(c1ccccc1)N1CCN(CCOCC(=O)O)CC1",
    "CCN(CC)CC(=O)Nc1c(C)cccc1C",
]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    import av
    import rdkit
    import scipy
    import soundfile

    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu_name(),
        "cores_usable": affinity,
        "python": platform.python_version(),
        "av": av.__version__,
        "ffmpeg": ".".join(map(str, av.library_versions["libavcodec"])),
        "soundfile": soundfile.__version__,
        "scipy": scipy.__version__,
        "rdkit": rdkit.__version__,
    }


def make_video(path: Path, seconds: float, rate: int, w: int, h: int) -> Path:
    import av

    codec = next(c for c in ("libx264", "h264", "mpeg4") if _has_encoder(c))
    yy, xx = np.mgrid[0:h, 0:w]
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=rate)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i in range(int(seconds * rate)):
            img = np.stack(
                [(xx + 4 * i) % 256, (yy + 2 * i) % 256, (xx + yy + i) % 256], axis=-1
            ).astype(np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def _has_encoder(name: str) -> bool:
    import av

    try:
        av.codec.Codec(name, "w")
        return True
    except Exception:
        return False


def make_audio(root: Path, seconds: float, rate: int) -> dict[str, Path]:
    import av
    import soundfile as sf

    t = np.arange(int(seconds * rate)) / rate
    x = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 7)) * (
        0.55 - 0.45 * np.cos(8 * np.pi * t)
    )
    x = (0.6 * x / np.abs(x).max()).astype(np.float32)
    out = {"wav": root / "speech.wav"}
    sf.write(out["wav"], np.stack([x, x], 1), rate, subtype="PCM_16")  # stereo int16
    if _has_encoder("libmp3lame"):
        out["mp3"] = root / "speech.mp3"
        with av.open(str(out["mp3"]), "w") as c:
            s = c.add_stream("libmp3lame", rate=rate)
            s.layout = "mono"
            fr = av.AudioFrame.from_ndarray(x[None, :], format="flt", layout="mono")
            fr.sample_rate = rate
            for p in s.encode(fr):
                c.mux(p)
            for p in s.encode():
                c.mux(p)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=20.0, help="video and audio length")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="also write the rows as JSON")
    args = ap.parse_args(argv)

    from flexjudge.media import depict, describe, load_audio, load_video

    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for w, h, rate in ((640, 360, 30), (1280, 720, 30)):
            video = make_video(root / f"clip_{h}p.mp4", args.seconds, rate, w, h)
            n_source = int(args.seconds * rate)
            for preset in ("qwen", "official"):
                sec, clip = timed(
                    lambda video=video, preset=preset: load_video(video, preset=preset), args.repeat
                )
                rows.append(
                    (
                        f"video {w}x{h} {rate} fps h264, {args.seconds:g} s, preset {preset}",
                        f"{n_source / sec:,.0f} source frames/s; {clip.num_frames / sec:,.1f} "
                        f"output frames/s ({clip.num_frames} x {clip.size[0]}x{clip.size[1]})",
                        f"{sec * 1000:,.0f} ms",
                    )
                )
        for kind, path in make_audio(root, args.seconds, 44100).items():
            sec, clip = timed(lambda path=path: load_audio(path), args.repeat)
            rows.append(
                (
                    f"audio 44.1 kHz {'stereo int16 wav' if kind == 'wav' else 'mono mp3'} "
                    f"-> 16 kHz mono, {args.seconds:g} s",
                    f"{clip.duration / sec:,.0f} s of audio per s",
                    f"{sec * 1000:,.1f} ms",
                )
            )
    sec, _ = timed(lambda: [describe(s) for s in DRUGS], args.repeat)
    rows.append(
        (
            f"RDKit parse + describe, {len(DRUGS)} drugs",
            f"{sec / len(DRUGS) * 1000:.2f} ms per molecule",
            f"{sec * 1000:,.0f} ms",
        )
    )
    sec, _ = timed(lambda: [depict(s, (448, 448)) for s in DRUGS], args.repeat)
    rows.append(
        (
            f"RDKit depiction 448x448, {len(DRUGS)} drugs",
            f"{sec / len(DRUGS) * 1000:.1f} ms per molecule",
            f"{sec * 1000:,.0f} ms",
        )
    )

    info = machine()
    print("Machine: " + ", ".join(f"{k} {v}" for k, v in info.items()) + "\n")
    print("| workload | throughput | median wall time |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"machine": info, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
