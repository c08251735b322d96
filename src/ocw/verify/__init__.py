"""`ocw verify`: the roadmap's success criteria, checked against a live cluster (or a local workspace) in one command.

`registry.py` names every check; `arguments.py` and `command.py` wire the CLI; each concern has its own module.
"""
