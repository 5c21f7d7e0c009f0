"""fit / evaluate / predict: devices, precision, the epoch and step loop, firing callbacks,
checkpoint capture. Calls the recipe's step; knows nothing of file formats."""
