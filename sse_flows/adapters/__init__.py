"""Adapters around the private APIs of third-party packages, one module per package.

Everything sse-flows needs from a package's internals goes through its adapter, so a
change in that package breaks one small, tested module:

* :mod:`sse_flows.adapters.mongomock_store`: mongomock-persistence's server store (the
  file behind the embedded LaunchPad) and FireWorks' ``MongoClient`` hook.
"""
