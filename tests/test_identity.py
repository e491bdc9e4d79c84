"""Sign-in by phone code, staff passwords, token rotation and rejection, real-name profiles."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid

import jwt
import pytest
from httpx import AsyncClient
from litestar import Litestar

from api.core import logs
from api.core.errors import InvalidInput, RateLimited
from api.core.ratelimit import RateLimitWindow
from api.identity.ids import mask_id_number, mask_name, mask_phone
from api.identity.models import Citizen, OtpCode, Staff
from api.identity.services import OTP_CLIENT_LIMITER, OTP_PER_HOUR, OTP_PHONE_LIMITER, create_staff
from api.identity.tokens import AUDIENCE, TokenService
from tests.identity_helpers import STAFF_PASSWORD, bearer, citizen_tokens, new_phone, staff_tokens

VALID_ID = "11010519491231002X"  # the GB 11643 standard's own example
VALID_USCC = "91110108MA01A1B215"  # both check characters right (tests/test_ids.py)


def test_identifiers_are_masked() -> None:
    # Validation of the numbers themselves: tests/test_ids.py.
    assert mask_id_number("511902199001011234") == "511902********1234"
    assert mask_phone("13800138000") == "138****8000"
    assert (mask_name("张三"), mask_name("欧阳娜娜"), mask_name("李"), mask_name("")) == ("张*", "欧***", "*", "")


async def test_sign_in_with_a_phone_code(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 600
    me = await client.get("/api/v1/me", headers=bearer(tokens))
    assert me.status_code == 200
    assert me.json()["kind"] == "citizen" and me.json()["phone"] == mask_phone(tokens["phone"])
    # Codes are stored hashed: the plain code appears nowhere in the table.
    code = app.state.otp.sender.messages(tokens["phone"])[0]
    stored = await OtpCode.filter(phone=tokens["phone"]).values_list("code_hash", flat=True)
    assert stored and all(code not in h for h in stored)


async def test_a_code_works_once(client: AsyncClient, app: Litestar) -> None:
    phone = new_phone()
    await client.post("/api/v1/auth/otp", json={"phone": phone})
    code = app.state.otp.sender.messages(phone)[0]
    assert (await client.post("/api/v1/auth/token", json={"phone": phone, "code": code})).status_code == 200
    again = await client.post("/api/v1/auth/token", json={"phone": phone, "code": code})
    assert again.status_code == 400 and again.json()["field"] == "code"


async def test_five_wrong_codes_burn_the_code(client: AsyncClient, app: Litestar) -> None:
    phone = new_phone()
    await client.post("/api/v1/auth/otp", json={"phone": phone})
    code = app.state.otp.sender.messages(phone)[0]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        r = await client.post("/api/v1/auth/token", json={"phone": phone, "code": wrong})
        assert r.status_code == 400
    assert "次数过多" in r.json()["message"]
    r = await client.post("/api/v1/auth/token", json={"phone": phone, "code": code})
    assert r.status_code == 400 and "次数过多" in r.json()["message"]


async def test_expired_codes_are_refused(client: AsyncClient, app: Litestar) -> None:
    phone = new_phone()
    await client.post("/api/v1/auth/otp", json={"phone": phone})
    code = app.state.otp.sender.messages(phone)[0]
    await OtpCode.filter(phone=phone).update(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    r = await client.post("/api/v1/auth/token", json={"phone": phone, "code": code})
    assert r.status_code == 400 and "过期" in r.json()["message"]


async def test_resend_limits_answer_429_with_retry_after(client: AsyncClient, app: Litestar) -> None:
    phone = new_phone()
    assert (await client.post("/api/v1/auth/otp", json={"phone": phone})).status_code == 202
    too_soon = await client.post("/api/v1/auth/otp", json={"phone": phone})
    assert too_soon.status_code == 429
    assert 0 < int(too_soon.headers["retry-after"]) <= 60
    assert "稍后" in too_soon.json()["message"] and too_soon.json()["field"] == "phone"
    # Ten codes an hour per phone (counted in the database for every process): nine more were
    # sent this hour, from elsewhere, and the resend gap is over.
    now = time.time()
    await RateLimitWindow.filter(bucket=OTP_PHONE_LIMITER.bucket(phone, now)).update(hits=OTP_PER_HOUR)
    await RateLimitWindow.filter(bucket=f"otp_resend:{phone}").update(expires_at=int(now) - 1)
    hourly = await client.post("/api/v1/auth/otp", json={"phone": phone})
    assert hourly.status_code == 429 and "每小时最多 10 次" in hourly.json()["message"]
    assert hourly.json()["detail"] == "too many codes for this phone"
    assert 1 <= int(hourly.headers["retry-after"]) <= 3600  # the end of this hour's window


async def test_a_refused_code_counts_against_no_limit(client: AsyncClient, app: Litestar) -> None:
    # The address has used its ten codes this hour: a new phone's request is refused, and that
    # refusal neither starts the phone's resend gap nor counts for the phone.
    phone = new_phone()
    address, elsewhere = (f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}" for _ in range(2))
    now = time.time()
    await RateLimitWindow.create(bucket=OTP_CLIENT_LIMITER.bucket(address, now), hits=OTP_PER_HOUR,
                                 expires_at=int(now) + 3600)
    with pytest.raises(RateLimited) as refused:
        await app.state.otp.request(phone, address)
    assert refused.value.detail == "too many codes from this address"
    assert not await RateLimitWindow.exists(bucket=f"otp_resend:{phone}")
    assert not await RateLimitWindow.exists(bucket=OTP_PHONE_LIMITER.bucket(phone, now))
    assert not await OtpCode.exists(phone=phone)
    assert await app.state.otp.request(phone, elsewhere) == 300  # from another address: sent


async def test_bad_phone_numbers_are_400_naming_the_field(client: AsyncClient) -> None:
    for phone in ("1380013800", "23800138000", "abc", ""):
        r = await client.post("/api/v1/auth/otp", json={"phone": phone})
        assert r.status_code == 400 and r.json()["field"] == "phone"


async def test_refresh_rotates_and_reuse_revokes_the_family(client: AsyncClient, app: Litestar) -> None:
    first = await citizen_tokens(client, app)
    second = (await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    assert second["refresh_token"] != first["refresh_token"]
    third = await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert third.status_code == 200
    replay = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and "重复使用" in replay.json()["message"]
    # The whole family is gone, including the newest token.
    newest = await client.post("/api/v1/auth/refresh", json={"refresh_token": third.json()["refresh_token"]})
    assert newest.status_code == 401


async def test_logout_ends_the_access_token_and_the_session(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    r = await client.post(
        "/api/v1/auth/logout", headers=bearer(tokens), json={"refresh_token": tokens["refresh_token"]}
    )
    assert r.status_code == 204
    r = await client.get("/api/v1/me", headers=bearer(tokens))
    assert r.status_code == 401 and r.json()["message"] == "您已退出登录，请重新登录"
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401


async def test_a_token_of_a_deleted_citizen_is_refused(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    assert (await client.get("/api/v1/me", headers=bearer(tokens))).status_code == 200
    subject = app.state.tokens.verify_access(tokens["access_token"]).subject
    await Citizen.filter(id=int(subject.split(":")[1])).delete()
    r = await client.get("/api/v1/me", headers=bearer(tokens))
    assert r.status_code == 401 and r.json()["message"] == "账号不存在，请重新登录"


def _forge(app: Litestar, **changes: object) -> str:
    tokens: TokenService = app.state.tokens
    good, _ = tokens.issue_access("citizen:1", "citizen")
    header = jwt.get_unverified_header(good)
    claims = jwt.decode(good, options={"verify_signature": False})
    key = tokens._keys[header["kid"]]
    headers = {"kid": header["kid"], "typ": "at+jwt"}
    algorithm = "HS256"
    if "key" in changes:
        key = changes.pop("key")  # type: ignore[assignment]
    if "alg" in changes:
        algorithm = changes.pop("alg")  # type: ignore[assignment]
    if "headers" in changes:
        headers = changes.pop("headers")  # type: ignore[assignment]
    claims.update(changes)
    return jwt.encode(claims, key if algorithm != "none" else None, algorithm=algorithm, headers=headers)


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "not_yet_valid",
        "wrong_audience",
        "wrong_issuer",
        "wrong_key",
        "alg_none",
        "tampered",
        "no_jti",
        "garbage",
        "unknown_kid",
    ],
)
async def test_bad_tokens_are_rejected_with_401(client: AsyncClient, app: Litestar, case: str) -> None:
    await citizen_tokens(client, app)  # makes sure citizen 1 exists
    now = int(dt.datetime.now(dt.UTC).timestamp())
    token = {
        "expired": lambda: _forge(app, exp=now - 120, iat=now - 900, nbf=now - 900),
        "not_yet_valid": lambda: _forge(app, nbf=now + 600),
        "wrong_audience": lambda: _forge(app, aud="someone-else"),
        "wrong_issuer": lambda: _forge(app, iss="https://evil.example"),
        "wrong_key": lambda: _forge(app, key=b"k" * 32),
        "alg_none": lambda: _forge(
            app,
            alg="none",
            headers={
                "kid": jwt.get_unverified_header(app.state.tokens.issue_access("citizen:1", "citizen")[0])["kid"],
                "typ": "at+jwt",
            },
        ),
        "tampered": lambda: (lambda t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"))(
            app.state.tokens.issue_access("citizen:1", "citizen")[0]
        ),
        "no_jti": lambda: _forge(app, jti=None),
        "garbage": lambda: "not.a.token",
        "unknown_kid": lambda: _forge(app, headers={"kid": "nope", "typ": "at+jwt"}),
    }[case]()
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401, case
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["message"] and "Traceback" not in r.text
    assert AUDIENCE  # the audience the real tokens carry


async def test_no_token_is_401_and_wrong_role_is_403(client: AsyncClient, app: Litestar) -> None:
    assert (await client.get("/api/v1/me")).status_code == 401
    staff = await staff_tokens(client, "supervisor")
    r = await client.put("/api/v1/me/profile", headers=bearer(staff), json={"name": "张三", "id_number": VALID_ID})
    assert r.status_code == 403 and r.json()["message"] == "您没有权限进行此操作"


async def test_profile_is_validated_and_the_id_number_masked(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    bad = await client.put(
        "/api/v1/me/profile", headers=bearer(tokens), json={"name": "张三", "id_number": "110105194912310021"}
    )
    assert bad.status_code == 400 and bad.json()["field"] == "id_number" and "校验位" in bad.json()["message"]
    ok = await client.put(
        "/api/v1/me/profile", headers=bearer(tokens), json={"name": "张三", "id_number": VALID_ID.lower()}
    )
    assert ok.status_code == 200
    assert ok.json()["id_number"] == "110105********002X" and ok.json()["verified"] is True
    assert VALID_ID not in (await client.get("/api/v1/me", headers=bearer(tokens))).text


async def test_id_numbers_never_reach_the_logs(
    client: AsyncClient, app: Litestar, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = await citizen_tokens(client, app)
    await client.put("/api/v1/me/profile", headers=bearer(tokens), json={"name": "李四", "id_number": VALID_ID})
    await client.put(
        "/api/v1/me/profile", headers=bearer(tokens), json={"name": "李四", "id_number": "110105194912310021"}
    )
    await client.get("/api/v1/me", headers=bearer(tokens))
    formatter = logs.TextFormatter()  # what every handler zhengwu configures writes (records stay intact)
    logged = "\n".join(formatter.format(r) for r in caplog.records)
    assert VALID_ID not in logged and "110105194912310021" not in logged
    assert tokens["phone"] not in logged  # phones are masked in the SMS log line too


async def test_a_citizen_binds_an_enterprise_after_real_name(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    early = await client.post(
        "/api/v1/me/enterprises", headers=bearer(tokens), json={"uscc": VALID_USCC, "name": "巴中示例餐饮有限公司"}
    )
    assert early.status_code == 409
    await client.put("/api/v1/me/profile", headers=bearer(tokens), json={"name": "王五", "id_number": VALID_ID})
    bad = await client.post(
        "/api/v1/me/enterprises", headers=bearer(tokens), json={"uscc": "91110108MA01A1B216", "name": "x"}
    )
    assert bad.status_code == 400 and bad.json()["field"] == "uscc"
    ok = await client.post(
        "/api/v1/me/enterprises", headers=bearer(tokens), json={"uscc": VALID_USCC, "name": "巴中示例餐饮有限公司"}
    )
    assert ok.status_code == 201
    assert ok.json()["enterprises"] == [
        {
            "uscc": VALID_USCC,
            "name": "巴中示例餐饮有限公司",
            "legal_representative": "王五",
            "role": "legal_representative",
        }
    ]


@pytest.mark.parametrize("body", [
    {"username": "0" * 51, "password": ""},  # found by the fuzz test: longer than the column → was a 500
    {"username": "Ṱ̺̺̕o͞ ̷i̲̬͇̪͙n̝̗͕v̟̜̘̦͟o̶̙̰̠kè͚̮̺̪̹̱̤" * 5, "password": "x"},
    {"username": "", "password": "x"},
    {"username": "admin", "password": "p" * 100_000},
])
async def test_staff_sign_in_with_impossible_credentials_is_a_plain_refusal(client: AsyncClient, body: dict) -> None:
    r = await client.post("/api/v1/auth/staff/token", json=body)
    assert r.status_code == 401 and r.json()["message"] == "用户名或密码不正确"


async def test_staff_sign_in_and_lockout(client: AsyncClient) -> None:
    tokens = await staff_tokens(client, "officer", department="SCJGJ")
    me = (await client.get("/api/v1/me", headers=bearer(tokens))).json()
    assert me["kind"] == "staff" and me["role"] == "officer" and me["department"] == "SCJGJ"
    stored = await Staff.get(username=tokens["username"])
    assert stored.password_hash.startswith("$argon2id$")
    for _ in range(5):
        r = await client.post(
            "/api/v1/auth/staff/token", json={"username": tokens["username"], "password": "wrong-pass-1"}
        )
        assert r.status_code == 401
    locked = await client.post(
        "/api/v1/auth/staff/token", json={"username": tokens["username"], "password": STAFF_PASSWORD}
    )
    assert locked.status_code == 403 and "锁定" in locked.json()["message"]
    unknown = await client.post("/api/v1/auth/staff/token", json={"username": "nobody", "password": "x"})
    assert unknown.status_code == 401 and unknown.json()["message"] == "用户名或密码不正确"


async def test_a_demoted_staff_token_stops_working(client: AsyncClient) -> None:
    tokens = await staff_tokens(client, "admin")
    assert (await client.get("/api/v1/me", headers=bearer(tokens))).status_code == 200
    await Staff.filter(username=tokens["username"]).update(role="clerk", window="W01")
    assert (await client.get("/api/v1/me", headers=bearer(tokens))).status_code == 401


@pytest.mark.parametrize(("role", "department", "window", "field"), [
    ("boss", "", "", "role"), ("officer", "", "", "department"), ("approver", "NOPE", "", "department"),
    ("clerk", "", "", "window"), ("clerk", "", "NOPE", "window"),
])
async def test_create_staff_checks_the_assignment(
    client: AsyncClient, role: str, department: str, window: str, field: str
) -> None:
    """The one assignment rule of the admin API holds for ``zhengwu create-staff`` and tests too."""
    username = f"assign-{role}-{new_phone()}"
    with pytest.raises(InvalidInput) as refused:
        await create_staff(username, STAFF_PASSWORD, role, department, window)
    assert refused.value.field == field
    assert not await Staff.exists(username=username)


async def test_development_sms_inbox(client: AsyncClient, app: Litestar) -> None:
    phone = new_phone()
    await client.post("/api/v1/auth/otp", json={"phone": phone})
    r = await client.get("/api/v1/dev/sms", params={"phone": phone})
    assert r.status_code == 200 and len(r.json()["codes"]) == 1 and r.json()["codes"][0].isdigit()


async def test_the_development_inbox_does_not_exist_in_production(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from api.app import create_app
    from tests.conftest import make_settings

    prod = create_app(make_settings("sqlite://:memory:", tmp_path, env="production"), manage_database=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=prod), base_url="http://t") as c:
        r = await c.get("/api/v1/dev/sms", params={"phone": "13800138000"})
    assert r.status_code == 404
