"""Practices: what reps do, measured per opportunity before the outcome was known, and which of
those practices go with winning once the case mix is accounted for (method.md section 6)."""
