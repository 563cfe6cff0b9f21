"""Reports and exports built from the trace engine."""
