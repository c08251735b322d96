"""Kubernetes objects as ocw reads them: one typed layer over the built and rendered YAML."""
