"""A company identity provider for the tests, on 127.0.0.1: OpenID Connect's authorization-code flow with PKCE, the
way Microsoft Entra ID, Google Workspace or Keycloak run it for st.login. Its sign-in page asks only for an e-mail
address (no password: whoever types an address is that person); ID tokens are RS256-signed with joserfc, the JOSE
library Authlib itself uses, and checked by Streamlit's Authlib client against the keys published here.

    with OidcProvider("kpi-dashboard", "client-secret", groups={"kim@example.com": ["kpi-finance"]}) as idp:
        idp.metadata_url  # -> [auth] server_metadata_url
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import RSAKey


class OidcProvider:
    """Start on enter, stop on exit; `issued` lists the e-mail addresses it signed ID tokens for."""

    def __init__(self, client_id: str, client_secret: str, groups: dict[str, list[str]] | None = None):
        self.client_id, self.client_secret, self.groups = client_id, client_secret, groups or {}
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})
        self.codes: dict[str, dict] = {}
        self.issued: list[str] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet: pytest shows failures, not requests
                pass

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path == "/.well-known/openid-configuration":
                    self._json(provider.metadata())
                elif url.path == "/jwks":
                    self._json({"keys": [provider.key.as_dict(private=False)]})
                elif url.path == "/authorize":
                    self._page(provider.sign_in_page(parse_qs(url.query)))
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                body = parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
                url = urlparse(self.path)
                if url.path == "/authorize":
                    self.send_response(302)
                    self.send_header("Location", provider.authorize(body))
                    self.end_headers()
                elif url.path == "/token":
                    status, doc = provider.token(body, self.headers.get("Authorization"))
                    self._json(doc, status)
                else:
                    self.send_error(404)

            def _json(self, doc: dict, status: int = 200) -> None:
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _page(self, text: str) -> None:
                data = text.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.metadata_url = f"{self.issuer}/.well-known/openid-configuration"

    def __enter__(self) -> "OidcProvider":
        threading.Thread(target=self.server.serve_forever, name="test-oidc-provider", daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def metadata(self) -> dict:
        return {"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"]}

    def sign_in_page(self, query: dict[str, list[str]]) -> str:
        """The provider's own sign-in page: an e-mail address, and the request's parameters carried along."""
        if query.get("client_id", [""])[0] != self.client_id:
            return "<h1>unknown client</h1>"
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v[0])}">'
                         for k, v in query.items())
        return ("<!doctype html><title>Test company sign-in</title><h1>Test company sign-in</h1>"
                f'<form method="post" action="/authorize">{hidden}'
                '<label>E-mail <input name="login_email" type="email"></label>'
                '<button type="submit">Continue</button></form>')

    def authorize(self, form: dict[str, list[str]]) -> str:
        """The redirect back to the app with a one-time code for what the person typed."""
        get = lambda k: form.get(k, [""])[0]  # noqa: E731
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"email": get("login_email"), "redirect_uri": get("redirect_uri"), "nonce": get("nonce"),
                            "challenge": get("code_challenge"), "method": get("code_challenge_method")}
        return f"{get('redirect_uri')}?{urlencode({'code': code, 'state': get('state')})}"

    def token(self, form: dict[str, list[str]], authorization: str | None) -> tuple[int, dict]:
        """Exchange a code for tokens, after checking the client, the redirect and the PKCE verifier."""
        get = lambda k: form.get(k, [""])[0]  # noqa: E731
        client = (get("client_id"), get("client_secret"))
        if authorization and authorization.startswith("Basic "):
            client = tuple(base64.b64decode(authorization[6:]).decode().split(":", 1))
        if client != (self.client_id, self.client_secret):
            return 401, {"error": "invalid_client"}
        grant = self.codes.pop(get("code"), None)
        if grant is None or grant["redirect_uri"] != get("redirect_uri"):
            return 400, {"error": "invalid_grant"}
        if grant["challenge"]:
            verifier = hashlib.sha256(get("code_verifier").encode()).digest()
            if base64.urlsafe_b64encode(verifier).rstrip(b"=").decode() != grant["challenge"]:
                return 400, {"error": "invalid_grant", "error_description": "PKCE verifier does not match"}
        now = int(time.time())
        email = grant["email"]
        claims = {"iss": self.issuer, "sub": hashlib.sha256(email.encode()).hexdigest()[:20], "aud": self.client_id,
                  "iat": now, "exp": now + 300, "email": email, "email_verified": True,
                  "name": email.split("@")[0], "groups": self.groups.get(email, [])}
        if grant["nonce"]:
            claims["nonce"] = grant["nonce"]
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key)
        self.issued.append(email)
        return 200, {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer", "expires_in": 300,
                     "id_token": id_token, "scope": "openid email profile"}
