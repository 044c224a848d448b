"""Scenarios as data: a named list of steps, each a pytest item per deployer."""
