"""The review page's web app (Flask, Jinja2 templates with autoescaping): pages and a JSON API.

Security, for a page that can write a curator's records:
- it listens on the loopback address only unless the user asks otherwise by an explicit flag (cli.py);
- every request's Host header must name the loopback address and the port served, so a page of
  another site that rebinds its name to 127.0.0.1 cannot read or write (DNS rebinding);
- every request that writes carries the session's token, which only a page this app served holds
  (CSRF), as a header a cross-site form cannot set, with a JSON body;
- study ids are looked up among the records that exist, never joined into a path;
- every string from a paper or a record reaches the page through Jinja's autoescaping (or as JSON
  read by the page's script with textContent), and a Content-Security-Policy allows no inline script.
"""
from __future__ import annotations

import hmac
import secrets

from flask import Flask, Response, abort, jsonify, render_template, request

from ..core.fields import DESCRIBED_STATS
from .actions import Action, ActionError
from .model import (
    STAT_PARTS,
    describe,
    drug_choices,
    figure_names,
    figure_schema,
    item_counts,
    iter_history,
    outcome_choices,
    outcome_figure_schema,
    paper_text,
    read_record,
    segments,
    study_items,
    summaries,
    value_input,
    version_of,
)
from .session import Refused, ReviewSession

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
TOKEN_HEADER = "X-Review-Token"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def allowed_hosts(port: int, host: str = "127.0.0.1") -> set[str]:
    """The Host headers a request may carry: the loopback names (and the host served) with the port."""
    names = set(LOOPBACK_NAMES) | {f"[{host}]" if ":" in host else host}
    return {f"{name}:{port}" for name in names}


def create_app(session: ReviewSession, hosts: set[str]) -> Flask:
    """The app for one session; `hosts` are the Host headers it answers (allowed_hosts)."""
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config.update(REVIEW_HOSTS=set(hosts), REVIEW_TOKEN=secrets.token_urlsafe(32), JSON_SORT_KEYS=False)
    app.jinja_env.autoescape = True   # for every template, whatever its extension
    app.jinja_env.globals.update(describe=describe)

    @app.before_request
    def _guard():
        if request.host not in app.config["REVIEW_HOSTS"]:
            # Plain text with nothing of the session in it: this answer may go to a page of
            # another site whose name now points here (DNS rebinding).
            return Response("421 Misdirected Request: this Host is not served here; open the address "
                            "crmo-extract review printed\n", 421, mimetype="text/plain")
        if request.method not in ("GET", "HEAD"):
            token = request.headers.get(TOKEN_HEADER, "")
            if not hmac.compare_digest(token.encode(), app.config["REVIEW_TOKEN"].encode()):
                abort(403, description="missing or wrong session token: reload the page")
            origin = request.headers.get("Origin")
            if origin is not None and origin.split("//", 1)[-1] not in app.config["REVIEW_HOSTS"]:
                abort(403, description=f"request from another site ({origin}) refused")
            if not request.is_json:
                abort(415, description="send the action as JSON")

    @app.after_request
    def _headers(response):
        response.headers.update({
            "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"})
        return response

    @app.errorhandler(Refused)
    def _refused(exc: Refused):
        return jsonify(ok=False, message=exc.message, details=exc.details), exc.status

    @app.errorhandler(400)
    @app.errorhandler(403)
    @app.errorhandler(404)
    @app.errorhandler(415)
    def _error(exc):
        if request.path.startswith("/api/"):
            return jsonify(ok=False, message=exc.description, details=[]), exc.code
        return render_template("error.html", code=exc.code, message=exc.description, **common()), exc.code

    def common() -> dict:
        return {"token": app.config["REVIEW_TOKEN"], "out_dir": session.out_dir,
                "curator": session.settings.curator, "status": session.status()}

    @app.get("/")
    def studies():
        show = request.args.get("show", "all")
        query = request.args.get("q", "").strip().lower()
        rows = summaries(session.out_dir)
        total = len(rows)
        if show == "to-check":
            rows = [r for r in rows if r.to_check or r.problem]
        if query:
            rows = [r for r in rows if query in r.study_id.lower() or query in (r.source_file or "").lower()]
        return render_template("studies.html", rows=rows, total=total, show=show, query=query, **common())

    @app.get("/study/<study_id>")
    def study(study_id: str):
        try:
            path = session.record_path(study_id)
        except Refused as exc:
            abort(404, description=exc.message)
        record, raw, problem = read_record(path)
        context = dict(study_id=study_id, path=path, problem=problem, version=version_of(raw), **common())
        if record is None:
            return render_template("study.html", record=None, **context)
        items = study_items(record)
        paper = paper_text(record, session.out_dir, session.settings.papers_dir)
        segs, misplaced = segments(paper.text, items, paper.pages) if paper.text is not None else ([], [])
        present = {name for name, fig in record["figures"].items() if fig}
        missing = [n for n in figure_names() if n not in present]
        return render_template(
            "study.html", record=record, items=items, counts=item_counts(items), paper=paper, segments=segs,
            misplaced=misplaced, history={it.id: list(iter_history(record, it)) for it in items},
            add_fields=_add_fields(missing), drugs=drug_choices(), outcomes=outcome_choices(),
            row_input=value_input(outcome_figure_schema("n_treated")), **context)

    @app.get("/favicon.ico")
    def favicon():
        return Response(status=204)

    @app.get("/api/status")
    def status():
        return jsonify(ok=True, **session.status())

    @app.post("/api/study/<study_id>/action")
    def act(study_id: str):
        try:
            action = Action.from_json(request.get_json(silent=True))
        except (ActionError, TypeError) as exc:
            raise Refused(400, f"not saved: {exc}") from None
        saved = session.save(study_id, action)
        return jsonify(ok=True, message=saved.message, version=saved.version, warnings=saved.warnings,
                       merged=saved.merged, rebuilt=saved.tables, **session.status())

    @app.post("/api/rebuild")
    def rebuild():
        return jsonify(ok=True, message=session.rebuild(), **session.status())

    return app


def _add_fields(missing: list[str]) -> list[dict]:
    """The fields a curator may add to this record, with how each asks for its value: the schema's
    figures not in the record (a described statistic, as one figure, when none of its five parts
    is), and site_<bone>."""
    out, seen = [], set()
    for name in missing:
        base, _, part = name.rpartition("_")
        if base in DESCRIBED_STATS and part in STAT_PARTS:
            if base not in seen and all(f"{base}_{p}" in missing for p in STAT_PARTS):
                seen.add(base)
                out.append({"name": base, "kind": "stat",
                            "stat": value_input(figure_schema(f"{base}_stat"))["choices"],
                            "unit": value_input(figure_schema(f"{base}_unit"))["choices"]})
            continue
        out.append({"name": name, **value_input(figure_schema(name))})
    out.append({"name": "site_", "kind": "integer", "choices": []})
    return out

