"""Rules-based allocation across strategies, fund limits and book routing."""
