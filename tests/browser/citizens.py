"""A citizen of a browser test module over HTTP, as the PWA calls the API: signed in by SMS code
(the development inbox), with a verified profile; tus uploads; the browser storage that signs a
page in as them (src/api.js keeps its tokens under ``zw.auth``)."""

from __future__ import annotations

import json
import time

import httpx

from tests.tus_helpers import metadata

TUS = {"Tus-Resumable": "1.0.0"}


class SignedInCitizen:
    def __init__(self, base: str, phone: str, name: str, id_number: str) -> None:
        self.base = base
        self.http = httpx.Client(base_url=base, timeout=30)
        r = self.http.post("/api/v1/auth/otp", json={"phone": phone})
        assert r.status_code == 202, r.text
        code = self.http.get("/api/v1/dev/sms", params={"phone": phone}).json()["codes"][0]
        r = self.http.post("/api/v1/auth/token", json={"phone": phone, "code": code})
        assert r.status_code == 200, r.text
        self.tokens = r.json()
        r = self.call("PUT", "/api/v1/me/profile", json={"name": name, "id_number": id_number})
        assert r.status_code == 200, r.text

    def call(self, method: str, path: str, **kw) -> httpx.Response:
        """One request with the citizen's token, refreshed once if it has expired."""
        headers = {"Authorization": f"Bearer {self.tokens['access_token']}", **kw.pop("headers", {})}
        r = self.http.request(method, path, headers=headers, **kw)
        if r.status_code == 401:
            self.refresh()
            headers["Authorization"] = f"Bearer {self.tokens['access_token']}"
            r = self.http.request(method, path, headers=headers, **kw)
        return r

    def refresh(self) -> None:
        r = self.http.post("/api/v1/auth/refresh", json={"refresh_token": self.tokens["refresh_token"]})
        assert r.status_code == 200, r.text
        self.tokens = r.json()

    def upload_file(self, case_id: int, code: str, data: bytes, filename: str) -> None:
        """One material through tus: create, then one PATCH with the whole file."""
        r = self.call("POST", "/api/v1/uploads", headers={
            **TUS, "Upload-Length": str(len(data)),
            "Upload-Metadata": metadata(case_id=case_id, material_id=code, filename=filename)})
        assert r.status_code == 201, r.text
        r = self.call("PATCH", r.headers["Location"], content=data, headers={
            **TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"})
        assert r.status_code == 204, r.text

    def browser_storage(self) -> dict:
        """A Playwright ``storage_state`` in which the PWA is signed in as this citizen."""
        t = self.tokens
        stored = {"access": t["access_token"], "refresh": t["refresh_token"],
                  "expiresAt": int(time.time() * 1000) + t["expires_in"] * 1000}
        return {"cookies": [], "origins": [
            {"origin": self.base, "localStorage": [{"name": "zw.auth", "value": json.dumps(stored)}]}]}
