"""Environments, deployments and release gates (G1–G5) arrive here; see docs/architecture.md."""
