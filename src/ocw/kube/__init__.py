"""Kubernetes objects as ocw reads them: one typed layer over the built and rendered YAML."""

# The Kubernetes version ocw checks against unless told otherwise (`--kubernetes-version`): the cluster's.
DEFAULT_KUBERNETES_VERSION = "1.35"
