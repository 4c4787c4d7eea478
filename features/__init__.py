"""Data contract, loaders, the seeded sample-data generator and the feature pipeline.

`features` imports no other capcast package: training and serving both call it.
"""

# Marks this package as capcast's own: capcast checks it at start (capcast/packages.py).
__distribution__ = "capcast"
