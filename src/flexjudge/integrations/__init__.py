"""Flex-Judge in RL training loops: reward functions for TRL (:mod:`.trl`), verl
(:mod:`.verl`) and OpenRLHF (:mod:`.openrlhf`, and the ``reward_func.py`` file for its local
mode), judging in this process or through a running ``flexjudge serve``
(:mod:`.client`). None of them needs the server's packages; :mod:`.rewards` holds the one
verdict-to-reward mapping they share with ``/get_reward``."""
