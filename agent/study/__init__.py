"""Comparing agents: the evaluation harness (``harness``: ``compare.py``), its level sets
(``levelsets``), the agents and what their run files say (``agents``, ``metrics``: the shared
metrics keys, with older files read too), the summary rows and ``summary.md`` (``report``), the
confidence intervals (``stats``), the training protocol that trains every method on equal terms
(``protocol``: ``compare.py --train``), and the memory study (``memory``:
``compare.py --memory-sweep``). Nothing here draws: the plots are ``viz.plots``."""
