"""The transformers engine for Mol-LLaMA checkpoints (Flex-Mol-LLaMA): molecules as graphs.

``--engine transformers`` picks :class:`MolLLaMAEngine` for a checkpoint whose ``model_type``
is ``"mol_llama"`` (:func:`flexjudge.engines.registry.create_engine`). It differs from
:class:`~flexjudge.engines.hf.TransformersEngine` only where the model does:

* **Prompt.** :func:`~flexjudge.prompts.build_chat` gives each molecule as a molecule part (the
  engine's ``modalities`` are ``{"molecule"}``); :class:`MolLLaMAChat` writes it as 8 ``<mol>``
  tokens (``num_query_tokens``) and renders with the checkpoint's chat template, the
  hand-written Llama-3 format; prompts are tokenised without special tokens (the template
  writes the one BOS) and padded on the left with ``[PAD]``.
* **Inputs.** The molecules, in prompt order across the batch, are featurised
  (:func:`~flexjudge.mol_llama.featurize`: OGB graph and a seeded RDKit conformer) and collated
  into one :class:`~flexjudge.mol_llama.MolBatch`, which ``MolLLaMA.generate`` encodes into the
  ``<mol>`` slots. Featurisation failures are a :class:`~flexjudge.errors.MediaError` naming
  the SMILES, raised by :meth:`MolLLaMAEngine.check` before anything is generated.

Everything else (sampling, votes, stop strings, decoding, lazy weights) is the transformers
engine's, unchanged: ``MolLLaMA.generate`` returns the prompt ids followed by the new tokens.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from flexjudge.engines.base import ChatRequest, EngineInfo
from flexjudge.engines.hf import TransformersEngine, pick_device, pick_dtype
from flexjudge.engines.hf_chat import HFChat, load_hint
from flexjudge.engines.model_classes import model_class_for
from flexjudge.errors import EngineError, ModelLoadError
from flexjudge.media._common import first_line

if TYPE_CHECKING:
    from flexjudge.mol_llama.featurize import MoleculeInputs

__all__ = ["MolLLaMAChat", "MolLLaMAEngine"]

#: Featurised molecules kept per engine (both orders of a swap and every vote reuse them).
FEATURE_CACHE_SIZE = 256


class MolLLaMAChat(HFChat):
    """The processor side of a Mol-LLaMA checkpoint: its config (``model_type`` registered
    here), its tokenizer (with ``[PAD]`` and ``<mol>``) and chat template. There is no image or
    audio processor to load, so :class:`~.hf_chat.HFChat`'s constructor is not used; rendering,
    the modality check and the end-of-turn ids are its own."""

    def __init__(
        self, model: str, *, revision: str | None = None, video_preset: str = "qwen"
    ) -> None:
        from transformers import AutoConfig, AutoTokenizer

        from flexjudge.mol_llama import register
        from flexjudge.mol_llama.tokens import MOL_TOKEN, PAD_TOKEN

        register()
        self.model_id, self.revision, self.video_preset = str(model), revision, video_preset
        try:
            self.config = AutoConfig.from_pretrained(self.model_id, revision=revision)
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_id, revision=revision)
        except Exception as exc:
            raise ModelLoadError(
                f"cannot load the config or tokenizer of {self.model_id!r}: {first_line(exc)}. "
                + load_hint(self.model_id)
            ) from exc
        self.processor = self.tokenizer
        self.class_name, self.modalities = model_class_for(self.config)
        ids = {t: self.tokenizer.convert_tokens_to_ids(t) for t in (MOL_TOKEN, PAD_TOKEN)}
        want = {MOL_TOKEN: self.config.mol_token_id, PAD_TOKEN: self.config.pad_token_id}
        if ids != want or getattr(self.tokenizer, "chat_template", None) is None:
            raise ModelLoadError(
                f"{self.model_id!r} is not an assembled Mol-LLaMA checkpoint: its tokenizer has "
                f"{ids} where the config says {want}, or no chat template; build it with "
                "`flexjudge mol-llama assemble`"
            )
        self.per_molecule = int(self.config.qformer_config.num_query_tokens)
        self.tokenizer.padding_side = "left"

    def messages(
        self, request: ChatRequest
    ) -> tuple[list[dict[str, Any]], list[Any], list[Any], list[Any]]:
        """Plain-text messages (molecules as ``<mol>`` slots) and no images, videos or audio."""
        from flexjudge.mol_llama.prompting import chat_messages

        return chat_messages(request, self.per_molecule)[0], [], [], []  # type: ignore[return-value]

    def molecules(self, request: ChatRequest) -> list[str]:
        """The SMILES of ``request``'s molecule parts, in the order their slots appear."""
        return [p.media for m in request.messages for p in m.parts if p.type == "molecule"]


class MolLLaMAEngine(TransformersEngine):
    """:class:`~.hf.TransformersEngine` for Mol-LLaMA checkpoints (module doc). Same options;
    ``conformer_seed`` seeds each molecule's RDKit conformer (part of the cache key)."""

    chat: MolLLaMAChat

    def __init__(
        self,
        model: str,
        *,
        device: str = "auto",
        dtype: str = "auto",
        revision: str | None = None,
        video_preset: str = "qwen",
        conformer_seed: int = 0,
    ) -> None:
        # The parent's attributes, with MolLLaMAChat where it builds an HFChat (a test keeps
        # the two attribute sets equal).
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device)
        self.chat = MolLLaMAChat(model, revision=revision, video_preset=video_preset)
        self.model_id = self.chat.model_id
        self.revision = revision
        self.modalities = self.chat.modalities
        self.tokenizer = self.chat.tokenizer
        self.processor = self.chat.processor
        self._model: Any = None
        self._load_error: ModelLoadError | None = None
        self.conformer_seed = conformer_seed
        self._features: OrderedDict[str, MoleculeInputs] = OrderedDict()

    @property
    def info(self) -> EngineInfo:
        info = super().info
        info.details["conformer_seed"] = self.conformer_seed
        return info

    def check(self, request: ChatRequest) -> None:
        """The modality check, then every molecule featurised (a bad SMILES or a failed
        conformer raises its ``MediaError`` here, before anything is generated)."""
        super().check(request)
        for smiles in self.chat.molecules(request):
            self._featurize(smiles)

    def _featurize(self, smiles: str) -> MoleculeInputs:
        from flexjudge.mol_llama.featurize import featurize

        found = self._features.get(smiles)
        if found is None:
            max_atoms = self.chat.config.graph_encoder_config.unimol_config.max_atoms
            found = featurize(smiles, seed=self.conformer_seed, max_atoms=max_atoms)
            self._features[smiles] = found
            while len(self._features) > FEATURE_CACHE_SIZE:
                self._features.popitem(last=False)
        self._features.move_to_end(smiles)
        return found

    def _inputs(self, requests: Sequence[ChatRequest]) -> Any:
        """Token ids and mask (left padded), and the batch's molecules as one graph batch."""
        from flexjudge.mol_llama.featurize import collate

        texts = [self.chat.render(r) for r in requests]
        smiles = [s for r in requests for s in self.chat.molecules(r)]
        try:
            batch = self.tokenizer(
                texts, padding=True, add_special_tokens=False, return_tensors="pt"
            )
        except Exception as exc:
            raise EngineError(f"the tokenizer rejected the batch: {first_line(exc)}") from exc
        if smiles:
            batch["molecules"] = collate([self._featurize(s) for s in smiles])
        return batch
