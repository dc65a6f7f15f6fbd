"""The Delta lake: bronze tables written exactly once per landing file."""
