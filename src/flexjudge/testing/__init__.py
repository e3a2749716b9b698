"""Test support that ships with flexjudge: tiny random checkpoints built locally (no hub), for
tests, the offline demo and benchmarks. A fixture layer: nothing in the runtime imports it."""
