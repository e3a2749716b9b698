"""A plain ChatML rendering (Qwen's chat format) for engines without a processor.

Used by the scripted engine, and by ``--show-prompt`` only when a checkpoint's own chat
template cannot be loaded (it says so). Real engines render with the model's processor.
"""

from __future__ import annotations

from flexjudge.engines.base import ChatRequest

_PLACEHOLDER = {
    "image": "<|vision_start|><|image_pad|><|vision_end|>",
    "video": "<|vision_start|><|video_pad|><|vision_end|>",
    "audio": "<|audio_bos|><|AUDIO|><|audio_eos|>",
}


def render_chatml(request: ChatRequest) -> str:
    out = []
    for m in request.messages:
        body = "".join(p.text if p.type == "text" else _PLACEHOLDER[p.type] for p in m.parts)
        out.append(f"<|im_start|>{m.role}\n{body}<|im_end|>\n")
    out.append(f"<|im_start|>assistant\n{request.assistant_prefix}")
    return "".join(out)
