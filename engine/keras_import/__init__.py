"""Keras 3 `.keras` files -> trainer experiments and weights (importer.py), with h5py and the
standard library only: Keras is not needed at run time."""
