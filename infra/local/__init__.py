"""The local stack: the whole app on a laptop, no AWS account, no Docker.

`python -m infra.local` (or `make dev`) starts DynamoDB Local (AWS's local
engine, a child process) behind a loopback AWS endpoint that adds the backup
API, a local "CloudFront" in front of the same Lambda handlers that run in AWS,
a stream poller that emulates the event source mapping, and the backup
schedule. Everything it builds comes from `infra.topology`.
"""
