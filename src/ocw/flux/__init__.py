"""Mirrors of what Flux's kustomize-controller does with a Kustomization: discover, build, substitute."""
