"""Helm as helm-controller drives it: a HelmRelease's release name, chart and values (release.py), where the chart
comes from offline (charts.py, pull.py), and `helm template` with a render cache (render.py, controller.py)."""
