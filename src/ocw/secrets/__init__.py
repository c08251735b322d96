"""Doppler as the single source of every workspace secret.

Commands (`ocw secrets seed-copilot | init | status`) live in `command.py`. Other commands reuse the store:

    from ocw.secrets.store import open_store
    store = open_store(project=None, config=None)   # flags, then DOPPLER_PROJECT/CONFIG, doppler setup, k3s-cluster/prd
    store.names() -> set[str]                       # every variable name in the config; no value is read
    store.get(name) -> str | None                   # one raw value, only when the caller really needs it
    store.get_many(names) -> dict[str, str]         # several values in one round trip (absent names left out)
    store.set(name, value)                          # value over stdin (CLI) or a request body (API), never argv
    store.last_changed(names) -> dict[str, str]     # ISO times from the config's change log

`open_store` uses the Doppler CLI when `doppler` is on PATH, else the REST API with DOPPLER_TOKEN; both honour
DOPPLER_API_HOST. Failures raise `ocw.errors.OcwError` naming the cause (not logged in, unknown project or config,
timeout). `ocw.secrets.targets.select_workspaces(repo)` gives each workspace's variable names from the built tree,
and `ocw.secrets.copilot` reads and canonicalises OpenCode's Copilot login.
"""
