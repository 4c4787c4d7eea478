"""Stock event ledger, positions and available-to-promise (to be built; see the inventory issue)."""
