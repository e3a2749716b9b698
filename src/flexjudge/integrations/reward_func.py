"""OpenRLHF's local reward mode, by file: ``--reward.remote_url`` set to this file's path
(``python -c "import flexjudge.integrations.reward_func as m; print(m.__file__)"``). OpenRLHF
loads the file and calls ``reward_func(queries, prompts, labels)``; the judge is named by the
environment (``FLEXJUDGE_URL`` or ``FLEXJUDGE_MODEL``: see
:mod:`flexjudge.integrations.openrlhf`)."""

from flexjudge.integrations.openrlhf import reward_func

__all__ = ["reward_func"]
