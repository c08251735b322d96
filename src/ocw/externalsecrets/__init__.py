"""Render an ExternalSecret's target the way external-secrets does, from values given on this machine."""
