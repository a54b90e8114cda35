"""The console adapter: a Platform that prints messages as their recipient would read them."""
