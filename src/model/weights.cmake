# Keras weights (HDF5) and the ~/.keras cache
