"""Who may see what: per-company access to the warehouse."""
