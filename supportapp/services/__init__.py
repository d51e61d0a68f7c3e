"""Use cases: business rules and transaction boundaries. Plain values in, models out."""
