"""Flex-Omni's audio benchmarks (paper Table 4): MOS prediction on NISQA, BVCC and SOMOS, and
speaker similarity on VoxSim, as utterance-level (and, for BVCC / SOMOS, system-level) LCC
and SRCC.

One benchmark, ``audio``, with one split per data set; the split follows from the data path
when ``--split`` is not given (a path naming nisqa, bvcc, somos or voxsim). Layouts, as the
official scripts expect them (official-code.md §3.5):

* **nisqa** - ``NISQA_TEST_{FOR,LIVETALK,P501}/NISQA_TEST_*_file.csv`` with ``filepath_deg``
  and ``mos``. ``--data`` is one such CSV or a folder holding them (all sets judged, scored
  combined and per set). ``filepath_deg`` is relative to ``--media`` when given, else to the
  CSV's folder or, failing that, its parent (the NISQA corpus root, which is what NISQA's
  own ``data_dir`` + ``filepath_deg`` convention uses).
* **bvcc** - ``main/DATA/sets/test_mos_list.txt`` (``wav,score``, no header), wavs in
  ``main/DATA/wav`` (``--media`` overrides). System = ``stem.split('-')[0]``
  (``sys64e2f-utt491a0c5.wav`` -> ``sys64e2f``), as the official scorer. System targets from
  ``main/DATA/mydata_system.csv`` (``system,mean``, header optional) when it exists.
* **somos** - ``training_files/split1/clean/test_mos_list.txt`` (or ``.csv``; header
  ``utteranceId,mean``), read by :func:`iter_somos_mos_list`; audio
  ``<utteranceId>`` in the nearest ``audios/`` folder above the list (``--media`` overrides).
  System = the id's ``_NNN`` suffix. System targets from ``test_system.csv`` beside the list
  when it exists.
* **voxsim** - ``voxsim_test_list.txt``: CSV lines ``path1,path2,is_same,?,score`` (score =
  field 5); wavs relative to ``--media``, else ``wav/`` beside the list, else the list's folder.

Requests: the score task with protocol ``audio_mos`` (scale 1.0-5.0) or ``voxsim`` (two
audios, 1.0-6.0) and the official user texts (:mod:`flexjudge.prompts.protocol`). BVCC is
judged with the NISQA/SOMOS texts and system prompt: its official script had its own system
prompt (only summarised in official-code.md, and not a flexjudge protocol) and a bare user
text asking for ``<answer>X</answer>``, which flexjudge's markup neutralisation would alter.

Gold is the data set's MOS / similarity score **as published**; the official scripts round it
to one decimal first (all but VoxSim), which this harness does not - rounding only adds noise
to the target. Predictions are the verdict's score; an invalid or error verdict is left out of
the correlations and counted (``n_invalid``), never replaced by the official fallbacks
(3.0 NISQA/SOMOS, 0.0 BVCC, 3.5 VoxSim).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from flexjudge.bench.errors import BenchmarkDataError
from flexjudge.bench.metrics import Metric, system_correlations, utterance_correlations
from flexjudge.bench.paper import raw
from flexjudge.bench.records import iter_csv_rows, resolve_media
from flexjudge.bench.spec import Benchmark, Columns, Decision, Item, PaperNumbers, Protocol
from flexjudge.prompts import protocol as texts

SPLITS = ("nisqa", "bvcc", "somos", "voxsim")
_SYSTEM_LEVEL = ("bvcc", "somos")

_RULES = (
    "utterance_lcc / utterance_srcc: Pearson / Spearman over utterances (VoxSim: "
    "utterance pairs) between the verdict score and the published MOS (not rounded); "
    "invalid and error verdicts excluded and counted in n_invalid, no fallback score. "
    "system_lcc / system_srcc (bvcc, somos): per system the mean of its valid utterance "
    "predictions against the system MOS file's value (mydata_system.csv / "
    "test_system.csv) when it covers every system judged, else the mean utterance MOS; "
    "systems without a valid prediction excluded and counted. nisqa with several CSVs: "
    "combined, plus per set (utterance_lcc/<set>)"
)


def _protocol(temperature: float, official: str) -> Protocol:
    return Protocol(
        samples=1,
        order="fixed",
        tie=True,
        temperature=temperature,
        top_p=0.95,
        note=f"official {official}: one run, T={temperature}, top-p 0.95, no seed, max_tokens 4096",
    )


_PROTOCOLS = {
    "nisqa": _protocol(0.6, "test/nisqa_vllm.py"),
    "bvcc": _protocol(0.5, "test/bvcc_vllm.py"),
    "somos": _protocol(0.5, "test/somos_vllm.py"),
    "voxsim": _protocol(0.6, "test/voxsim_vllm.py"),
}


def _mos_request(audio: Any) -> dict[str, Any]:
    return {
        "task": "score",
        "protocol": "audio_mos",
        "scale": "1.0-5.0",
        "instruction": texts.AUDIO_MOS_QUESTION,
        "responses": [{"text": texts.AUDIO_MOS_ANSWER, "audios": [audio]}],
    }


def _find(value: str, roots: list[Path]) -> tuple[Any, str | None]:
    """The first root under which ``value`` exists; else the problem under the first root."""
    first: tuple[Any, str | None] | None = None
    for root in roots:
        found = resolve_media(value, root, "audio")
        if found[1] is None:
            return found
        first = first or found
    return first if first is not None else resolve_media(value, None, "audio")


def _number(value: str, path: Path, line: int, what: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise BenchmarkDataError(path, f"{what} {value!r} is not a number", line=line) from None
    if not math.isfinite(x):
        raise BenchmarkDataError(path, f"{what} {value!r} is not finite", line=line)
    return x


def _is_number(value: str) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


@dataclass(frozen=True)
class SomosUtterance:
    """One row of SOMOS ``test_mos_list``: utterance id, its sentence and system, mean MOS.

    Per SOMOS's readme the utterance id is ``<sentenceId>_<systemId>`` and systemId is
    ``000``-``200`` (000 = natural speech); e.g. ``LJ002-0181_110.wav`` -> system ``110``.
    """

    utterance_id: str
    sentence_id: str
    system_id: str
    mos: float
    line: int


def iter_somos_mos_list(path: Path | str) -> Iterator[SomosUtterance]:
    """Stream a SOMOS ``test_mos_list.csv`` / ``.txt`` (``utteranceId,mean``; header optional).
    The system id must be 000-200 and the MOS within [1, 5]."""
    path = Path(path)
    for lineno, row in iter_csv_rows(path):
        if lineno == 1 and row[0] == "utteranceId":
            continue
        if len(row) != 2:
            raise BenchmarkDataError(
                path, f"expected 2 columns, got {len(row)}: {row!r}", line=lineno
            )
        utt = row[0]
        stem = utt[:-4] if utt.endswith(".wav") else utt
        sentence, sep, system = stem.rpartition("_")
        if not sep or not (len(system) == 3 and system.isdigit() and int(system) <= 200):
            raise BenchmarkDataError(
                path, f"utterance id {utt!r} does not end in _<systemId 000-200>", line=lineno
            )
        mos = _number(row[1], path, lineno, "MOS")
        if not 1.0 <= mos <= 5.0:
            raise BenchmarkDataError(path, f"MOS {mos} is outside [1, 5]", line=lineno)
        yield SomosUtterance(utt, sentence, system, mos, lineno)


def read_system_mos(path: Path) -> dict[str, float]:
    """A system MOS file (``system,mean``; a header line is skipped): system -> MOS."""
    out: dict[str, float] = {}
    for line, row in iter_csv_rows(path):
        if len(row) < 2:
            raise BenchmarkDataError(path, f"expected system,mean, got {row!r}", line=line)
        if not _is_number(row[1]) and not out:
            continue  # header
        out[row[0]] = _number(row[1], path, line, "system MOS")
    return out


# Table 4 (Flex-Omni-7B only: Flex-VL-7B has no audio input)
PAPER: dict[str, PaperNumbers] = {
    "nisqa": raw(utterance_lcc=(None, 0.545), utterance_srcc=(None, 0.590)),
    "bvcc": raw(
        utterance_lcc=(None, 0.081),
        utterance_srcc=(None, 0.067),
        system_lcc=(None, 0.144),
        system_srcc=(None, 0.128),
    ),
    "somos": raw(
        utterance_lcc=(None, 0.150),
        utterance_srcc=(None, 0.138),
        system_lcc=(None, 0.323),
        system_srcc=(None, 0.325),
    ),
    "voxsim": raw(utterance_lcc=(None, 0.271), utterance_srcc=(None, 0.268)),
}


class Audio(Benchmark):
    name = "audio"
    title = "Audio MOS / speaker similarity (NISQA, BVCC, SOMOS, VoxSim)"
    splits = SPLITS
    media = "audio"
    protocol = _PROTOCOLS["nisqa"]
    metric_rules = _RULES
    paper = PAPER
    data_hint = (
        "nisqa: NISQA_TEST_*_file.csv (or their folder); bvcc: main/DATA/sets/"
        "test_mos_list.txt; somos: training_files/split1/clean/test_mos_list.txt; "
        "voxsim: voxsim_test_list.txt"
    )

    def protocol_for(self, split: str) -> Protocol:
        return _PROTOCOLS[split]

    def split_from(self, data: str | Path | None) -> str | None:
        if data is None:
            return None
        text = str(data).lower()
        hits = [s for s in SPLITS if s in text]
        if not hits and "main/data/sets" in text.replace("\\", "/"):
            hits = ["bvcc"]
        return hits[0] if len(hits) == 1 else None

    def load_items(
        self, data: str | Path, split: str, *, media_root: Path | None, protocol: Protocol
    ) -> Iterator[Item]:
        data = Path(data)
        yield from {
            "nisqa": self._nisqa,
            "bvcc": self._bvcc,
            "somos": self._somos,
            "voxsim": self._voxsim,
        }[split](data, media_root)

    # --- readers ------------------------------------------------------------------------

    def _nisqa(self, data: Path, media_root: Path | None) -> Iterator[Item]:
        if data.is_dir():
            csvs = sorted(p for p in data.rglob("*_file.csv") if p.name.startswith("NISQA_TEST"))
            if not csvs:
                raise BenchmarkDataError(data, "no NISQA_TEST_*_file.csv in this folder")
        else:
            csvs = [data]
        for path in csvs:
            group = path.stem.removesuffix("_file")
            roots = [media_root] if media_root else [path.parent, path.parent.parent]
            header: list[str] | None = None
            for line, row in iter_csv_rows(path):
                if header is None:
                    header = row
                    missing = [c for c in ("filepath_deg", "mos") if c not in header]
                    if missing:
                        raise BenchmarkDataError(
                            path, f"missing column(s) {missing}; it has {header}", line=line
                        )
                    continue
                rec = dict(zip(header, row))
                rel = rec.get("filepath_deg", "")
                if not rel:
                    raise BenchmarkDataError(path, "empty filepath_deg", line=line)
                mos = _number(rec.get("mos", ""), path, line, "mos")
                audio, problem = _find(rel, roots)
                item_id = f"{group}/{rel}" if len(csvs) > 1 else rel
                yield Item(
                    item_id, _mos_request(audio or rel), mos, group, {"line": line}, problem=problem
                )

    def _bvcc(self, data: Path, media_root: Path | None) -> Iterator[Item]:
        wav_root = media_root or data.parent.parent / "wav"
        system_file = data.parent.parent / "mydata_system.csv"
        targets = read_system_mos(system_file) if system_file.is_file() else {}
        for line, row in iter_csv_rows(data):
            if len(row) < 2:
                raise BenchmarkDataError(data, f"expected wav,score, got {row!r}", line=line)
            if line == 1 and not _is_number(row[1]):
                continue  # header
            wav = row[0]
            if not wav:
                raise BenchmarkDataError(data, "no audio file named (empty wav column)", line=line)
            system = Path(wav).stem.split("-")[0]
            audio, problem = resolve_media(wav, wav_root, "audio")
            yield Item(
                wav,
                _mos_request(audio or wav),
                _number(row[1], data, line, "score"),
                "all",
                {"system": system, "system_mos": targets.get(system)},
                problem=problem,
            )

    def _somos(self, data: Path, media_root: Path | None) -> Iterator[Item]:
        root = media_root or next(
            (p / "audios" for p in data.parents if (p / "audios").is_dir()), data.parent / "audios"
        )
        stem = data.stem.removesuffix("_mos_list")
        system_file = data.with_name(f"{stem}_system.csv")
        targets = read_system_mos(system_file) if system_file.is_file() else {}
        for u in iter_somos_mos_list(data):
            name = u.utterance_id if u.utterance_id.endswith(".wav") else u.utterance_id + ".wav"
            audio, problem = resolve_media(name, root, "audio")
            yield Item(
                u.utterance_id,
                _mos_request(audio or name),
                u.mos,
                "all",
                {"system": u.system_id, "system_mos": targets.get(u.system_id)},
                problem=problem,
            )

    def _voxsim(self, data: Path, media_root: Path | None) -> Iterator[Item]:
        roots = [media_root] if media_root else [data.parent / "wav", data.parent]
        for line, row in iter_csv_rows(data):
            if len(row) < 5:
                raise BenchmarkDataError(
                    data, f"expected path1,path2,is_same,?,score, got {row!r}", line=line
                )
            if line == 1 and not _is_number(row[4]):
                continue  # header
            if not (row[0] and row[1]):
                raise BenchmarkDataError(
                    data, f"a voxsim pair needs two clips (path1,path2), got {row[:2]!r}", line=line
                )
            found = [_find(p, roots) for p in row[:2]]
            problems = [p for _, p in found if p]
            request = {
                "task": "score",
                "protocol": "voxsim",
                "scale": "1.0-6.0",
                "instruction": texts.VOXSIM_QUESTION,
                "audios": [a or p for (a, _), p in zip(found, row[:2])],
                "responses": [texts.VOXSIM_ANSWER],
            }
            yield Item(
                str(line),
                request,
                _number(row[4], data, line, "score"),
                "all",
                {"pair": f"{row[0]}|{row[1]}", "is_same": row[2]},
                problem="; ".join(problems) or None,
            )

    # --- scoring --------------------------------------------------------------------------

    def predict(self, decision: Decision, item: Item) -> Any:
        return decision.scores[0] if decision.scores else None

    def score(self, cols: Columns, split: str) -> dict[str, Metric]:
        golds = [float(g) for g in cols.golds]
        out: dict[str, Metric] = dict(utterance_correlations(cols.preds, golds))
        if split in _SYSTEM_LEVEL:
            systems = [str(m["system"]) for m in cols.metas]
            targets = _system_targets(cols.metas, systems)
            where = (
                "the system MOS file"
                if targets is not None
                else "the mean MOS of the system's utterances judged"
            )
            for key, m in system_correlations(
                cols.preds, golds, systems, system_targets=targets
            ).items():
                out[key] = replace(m, note=f"{m.note}; system target: {where}")
        groups = list(dict.fromkeys(cols.groups))
        if len(groups) > 1:
            for g in groups:
                idx = [i for i, x in enumerate(cols.groups) if x == g]
                per = utterance_correlations([cols.preds[i] for i in idx], [golds[i] for i in idx])
                out.update({f"{k}/{g}": m for k, m in per.items()})
        return out


def _system_targets(metas: list[Mapping[str, Any]], systems: list[str]) -> dict[str, float] | None:
    """The system MOS file's values when they cover every system judged, else None (the
    utterance mean is used)."""
    targets = {
        str(m["system"]): float(m["system_mos"]) for m in metas if m.get("system_mos") is not None
    }
    return targets if systems and all(s in targets for s in systems) else None
