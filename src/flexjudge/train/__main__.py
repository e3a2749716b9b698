"""``python -m flexjudge.train`` / ``accelerate launch -m flexjudge.train``: ``flexjudge train``."""

from flexjudge.cli.train_cmd import main

if __name__ == "__main__":
    main()
