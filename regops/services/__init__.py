"""Writes of RegOps: environments, gate decisions (the ledger), deployments, integration approvals."""
