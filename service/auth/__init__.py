"""Who is calling and what they may do: passwords, sessions, API tokens, CSRF, rate limits, roles."""
