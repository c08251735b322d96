"""`ocw install`: the project's GitOps tree into the user's cluster repository, and workspaces added later."""
