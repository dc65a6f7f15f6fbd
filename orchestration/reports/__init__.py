"""Reports rendered from the warehouse: offline HTML for the companies and the center."""
