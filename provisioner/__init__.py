"""Hèstia integration provisioner."""
