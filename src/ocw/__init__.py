"""opencode-workspaces: the GitOps tree's companion CLI (`ocw`)."""

__version__ = "0.1.0"
