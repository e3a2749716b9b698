"""Prompt texts and the chat format Flex-Mol-LLaMA was evaluated with: interface facts, verbatim.

Staged here until they move into :mod:`flexjudge.prompts.protocol`. Origin: the Flex-Judge
repository, github.com/jongwooko/flex-judge @ 0e34d5f (``example/``, a copy of Mol-LLaMA,
DongkiKim95/Mol-LLaMA @ 8544da0, with the judge added). Keep every character, typos included
("FISRT", "assitants"): the prompts are what the released models saw.

* :data:`PAMPA_JUDGE_SYSTEM` / :data:`PAMPA_JUDGE_USER`: ``example/pampa/prompts.py``
  (``PROMPTS["judge"]``), the pointwise 1.0-10.0 judge of a PAMPA permeability answer. The
  candidate answer is appended to the user text, cut just before "Final answer:"
  (``example/pampa/dataset_judge.py``, ``truncate_at_final_answer``). No ``<think>`` prefill.
* :data:`PAIRWISE_JUDGE_SYSTEM` / :data:`PAIRWISE_JUDGE_USER`: ``example/data_provider/prompts.py``
  (``PROMPTS["judge"]``), the pairwise judge that labels DPO pairs; ``<<QUESTION>>``,
  ``<<ANSWER1>>`` and ``<<ANSWER2>>`` are replaced by plain substitution, and generation is
  primed with :data:`THINK_PREFILL` (``example/judge.py``, ``think=True``).
* :data:`MOL_LLAMA3_CHAT_TEMPLATE`: ``example/data_provider/tokenization_utils.py``
  (``tokenize_messages_llama3``), a hand-written Llama-3 format, *not* the Llama-3.1 template:
  BOS only before the system turn, no "Cutting Knowledge Date" lines, no trimming, and the
  assistant header written after every user turn. Batches are padded on the left with
  ``[PAD]`` (``batch_tokenize_messages_list(..., padding_side="left")``).
"""

from __future__ import annotations

__all__ = [
    "MOL_LLAMA3_CHAT_TEMPLATE",
    "MOL_PLACEHOLDER",
    "MOL_TOKEN",
    "PAD_TOKEN",
    "PAIRWISE_JUDGE_SYSTEM",
    "PAIRWISE_JUDGE_USER",
    "PAMPA_FINAL_ANSWER_PATTERN",
    "PAMPA_JUDGE_SYSTEM",
    "PAMPA_JUDGE_USER",
    "THINK_PREFILL",
]

#: The tokens Mol-LLaMA adds to the Llama-3.1 tokenizer (``stage2.py``): the pad token and one
#: ``<mol>`` slot per Q-Former query token.
MOL_TOKEN = "<mol>"
PAD_TOKEN = "[PAD]"

#: A prompt names a molecule with one ``<mol>``; it is expanded to one per query token (8).
MOL_PLACEHOLDER = MOL_TOKEN

PAMPA_JUDGE_SYSTEM = (
    "\n\nYou are a helpful assistant. The assistant first performs a detailed, step-by-step "
    "reasoning process in its mind and then provides the user with the answer. The reasoning "
    "process and answer are enclosed within <think> </think> and <answer> </answer> tags, "
    "respectively, i.e., <think> detailed reasoning process here, explaining each step of your "
    "evaluation for an AI assistant </think><answer> answer here </answer>. Now the user asks "
    "you to judge the prediction of an AI assistant, by analyzing the given molecule. Score "
    "this prediction on a scale from 1.0 to 10.0 (1 if prediction is inaccurate, 10 if "
    "prediction is accurate, and 5 if uncertain given the molecular analysis) in FISRT "
    "DECIMAL. Consider the following sub-dimensions when analyzing the molecule:\n"
    "1) Lipophilicity: Higher lipophilicity generally correlates with increased permeability, "
    "up to a certain threshold.\n"
    "2) Molecular Size and Weight: Smaller molecules tend to have higher permeability.\n"
    "3) Polarity: Low polar surface area and low hydrogen bond donors/acceptors are associated "
    "with higher permeability.\n"
    "4) Charge: Neutral molecules typically have better permeability compared to charged "
    "species, which are less likely to diffuse through the hydrophobic lipid bilayer.\n"
    "5) Rigidity: A high degree of rigidity often permeate membranes more easily.\n"
    "6) Aromaticity: The presence of aromatic rings can influence lipophilicity and molecular "
    "interactions with the lipid bilayer, thereby affecting permeability.\n"
    "7) Hydration Energy: Lower hydration energy generally improves membrane permeation.\n"
    "8) Membrane Affinity: Compounds with a balanced affinity for both the aqueous phase and "
    "the lipid bilayer tend to exhibit better PAMPA permeability.\n"
    "Avoid length, style or other bias. After thinking, when you finally reach a conclusion, "
    "clearly provide your evaluation scores within <answer> </answer> tags, i.e., for example, "
    "<answer>3.8</answer>."
)

PAMPA_JUDGE_USER = (
    "\n\n[Question]\n\nPredict the permeability of a given molecule to the artificial membrane "
    "in the Parallel Artificial Membrane Permeability Assay (PAMPA), high or low-to-moderate.\n"
    "Molecule <mol>.\n\n[Assistant's Answer]\n"
)

#: ``truncate_at_final_answer``'s pattern: the candidate is cut at its first match.
PAMPA_FINAL_ANSWER_PATTERN = r"[Ff]inal [Aa]nswer:"

PAIRWISE_JUDGE_SYSTEM = (
    "\n\nYou are a helpful assistant. The assistant first performs a detailed, step-by-step "
    "reasoning process in its mind and then provides the user with the answer. The reasoning "
    "process and answer are enclosed within <think> </think> and <answer> </answer> tags, "
    "respectively, i.e., <think> detailed reasoning process here, explaining each step of your "
    "evaluation for both assistants </think><answer> answer here </answer>. Now the user asks "
    "you to judge the performance of two AI assistants in response to the question. Score "
    "assistants on a scale from 1.0 to 10.0 (higher=better). Criteria includes helpfulness, "
    "relevance, accuracy, and level of detail. After thinking, when you finally reach a "
    "conclusion, clearly provide your evaluation scores within <answer> </answer> tags, i.e., "
    "for example,<answer>3</answer><answer>8</answer>. You MUST score both assitants and judge "
    "one of them as the WINNER WITH A HIGHER SCORE."
)

PAIRWISE_JUDGE_USER = (
    "\n\n[Question]\n\n<<QUESTION>>\n\n[Assistant 1's Answer]\n<<ANSWER1>>\n\n"
    "[Assistant 2's Answer]\n<<ANSWER2>>"
)

#: The assistant prefix of the pairwise judge (``think=True``): "<think>", no newline.
THINK_PREFILL = "<think>"

#: :data:`MOL_LLAMA3_CHAT_TEMPLATE`'s rendering as a Jinja chat template, so that
#: ``apply_chat_template`` gives exactly the hand-written token sequence (the boundaries are
#: special tokens, so tokenising per message, as the original does, or at once agree).
#: ``add_generation_prompt`` has no effect: the assistant header always follows a user turn.
MOL_LLAMA3_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'system' %}"
    "{{- '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\\n\\n' + message['content']"
    " + '<|eot_id|>' }}"
    "{%- elif message['role'] == 'user' %}"
    "{{- '<|start_header_id|>user<|end_header_id|>\\n\\n' + message['content'] + '<|eot_id|>'"
    " + '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{%- elif message['role'] == 'assistant' %}"
    "{{- message['content'] + '<|eot_id|>' }}"
    "{%- endif %}"
    "{%- endfor %}"
)
