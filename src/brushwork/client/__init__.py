"""The SDK: sync and async clients with the hosted platform's call shape (SPEC §7)."""
