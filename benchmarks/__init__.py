"""Captcha Lab benchmarks: `python -m benchmarks [--data FOLDER ...] [--quick]` measures the product against the seed's recipe."""
