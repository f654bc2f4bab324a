"""Test support: the loopback servers, the endpoint's fixtures, one fake clock and one log collector."""
