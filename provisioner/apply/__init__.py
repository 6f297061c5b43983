"""The edge that changes things: the order of work, the ledger, the document stores."""
