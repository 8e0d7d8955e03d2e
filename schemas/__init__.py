"""The record schema, shipped as a package of its own so that a wheel carries it.

`record.schema.json` stays here, at the top of the project, and is the one file every record's
"$schema" points to, in a checkout and in an installed copy alike; read it through RECORD_SCHEMA.
"""
from importlib.resources import files
from pathlib import Path

# A regular package installed on disk (pip never installs zipped), so the resource is a real file
# an editor can open from a record's relative "$schema" path.
RECORD_SCHEMA = Path(str(files(__name__) / "record.schema.json"))
