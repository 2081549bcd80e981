"""Comparing agents: the evaluation harness, its level sets and report, the training protocol
that trains every method on equal terms, statistics, and the memory study."""
