"""`ocw verify`: the roadmap's success criteria, checked against a live cluster (or a local workspace) in one command.

`registry.py` names every check; `command.py` wires the CLI; each concern has its own module.
"""
