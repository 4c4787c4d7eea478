"""Solving: the CP-SAT model, its LP bound, the constructive plan and hint, neighbourhood search, solve, diagnosis."""
