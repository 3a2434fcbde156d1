"""Secrets at rest (#19): the gateway's token-signing private keys, and the replayable answer of
a created API client (which holds its secret), are stored encrypted with
`GATEWAY_KEY_ENCRYPTION_KEY`; plaintext keys from before are encrypted at start; a gateway given
no key, or the wrong one, refuses to start."""

from __future__ import annotations

import uuid

import jwt
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from gateway.identity import clients as service
from gateway.identity.keycrypt import KeyCipher, KeyEncryptionError
from gateway.identity.schemas import ClientCreate
from gateway.models import IdempotencyKey, SigningKey
from tests.gateway.conftest import KEY_ENCRYPTION_KEY, token_for
from tests.gateway.replicas import client_of, replica
from tests.support.databases import migrated_database


async def stored_keys(app) -> list[SigningKey]:
    async with app.state.sessionmaker() as session:
        return list((await session.scalars(select(SigningKey))).all())


async def test_signing_keys_are_stored_encrypted(stack):
    keys = await stored_keys(stack.gateway_app)
    assert keys
    for key in keys:
        assert key.private_key_pem.startswith("fernet:")
        assert "PRIVATE KEY" not in key.private_key_pem
        assert "BEGIN PRIVATE KEY" in KeyCipher.parse(KEY_ENCRYPTION_KEY).open(key.private_key_pem)


async def test_a_created_clients_replayable_answer_holds_no_secret_in_the_clear(stack, admin):
    gateway = stack.gateway
    body = {"name": "uploader", "organisation": "Sealed Org", "scopes": ["evidence:submit"]}
    headers = {**admin, "Idempotency-Key": str(uuid.uuid4())}
    first = await gateway.post("/v1/clients", json=body, headers=headers)
    assert first.status_code == 201, first.text
    secret = first.json()["client_secret"]
    async with stack.gateway_app.state.sessionmaker() as session:
        row = await session.scalar(
            select(IdempotencyKey).where(IdempotencyKey.key == headers["Idempotency-Key"])
        )
    assert row is not None
    assert row.response_body is not None
    assert secret not in row.response_body
    assert first.json()["client_id"] not in row.response_body
    assert row.response_body.startswith("fernet:")
    # The retry still learns the secret it missed.
    again = await gateway.post("/v1/clients", json=body, headers=headers)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["client_secret"] == secret


async def test_a_gateway_with_the_wrong_key_or_none_refuses_to_start(stack, gateway_db):
    with pytest.raises(KeyEncryptionError, match="not the key they were encrypted with"):
        async with replica(stack, gateway_db, key_encryption_key=Fernet.generate_key().decode()):
            pass
    with pytest.raises(KeyEncryptionError, match="no GATEWAY_KEY_ENCRYPTION_KEY"):
        async with replica(stack, gateway_db, key_encryption_key=""):
            pass
    with pytest.raises(KeyEncryptionError, match="Fernet keys"):
        async with replica(stack, gateway_db, key_encryption_key="not-a-key"):
            pass


@pytest.fixture
def fresh_gateway_db(tmp_path) -> str:
    """A gateway database of its own (migrated outside the event loop: PostgreSQL's runs one)."""
    return migrated_database("gateway", tmp_path)


async def test_plaintext_keys_are_encrypted_once_a_key_is_given_and_tokens_keep_working(
    stack, fresh_gateway_db
):
    db = fresh_gateway_db
    async with replica(stack, db, key_encryption_key="") as plain:
        (before,) = await stored_keys(plain)
        assert "BEGIN PRIVATE KEY" in before.private_key_pem
        async with client_of(plain) as c:
            r = await c.get("/.well-known/jwks.json")
            jwks = r.json()
    # Rotation: the new key first, the old one still opens what it sealed.
    new_key = Fernet.generate_key().decode()
    async with replica(stack, db, key_encryption_key=f"{new_key},{KEY_ENCRYPTION_KEY}") as sealed:
        (after,) = await stored_keys(sealed)
        assert after.kid == before.kid
        assert after.private_key_pem.startswith("fernet:")
        async with client_of(sealed) as c:
            assert (await c.get("/.well-known/jwks.json")).json() == jwks
    async with replica(stack, db, key_encryption_key=new_key) as again, client_of(again) as c:
        # The same key signs, and the gateway accepts what it signed.
        async with again.state.sessionmaker() as session, session.begin():
            read, secret = await service.create_client(
                session, ClientCreate(name="n", organisation="o", scopes=["commitments:write"])
            )
        token = await token_for(c, {"client_id": read.client_id, "client_secret": secret})
        assert jwt.get_unverified_header(token)["kid"] == before.kid
        principal = await again.state.token_verifier.verify(token)
        assert principal.client_id == read.client_id


def test_a_cipher_opens_what_an_earlier_key_sealed_and_refuses_a_stranger():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = KeyCipher.parse(old).seal("secret")
    assert KeyCipher.parse(f"{new}, {old}").open(sealed) == "secret"
    assert KeyCipher.parse(f"{new}, {old}").seal("secret") != sealed
    with pytest.raises(KeyEncryptionError):
        KeyCipher.parse(new).open(sealed)
    assert KeyCipher.parse("").seal("plain") == "plain"
