"""`ocw up` / `ocw down` / `ocw ps`: run a workspace on this machine from its own manifests, with the real OpenCode."""
