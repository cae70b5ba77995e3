"""Models: the catalogs, this machine's hardware, downloads, local models and the engine registry."""
