"""The closed-loop routing experiment: one world, two routings, compared order by order."""
