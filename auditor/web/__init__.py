"""The web application: auditor serve."""
