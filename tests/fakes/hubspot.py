"""A fake HubSpot: a real HTTP server on 127.0.0.1 (an ephemeral port) for OAuth, contacts, forms and the
per-portal ten-second window, plus signed webhook delivery to the app.

    with HubSpotFake(client_id="cid", client_secret="secret") as fake:
        settings = make_settings(..., hubspot_api_url=fake.url, hubspot_auth_url=fake.authorize_url)
        fake.portal(4242)   # a HubSpot account; the authorize page "installs" into it
        ...
        fake.revoke(4242)   # the app is uninstalled: refresh gives BAD_REFRESH_TOKEN

Behaves like HubSpot where the app can tell: form-encoded token endpoint with client_secret_post, codes used
once, 30-minute access tokens (``access_ttl``), token info with ``hub_id``, list paging by ``after``, search
with 200 a page and the 10,000 cap (HTTP 400 past it), batch of at most 100, 409 on a duplicate email,
archived and merged contacts, and the rolling ten-second window with HubSpot's 429 body (``rate_limit`` and
``rate_window`` configurable for fast tests; ``search_per_second`` for the search API).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx

SEARCH_CAP = 10_000


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


@dataclass
class FakeContact:
    id: str
    properties: dict[str, str | None]
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    archived: bool = False
    merged_into: str | None = None

    def body(self, props: list[str] | None = None) -> dict[str, Any]:
        wanted = props or ["email", "firstname", "lastname"]
        values = {k: self.properties.get(k) for k in wanted}
        values["hs_object_id"] = self.id
        values["lastmodifieddate"] = _iso(self.updated)
        return {
            "id": self.id,
            "properties": values,
            "createdAt": _iso(self.created),
            "updatedAt": _iso(self.updated),
            "archived": self.archived,
        }


@dataclass
class FakePortal:
    portal_id: int
    revoked: bool = False
    contacts: dict[str, FakeContact] = field(default_factory=dict)
    submissions: list[dict[str, Any]] = field(default_factory=list)
    calls: deque[float] = field(default_factory=deque)
    search_calls: deque[float] = field(default_factory=deque)
    next_id: int = 1000
    _sorted_ids: list[int] = field(default_factory=list)

    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    def sorted_ids(self) -> list[int]:
        """Every contact id in order (contacts are never removed, only archived: rebuilt when one is added),
        so a list page is a bisect and a short walk, not a sort of the whole portal."""
        if len(self._sorted_ids) != len(self.contacts):
            self._sorted_ids = sorted(int(i) for i in self.contacts)
        return self._sorted_ids


@dataclass
class _Token:
    portal_id: int
    expires: float
    refresh_token: str


class HubSpotFake:
    def __init__(
        self,
        *,
        client_id: str = "fake-client-id",
        client_secret: str = "fake-client-secret",
        access_ttl: int = 1800,
        rate_limit: int = 110,
        rate_window: float = 10.0,
        search_per_second: int = 5,
        latency: float = 0.0,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_ttl = access_ttl
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.search_per_second = search_per_second
        self.latency = latency
        # Seconds the token endpoint takes to refresh (widens the window two refreshers could race in).
        self.refresh_latency = 0.0
        self.portals: dict[int, FakePortal] = {}
        self.codes: dict[str, tuple[int, str]] = {}  # code -> (portal, redirect_uri)
        self.tokens: dict[str, _Token] = {}
        self.refresh_tokens: dict[str, int] = {}
        self.installing_portal: int | None = None
        self.refreshes = 0
        self.rate_limited: dict[int, int] = {}  # portal -> number of 429s sent
        self.requests: list[tuple[str, str, int | None]] = []  # (method, path, portal)
        self.token_requests: list[dict[str, str]] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- set-up ---------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def authorize_url(self) -> str:
        return self.url + "/oauth/authorize"

    def portal(self, portal_id: int) -> FakePortal:
        with self.lock:
            found = self.portals.get(portal_id)
            if found is None:
                found = self.portals[portal_id] = FakePortal(portal_id)
            if self.installing_portal is None:
                self.installing_portal = portal_id
            return found

    def install_into(self, portal_id: int) -> None:
        """The portal the next authorize page approves for."""
        self.portal(portal_id)
        self.installing_portal = portal_id

    def revoke(self, portal_id: int) -> None:
        """The app is uninstalled: every token of the portal stops working."""
        with self.lock:
            self.portal(portal_id).revoked = True
            for token in [t for t, v in self.tokens.items() if v.portal_id == portal_id]:
                del self.tokens[token]

    def expire_access_tokens(self) -> None:
        with self.lock:
            for token in self.tokens.values():
                token.expires = 0

    def add_contact(self, portal_id: int, **properties: str | None) -> FakeContact:
        portal = self.portal(portal_id)
        with self.lock:
            contact = FakeContact(portal.new_id(), dict(properties))
            portal.contacts[contact.id] = contact
            return contact

    def merge(self, portal_id: int, primary: str, merged: str) -> None:
        portal = self.portal(portal_id)
        with self.lock:
            portal.contacts[merged].merged_into = primary
            portal.contacts[merged].archived = True
            # As HubSpot: the survivor lists the ids merged into it and counts as modified.
            survivor = portal.contacts[primary]
            ids = [i for i in (survivor.properties.get("hs_merged_object_ids") or "").split(";") if i]
            survivor.properties["hs_merged_object_ids"] = ";".join([*ids, merged])
            survivor.updated = time.time()

    def update_contact(self, portal_id: int, contact_id: str, **properties: str | None) -> None:
        portal = self.portal(portal_id)
        with self.lock:
            portal.contacts[contact_id].properties.update(properties)
            portal.contacts[contact_id].updated = time.time()

    def delete_contact(self, portal_id: int, contact_id: str) -> None:
        """Archived, as HubSpot's delete does (listed with ``archived=true``)."""
        portal = self.portal(portal_id)
        with self.lock:
            portal.contacts[contact_id].archived = True
            portal.contacts[contact_id].updated = time.time()

    def issue_tokens(self, portal_id: int) -> dict[str, Any]:
        """Tokens as the token endpoint would give them (for tests that start from a connected portal)."""
        self.portal(portal_id)
        with self.lock:
            return self._issue(portal_id, refresh_token=None)

    def _issue(self, portal_id: int, *, refresh_token: str | None) -> dict[str, Any]:
        access = "fake-at-" + secrets.token_urlsafe(24)
        refresh = refresh_token or "fake-rt-" + secrets.token_urlsafe(24)
        self.tokens[access] = _Token(portal_id, time.time() + self.access_ttl, refresh)
        self.refresh_tokens[refresh] = portal_id
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": self.access_ttl,
            "token_type": "bearer",
            "hub_id": portal_id,
            "scopes": ["oauth", "crm.objects.contacts.read", "crm.objects.contacts.write", "forms"],
        }

    # --- webhooks to the app --------------------------------------------------------------------------

    def sign_v3(self, method: str, url: str, body: bytes, timestamp_ms: int) -> str:
        message = method.encode() + url.encode() + body + str(timestamp_ms).encode()
        digest = hmac.new(self.client_secret.encode(), message, hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    def deliver_webhook(
        self, url: str, events: list[dict[str, Any]], *, timestamp_ms: int | None = None
    ) -> httpx.Response:
        """POST a signed (v3) batch of events to the app, as HubSpot does."""
        body = json.dumps(events).encode()
        ts = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
        headers = {
            "content-type": "application/json",
            "X-HubSpot-Signature-v3": self.sign_v3("POST", url, body, ts),
            "X-HubSpot-Request-Timestamp": str(ts),
        }
        return httpx.post(url, content=body, headers=headers)

    # --- server ---------------------------------------------------------------------------------------

    def __enter__(self) -> HubSpotFake:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # --- the window -----------------------------------------------------------------------------------

    def _over_limit(self, portal: FakePortal, *, search: bool) -> bool:
        now = time.monotonic()
        window, limit = (1.0, self.search_per_second) if search else (self.rate_window, self.rate_limit)
        calls = portal.search_calls if search else portal.calls
        while calls and calls[0] <= now - window:
            calls.popleft()
        if len(calls) >= limit:
            self.rate_limited[portal.portal_id] = self.rate_limited.get(portal.portal_id, 0) + 1
            return True
        calls.append(now)
        return False


class _Handler(BaseHTTPRequestHandler):
    owner: HubSpotFake
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # --- plumbing -------------------------------------------------------------------------------------

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, category: str, message: str, **extra: Any) -> None:
        self._send(status, {"status": "error", "message": message, "category": category, **extra})

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json(self) -> Any:
        raw = self._body()
        return json.loads(raw) if raw else {}

    def _portal(self, *, search: bool = False) -> FakePortal | None:
        """The calling portal by its bearer token; answers 401 / 429 itself and returns None then."""
        fake = self.owner
        auth = self.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip()
        with fake.lock:
            found = fake.tokens.get(token)
            if found is None or found.expires <= time.time():
                fake.requests.append((self.command, self.path, None))
                self._error(
                    401,
                    "EXPIRED_AUTHENTICATION" if found else "INVALID_AUTHENTICATION",
                    "The OAuth token used to make this call expired."
                    if found
                    else "Authentication credentials not found.",
                )
                return None
            portal = fake.portals[found.portal_id]
            fake.requests.append((self.command, self.path, portal.portal_id))
            if fake._over_limit(portal, search=False) or (search and fake._over_limit(portal, search=True)):
                policy = "SECONDLY" if search else "TEN_SECONDLY_ROLLING"
                self._send(
                    429,
                    {
                        "status": "error",
                        "message": "You have reached your ten_secondly_rolling limit."
                        if not search
                        else "You have reached your secondly limit.",
                        "errorType": "RATE_LIMIT",
                        "correlationId": secrets.token_hex(8),
                        "policyName": policy,
                    },
                )
                return None
        if fake.latency:
            time.sleep(fake.latency)
        return portal

    # --- routes ---------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v for k, v in parse_qs(url.query).items()}
        parts = [p for p in url.path.split("/") if p]
        if url.path == "/oauth/authorize":
            return self._authorize(query)
        if parts[:3] == ["oauth", "v1", "access-tokens"] and len(parts) == 4:
            return self._token_info(parts[3])
        if parts[:4] == ["crm", "v3", "objects", "contacts"]:
            portal = self._portal()
            if portal is None:
                return None
            if len(parts) == 4:
                return self._list(portal, query)
            return self._get(portal, parts[4], query)
        return self._error(404, "OBJECT_NOT_FOUND", "Not found.")

    def do_POST(self) -> None:
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        if url.path == "/oauth/v1/token":
            return self._token()
        if parts[:5] == ["submissions", "v3", "integration", "secure", "submit"] and len(parts) == 7:
            portal = self._portal()
            if portal is None:
                return None
            body = self._json()
            if str(portal.portal_id) != parts[5]:
                return self._error(403, "FORBIDDEN", "This token cannot submit to that portal.")
            return self._submit_form(portal, parts[6], body)
        if parts[:4] != ["crm", "v3", "objects", "contacts"]:
            return self._error(404, "OBJECT_NOT_FOUND", "Not found.")
        tail = parts[4:]
        portal = self._portal(search=tail == ["search"])
        if portal is None:
            return None
        body = self._json()
        if tail == []:
            return self._create(portal, body)
        if tail == ["search"]:
            return self._search(portal, body)
        if tail == ["batch", "read"]:
            return self._batch_read(portal, body)
        if tail == ["batch", "upsert"]:
            return self._batch_upsert(portal, body)
        return self._error(404, "OBJECT_NOT_FOUND", "Not found.")

    def do_PATCH(self) -> None:
        parts = [p for p in urlparse(self.path).path.split("/") if p]
        if parts[:4] != ["crm", "v3", "objects", "contacts"] or len(parts) != 5:
            return self._error(404, "OBJECT_NOT_FOUND", "Not found.")
        portal = self._portal()
        if portal is None:
            return None
        body = self._json()
        with self.owner.lock:
            contact = portal.contacts.get(parts[4])
            if contact is None or contact.archived:
                return self._error(404, "OBJECT_NOT_FOUND", "resource not found")
            contact.properties.update(body.get("properties") or {})
            contact.updated = time.time()
            return self._send(200, contact.body(list(contact.properties)))

    # --- OAuth ----------------------------------------------------------------------------------------

    def _authorize(self, query: dict[str, list[str]]) -> None:
        fake = self.owner
        redirect = (query.get("redirect_uri") or [""])[0]
        state = (query.get("state") or [""])[0]
        if (query.get("client_id") or [""])[0] != fake.client_id or not redirect:
            return self._error(400, "VALIDATION_ERROR", "Unknown client or no redirect_uri.")
        if fake.installing_portal is None:
            location = (
                redirect
                + "?"
                + urlencode({"error": "access_denied", "error_description": "No account.", "state": state})
            )
        else:
            code = "fake-code-" + secrets.token_urlsafe(16)
            with fake.lock:
                fake.codes[code] = (fake.installing_portal, redirect)
            location = redirect + "?" + urlencode({"code": code, "state": state})
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _token(self) -> None:
        fake = self.owner
        form = {k: v[0] for k, v in parse_qs(self._body().decode()).items()}
        with fake.lock:
            fake.token_requests.append(form)
            if form.get("client_id") != fake.client_id or form.get("client_secret") != fake.client_secret:
                return self._send(400, {"status": "BAD_CLIENT_ID", "message": "missing or unknown client id"})
            grant = form.get("grant_type")
            if grant == "authorization_code":
                found = fake.codes.pop(form.get("code", ""), None)
                if found is None or found[1] != form.get("redirect_uri"):
                    return self._send(
                        400, {"status": "BAD_AUTH_CODE", "message": "missing or unknown auth code"}
                    )
                return self._send(200, fake._issue(found[0], refresh_token=None))
        if form.get("grant_type") == "refresh_token" and fake.refresh_latency:
            time.sleep(fake.refresh_latency)
        with fake.lock:
            if grant == "refresh_token":
                refresh = form.get("refresh_token", "")
                portal_id = fake.refresh_tokens.get(refresh)
                if portal_id is None or fake.portals[portal_id].revoked:
                    return self._send(
                        400, {"status": "BAD_REFRESH_TOKEN", "message": "missing or invalid refresh token"}
                    )
                fake.refreshes += 1
                return self._send(200, fake._issue(portal_id, refresh_token=refresh))
        return self._send(400, {"status": "BAD_GRANT_TYPE", "message": "unsupported grant_type"})

    def _token_info(self, token: str) -> None:
        fake = self.owner
        with fake.lock:
            found = fake.tokens.get(token)
            if found is None or found.expires <= time.time():
                return self._error(404, "OBJECT_NOT_FOUND", "Token not found.")
            return self._send(
                200,
                {
                    "token": token,
                    "user": "owner@example.com",
                    "hub_domain": f"portal-{found.portal_id}.example.com",
                    "scopes": ["oauth", "crm.objects.contacts.read", "crm.objects.contacts.write", "forms"],
                    "hub_id": found.portal_id,
                    "app_id": 1,
                    "expires_in": int(found.expires - time.time()),
                    "user_id": 7,
                    "token_type": "access",
                },
            )

    # --- contacts -------------------------------------------------------------------------------------

    def _live(self, portal: FakePortal, *, archived: bool = False) -> list[FakeContact]:
        return sorted((c for c in portal.contacts.values() if _listed(c, archived)), key=lambda c: int(c.id))

    def _list(self, portal: FakePortal, query: dict[str, list[str]]) -> None:
        limit = min(int((query.get("limit") or ["10"])[0]), 100)
        after = int((query.get("after") or ["0"])[0])
        archived = (query.get("archived") or ["false"])[0].lower() == "true"
        props = query.get("properties")
        rows: list[FakeContact] = []
        with self.owner.lock:
            ids = portal.sorted_ids()
            for i in range(bisect.bisect_right(ids, after), len(ids)):
                c = portal.contacts[str(ids[i])]
                if _listed(c, archived):
                    rows.append(c)
                    if len(rows) > limit:
                        break
        page = rows[:limit]
        body: dict[str, Any] = {"results": [c.body(props) for c in page]}
        if len(rows) > limit:
            body["paging"] = {"next": {"after": page[-1].id, "link": "?after=" + page[-1].id}}
        return self._send(200, body)

    def _get(self, portal: FakePortal, contact_id: str, query: dict[str, list[str]]) -> None:
        with self.owner.lock:
            contact = portal.contacts.get(contact_id)
            # A merged-away id answers with the contact it was merged into (as HubSpot does).
            while contact is not None and contact.merged_into is not None:
                contact = portal.contacts.get(contact.merged_into)
            archived = (query.get("archived") or ["false"])[0].lower() == "true"
            if contact is None or contact.archived != archived:
                return self._error(404, "OBJECT_NOT_FOUND", "resource not found")
            return self._send(200, contact.body(query.get("properties")))

    def _email_owner(self, portal: FakePortal, email: str) -> FakeContact | None:
        for c in portal.contacts.values():
            if not c.archived and (c.properties.get("email") or "").lower() == email.lower():
                return c
        return None

    def _create(self, portal: FakePortal, body: dict[str, Any]) -> None:
        props = dict(body.get("properties") or {})
        with self.owner.lock:
            email = props.get("email")
            if email and (existing := self._email_owner(portal, email)) is not None:
                return self._error(409, "CONFLICT", f"Contact already exists. Existing ID: {existing.id}")
            contact = FakeContact(portal.new_id(), props)
            portal.contacts[contact.id] = contact
            return self._send(201, contact.body(list(props)))

    def _search(self, portal: FakePortal, body: dict[str, Any]) -> None:
        limit = int(body.get("limit") or 10)
        after = int(body.get("after") or 0)
        if limit > 200:
            return self._error(400, "VALIDATION_ERROR", "limit must be at most 200")
        if after + limit > SEARCH_CAP:
            return self._error(400, "VALIDATION_ERROR", "Paging past 10,000 results is not supported.")
        groups = body.get("filterGroups") or []
        with self.owner.lock:
            rows = [c for c in self._live(portal) if not c.archived and _matches(c, groups)]
        for sort in reversed(body.get("sorts") or []):
            name = sort.get("propertyName") if isinstance(sort, dict) else str(sort)
            if name in ("hs_object_id", "lastmodifieddate"):
                descending = sort.get("direction") == "DESCENDING"
                rows.sort(key=_sort_key(name), reverse=descending)
        page = rows[after : after + limit]
        out: dict[str, Any] = {"total": len(rows), "results": [c.body(body.get("properties")) for c in page]}
        if after + limit < len(rows):
            out["paging"] = {"next": {"after": str(after + limit)}}
        return self._send(200, out)

    def _batch_read(self, portal: FakePortal, body: dict[str, Any]) -> None:
        inputs = body.get("inputs") or []
        if len(inputs) > 100:
            return self._error(400, "VALIDATION_ERROR", "at most 100 inputs")
        started = _iso(time.time())
        with self.owner.lock:
            if body.get("idProperty") == "email":  # unique property: read by email (no match is left out)
                found = [self._email_owner(portal, str(i.get("id"))) for i in inputs]
            else:
                found = [portal.contacts.get(str(i.get("id"))) for i in inputs]
            results = [c.body(body.get("properties")) for c in found if c is not None and not c.archived]
        return self._send(
            200,
            {
                "status": "COMPLETE",
                "results": results,
                "startedAt": started,
                "completedAt": _iso(time.time()),
            },
        )

    def _batch_upsert(self, portal: FakePortal, body: dict[str, Any]) -> None:
        inputs = body.get("inputs") or []
        if len(inputs) > 100:
            return self._error(400, "VALIDATION_ERROR", "at most 100 inputs")
        started = _iso(time.time())
        results = []
        with self.owner.lock:
            for item in inputs:
                if item.get("idProperty") != "email":
                    return self._error(
                        400, "VALIDATION_ERROR", "Unable to perform update/upsert by non-unique 0-1 property"
                    )
                props = dict(item.get("properties") or {})
                existing = self._email_owner(portal, str(item.get("id")))
                if existing is None:
                    existing = FakeContact(portal.new_id(), {"email": str(item.get("id")), **props})
                    portal.contacts[existing.id] = existing
                    new = True
                else:
                    existing.properties.update(props)
                    existing.updated = time.time()
                    new = False
                results.append({**existing.body(list(existing.properties)), "new": new})
        return self._send(
            200,
            {
                "status": "COMPLETE",
                "results": results,
                "startedAt": started,
                "completedAt": _iso(time.time()),
            },
        )

    # --- forms (secure submit) -----------------------------------------------------------------------

    def _submit_form(self, portal: FakePortal, form_guid: str, body: dict[str, Any]) -> None:
        """Validates as HubSpot's v3 secure submit does (400 with ``errors[].errorType``), then creates or
        updates the contact with the submitted email -- a submitted phone overwrites the contact's."""
        errors = _form_errors(body)
        if errors:
            return self._send(
                400,
                {
                    "status": "error",
                    "message": "The request is not valid",
                    "errors": [{"message": m, "errorType": t} for t, m in errors],
                    "correlationId": secrets.token_hex(8),
                },
            )
        props: dict[str, str | None] = {str(f["name"]): str(f["value"]) for f in body["fields"]}
        with self.owner.lock:
            portal.submissions.append({"formGuid": form_guid, **body})
            existing = self._email_owner(portal, str(props["email"]))
            if existing is None:
                existing = FakeContact(portal.new_id(), props)
                portal.contacts[existing.id] = existing
            else:
                existing.properties.update(props)
                existing.updated = time.time()
        return self._send(200, {"inlineMessage": "Thanks for submitting the form."})


_HUTK = re.compile(r"^[0-9a-f]{32}$")


def _form_errors(body: dict[str, Any]) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    fields = body.get("fields")
    if not isinstance(fields, list) or not fields or len(fields) > 1000:
        return [("REQUIRED_FIELD", "Error in 'fields'. 1 to 1000 fields are required")]
    names: dict[str, str] = {}
    for f in fields:
        if not (isinstance(f, dict) and isinstance(f.get("name"), str) and isinstance(f.get("value"), str)):
            errors.append(("INVALID_METADATA", "Error in 'fields'. Each field needs a name and a value"))
            continue
        if f.get("objectTypeId", "0-1") != "0-1":
            errors.append(("FIELD_NOT_IN_FORM_DEFINITION", f"Error in 'fields.{f['name']}'. Unknown object"))
        if len(f["value"]) > 65536:
            errors.append(("INPUT_TOO_LARGE", f"Error in 'fields.{f['name']}'. Value too large"))
        names[f["name"]] = f["value"]
    email = names.get("email", "")
    if not email:
        errors.append(("REQUIRED_FIELD", "Error in 'fields.email'. Required field 'email' is missing"))
    elif "@" not in email or email.startswith("@") or "." not in email.rsplit("@", 1)[1]:
        errors.append(("INVALID_EMAIL", "Error in 'fields.email'. Invalid email address"))
    submitted = body.get("submittedAt")
    if submitted is not None and not str(submitted).isdigit():
        errors.append(("INVALID_SUBMISSION_TIME", "Error in 'submittedAt'. Milliseconds since epoch"))
    context = body.get("context") or {}
    hutk = context.get("hutk")
    if hutk is not None and not _HUTK.match(str(hutk)):
        errors.append(("INVALID_HUTK", "Error in 'context.hutk'. Invalid HubSpot user token"))
    page_uri = context.get("pageUri")
    if page_uri is not None and not str(page_uri).startswith(("http://", "https://")):
        errors.append(("INVALID_PAGE_URI", "Error in 'context.pageUri'. Invalid page URI"))
    legal = body.get("legalConsentOptions")
    if legal is not None:
        consent = legal.get("consent") if isinstance(legal, dict) else None
        if not isinstance(consent, dict):
            errors.append(("INVALID_LEGAL_OPTION_FORMAT", "Error in 'legalConsentOptions'"))
        elif consent.get("consentToProcess") is not True:
            errors.append(("MISSING_PROCESSING_CONSENT", "Error in 'legalConsentOptions'. No consent"))
        elif not consent.get("text"):
            errors.append(("MISSING_PROCESSING_CONSENT_TEXT", "Error in 'legalConsentOptions'. No text"))
    return errors


def _listed(contact: FakeContact, archived: bool) -> bool:
    """In the list of live contacts (not merged away), or of archived ones (merged-away included)."""
    return contact.archived if archived else not contact.archived and contact.merged_into is None


def _matches(contact: FakeContact, groups: list[dict[str, Any]]) -> bool:
    if not groups:
        return True
    for group in groups:
        ok = True
        for f in group.get("filters") or []:
            value = _prop(contact, f.get("propertyName", "")) or ""
            wanted = str(f.get("value", ""))
            op = f.get("operator")
            if op in _NUMERIC:  # ids and dates (ms epoch) compare as numbers, as HubSpot does for them
                ok = ok and bool(value) and _NUMERIC[op](int(value), int(wanted))
            elif op == "EQ":
                ok = ok and value.lower() == wanted.lower()
            elif op == "CONTAINS_TOKEN":
                ok = ok and wanted.lower().strip("*") in value.lower()
            elif op == "HAS_PROPERTY":
                ok = ok and bool(value)
            else:
                ok = False
        if ok:
            return True
    return False


_NUMERIC = {
    "GT": lambda a, b: a > b,
    "GTE": lambda a, b: a >= b,
    "LT": lambda a, b: a < b,
    "LTE": lambda a, b: a <= b,
}


def _sort_key(name: str) -> Callable[[FakeContact], int]:
    return lambda c: int(_prop(c, name) or 0)


def _prop(contact: FakeContact, name: str) -> str | None:
    if name == "hs_object_id":
        return contact.id
    if name == "lastmodifieddate":
        return str(int(contact.updated * 1000))
    return contact.properties.get(name)
