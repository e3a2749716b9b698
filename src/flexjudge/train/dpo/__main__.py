"""``python -m flexjudge.train.dpo`` / ``accelerate launch -m flexjudge.train.dpo``:
``flexjudge dpo``."""

from flexjudge.cli.dpo_cmd import main

if __name__ == "__main__":
    main()
