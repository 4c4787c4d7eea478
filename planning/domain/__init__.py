"""The capacity domain: site, demand, service level, locks, labour rules, the plan, and site arithmetic."""
