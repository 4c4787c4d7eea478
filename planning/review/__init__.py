"""Reading a plan: KPIs, the explanation, the independent checker, and the simulation against real demand."""
