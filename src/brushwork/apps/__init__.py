"""Apps: which app id runs on which engine, with what capabilities and price table."""
