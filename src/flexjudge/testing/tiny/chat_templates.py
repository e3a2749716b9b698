"""Chat templates written into tiny checkpoints.

These are interface facts copied from the released checkpoints, not wording of ours: keep them
byte for byte. TRL recognises a template by string equality (to swap in its training variant
for assistant-only loss), so even whitespace matters.
"""

from __future__ import annotations

#: The chat template shipped with Qwen/Qwen2-VL-*-Instruct and Qwen/Qwen2.5-VL-*-Instruct
#: (identical in both). ChatML; adds the default system prompt only when the first message is
#: not a system message; content is a string or a list of "text"/"image"/"video" parts; an
#: image renders ``<|vision_start|><|image_pad|><|vision_end|>`` (the processor expands the pad);
#: ``add_vision_id`` prefixes "Picture N: " / "Video N: ".
QWEN2_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\n"
    "You are a helpful assistant.<|im_end|>\n"
    "{% endif %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}"
    "Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}"
    "Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}"
    "{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% endif %}"
)

__all__ = ["QWEN2_VL_CHAT_TEMPLATE"]

#: A Qwen2.5-Omni-style chat template (reconstructed from the released Qwen/Qwen2.5-Omni-7B
#: template's rendering of text, image, video and audio parts; its ``use_audio_in_video`` and
#: url branches are left out). ChatML; default system prompt when the first message is not a
#: system message; an image renders ``<|vision_bos|><|IMAGE|><|vision_eos|>``, a video
#: ``<|vision_bos|><|VIDEO|><|vision_eos|>`` and an audio ``<|audio_bos|><|AUDIO|><|audio_eos|>``
#: (the processor expands the middle token).
QWEN2_5_OMNI_STYLE_CHAT_TEMPLATE = (
    "{% set audio_count = namespace(value=0) %}{% set image_count = namespace(value=0) %}"
    "{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\n"
    "You are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_bos|><|IMAGE|><|vision_eos|>"
    "{% elif content['type'] == 'audio' or 'audio' in content or 'audio_url' in content %}"
    "{% set audio_count.value = audio_count.value + 1 %}"
    "{% if add_audio_id %}Audio {{ audio_count.value }}: {% endif %}"
    "<|audio_bos|><|AUDIO|><|audio_eos|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_bos|><|VIDEO|><|vision_eos|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


#: A LLaMA-3.1-Instruct-style chat template: the released template's rendering of system, user
#: and assistant turns (BOS, the system header with its knowledge-cutoff and date lines, the
#: ``|trim`` of each content, ``<|eot_id|>`` after every turn, the bare assistant header as the
#: generation prompt), without its tool-calling branches. Content may be a string or a list of
#: text parts (the form the transformers engine sends); other parts are not rendered.
LLAMA3_1_STYLE_CHAT_TEMPLATE = (
    "{%- macro render(content) -%}{%- if content is string -%}{{ content }}{%- else -%}"
    "{%- for part in content -%}{%- if part['type'] == 'text' -%}{{ part['text'] }}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}{%- endmacro -%}"
    "{{- bos_token }}"
    '{%- if not date_string is defined %}{%- set date_string = "26 Jul 2024" %}{%- endif %}'
    "{%- if messages[0]['role'] == 'system' %}"
    "{%- set system_message = render(messages[0]['content'])|trim %}"
    "{%- set messages = messages[1:] %}"
    '{%- else %}{%- set system_message = "" %}{%- endif %}'
    '{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}'
    '{{- "Cutting Knowledge Date: December 2023\\n" }}'
    '{{- "Today Date: " + date_string + "\\n\\n" }}'
    "{{- system_message }}"
    '{{- "<|eot_id|>" }}'
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + "
    "render(message['content'])|trim + '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{%- endif %}"
)
