"""The shadow replay: every historical first sourcing decision as the routing feed's rule would
have made it, with the penalties of its own day, and the delivery model's estimate of both
choices (`omsi replay`; docs/closed-loop.md)."""
