"""From validated files to a plan: the desired state, its diff against the ledger, rendering."""
