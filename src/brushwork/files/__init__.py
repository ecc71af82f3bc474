"""File bytes: where inputs and outputs live, and how URL inputs are fetched safely."""
