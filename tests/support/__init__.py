"""Test support: a loopback AWS endpoint (moto) and a counting, fault-injecting proxy in front of it."""
