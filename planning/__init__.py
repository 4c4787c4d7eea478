"""Capacity planning on CP-SAT: which shifts to staff, how fast each line runs, when maintenance happens.

Takes demand as plain numbers per product family per day (from any forecast
source) and imports no ML code.
"""
