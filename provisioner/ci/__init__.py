"""What the GitHub workflows call: ledger fetch and push, freshness, review comment, issues."""
