"""ML features built from the warehouse marts."""
