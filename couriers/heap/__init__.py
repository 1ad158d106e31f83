"""Heap Connect for S3 as a first-class source.

A Heap bucket holds numbered dumps, each described by a manifest (``manifests/*.json``; a
manifest means its dump is complete). In reading order:

  manifests.py   read and validate manifests, list dumps in dump_id order
  discovery.py   the tables a bucket holds: columns, types (from the Avro schema), row estimates
  setup.py       create the Heap courier and one draft feed per chosen table
  runs.py        heap_run(): load every new dump, table by table, then refresh identity tables
  identity.py    which feeds the identity tables are built from, and their state
"""
