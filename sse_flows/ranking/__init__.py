"""Final ranking of candidates: votes, stability and MD results in one table."""
