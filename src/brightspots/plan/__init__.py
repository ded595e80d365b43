"""The key-account plan: ideal-customer fit, account value and tier, effort per account, how
well effort follows value, and a plan that spends each rep's time in proportion (issue 10)."""
