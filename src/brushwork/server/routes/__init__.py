"""One router module per resource; routes stay thin and never run an engine."""
