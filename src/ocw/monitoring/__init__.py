"""The workspaces in the cluster's monitoring: what the component's Probe, PrometheusRule and dashboard look like to
Prometheus and its tools (promtool, PromQL selectors)."""
