"""Stock event ledger, positions and available-to-promise (to be built; see the inventory issue)."""

# Marks this package as capcast's own: capcast checks it at start (capcast/packages.py).
__distribution__ = "capcast"
