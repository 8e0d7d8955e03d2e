"""The review page: `crmo-extract review OUT_DIR` serves a run's records to a curator, who checks
each figure beside the highlighted paper text and accepts, edits, rejects or adds figures.

model.py reads records into what the page shows, actions.py turns a curator's action into the
edited record, session.py saves it (validated, with history, atomically, under the folder's lock)
and rebuilds the tables and pooling, app.py is the web app, server.py starts it.
"""
