"""Code shared by every function package: keys, schemas, histogram maths, HTTP problems.

`services/` is the root of each Lambda package, so this is importable as `shared`
both in AWS and in tests.
"""
