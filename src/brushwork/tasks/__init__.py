"""Tasks: the store (the record), the queue (what to run next), the worker (who runs it)."""
