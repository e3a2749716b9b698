"""Judging beyond one process: :mod:`flexjudge.scale.ray` runs the judging path on a Ray
cluster with Ray Data (``pip install 'flexjudge[ray]'``; imported on its own, so that this
package needs nothing extra). Sharded runs without Ray are :mod:`flexjudge.run`'s
``--shard i/n`` and ``flexjudge merge``."""
