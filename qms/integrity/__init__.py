"""What makes the records verifiable after the fact, even against someone who owns the database.

- ``keys``: the secrets that live outside the database: ``AUDIT_KEY`` (keys the audit trail's
  hash chain and seals the records that matter to an auditor) and the Ed25519 checkpoint key.
- ``checkpoints``: signed checkpoints of the chain (length and head digest) kept outside the
  database, which truncation, rollback and a recomputed chain contradict.
- ``chain``: the streaming verification of the chain against the key and the checkpoints.
- ``records``: the registry of record checks (signatures, baselines, approvals, reports…) that
  ``audit_verify`` runs; each app registers its own, so ``qms`` never imports a higher app.
"""
