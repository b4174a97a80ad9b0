"""A locust suite that puts a realistic trading load on any deployment (see the README's "Load testing")."""
