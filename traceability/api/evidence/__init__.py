"""REST API of test and commit evidence, and the GitHub / GitLab push webhooks."""
