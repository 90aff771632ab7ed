"""Drives Sésame's admin API with python-keycloak's KeycloakAdmin, as a Keycloak admin script
would: a service account's client credentials, then users created, searched, updated, sent the
execute-actions mail, their credentials listed, and deleted; the events of it all read back.

Run by the Rust integration test `python_keycloak` against a test server, with:
SESAME_URL, SESAME_REALM, SESAME_CLIENT_ID, SESAME_CLIENT_SECRET and SESAME_CA_FILE (the
certificate the test server presents). Any failure exits non-zero with the reason.
"""

import os
import sys

PINNED = "python-keycloak==7.1.1"

try:
    from importlib.metadata import version

    from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
    from keycloak.exceptions import KeycloakError
except ImportError as err:
    sys.exit(
        f"python-keycloak is not installed ({err}): "
        "pip install -r crates/server/tests/python/requirements.txt"
    )

if f"python-keycloak=={version('python-keycloak')}" != PINNED:
    sys.exit(f"python-keycloak {version('python-keycloak')} is installed, the tests pin {PINNED}")


def step(name):
    print(f"-- {name}", flush=True)


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def expect_error(status, call, *args):
    try:
        call(*args)
    except KeycloakError as err:
        expect(err.response_code == status, f"expected {status}, got {err.response_code}: {err}")
        return
    raise AssertionError(f"expected an error {status}, the call succeeded")


def main():
    connection = KeycloakOpenIDConnection(
        server_url=os.environ["SESAME_URL"],
        realm_name=os.environ["SESAME_REALM"],
        client_id=os.environ["SESAME_CLIENT_ID"],
        client_secret_key=os.environ["SESAME_CLIENT_SECRET"],
        verify=os.environ["SESAME_CA_FILE"],
    )
    admin = KeycloakAdmin(connection=connection)

    step("create users")
    user_id = admin.create_user(
        {
            "username": "producteur",
            "email": "Producteur@Exemple.fr",
            "firstName": "Paul",
            "lastName": "Durand",
            "enabled": True,
            "emailVerified": True,
            "credentials": [{"type": "password", "value": "Correct-Horse-42", "temporary": False}],
        }
    )
    other_id = admin.create_user({"username": "gestionnaire", "email": "gestion@exemple.fr"})
    expect(user_id and other_id and user_id != other_id, f"ids {user_id} {other_id}")
    again = admin.create_user({"username": "producteur"}, exist_ok=True)
    expect(again == user_id, f"exist_ok found {again}, not {user_id}")
    expect_error(409, admin.create_user, {"username": "producteur"})
    expect_error(400, admin.create_user, {"username": "bad name", "email": "x@y.fr"})

    step("search")
    found = admin.get_users({"search": "exemple.fr"})
    expect([user["username"] for user in found] == ["gestionnaire", "producteur"], found)
    found = admin.get_users({"email": "producteur@exemple.fr"})
    expect([user["id"] for user in found] == [user_id], found)
    page = admin.get_users({"first": 1, "max": 1})
    expect([user["username"] for user in page] == ["producteur"], page)
    expect(admin.users_count() == 2, "two users")
    expect(admin.users_count({"search": "produc"}) == 1, "one producer")
    expect(admin.get_user_id("producteur") == user_id, "get_user_id")
    user = admin.get_user(user_id)
    expect(user["email"] == "producteur@exemple.fr" and user["enabled"] is True, user)
    expect(isinstance(user["createdTimestamp"], int), user)
    expect_error(404, admin.get_user, "00000000-0000-0000-0000-000000000000")

    step("update")
    admin.update_user(user_id, {"firstName": "Pauline", "requiredActions": ["UPDATE_PROFILE"]})
    user = admin.get_user(user_id)
    expect(user["firstName"] == "Pauline" and user["lastName"] == "Durand", user)
    expect(user["requiredActions"] == ["UPDATE_PROFILE"], user)
    expect_error(409, admin.update_user, other_id, {"email": "producteur@exemple.fr"})
    admin.set_user_password(user_id, "Battery-Staple-7", temporary=True)
    expect("UPDATE_PASSWORD" in admin.get_user(user_id)["requiredActions"], "temporary password")

    step("execute-actions mail")
    admin.send_update_account(user_id, ["CONFIGURE_TOTP", "UPDATE_PASSWORD"], lifespan=3600)
    expect_error(400, admin.send_update_account, user_id, ["NOT_AN_ACTION"])

    step("credentials and sessions")
    credentials = admin.get_credentials(user_id)
    expect([credential["type"] for credential in credentials] == ["password"], credentials)
    expect("value" not in credentials[0] and "secretData" not in credentials[0], credentials)
    expect(admin.get_credentials(other_id) == [], "no credential")
    expect(admin.get_sessions(user_id) == [], "no session")
    admin.user_logout(user_id)

    step("events")
    changes = admin.get_admin_events({"resourcePath": f"users/{user_id}*"})
    operations = [(event["operationType"], event["resourcePath"]) for event in changes]
    expect(
        operations
        == [
            ("ACTION", f"users/{user_id}/logout"),
            ("ACTION", f"users/{user_id}/execute-actions-email"),
            ("ACTION", f"users/{user_id}/reset-password"),
            ("UPDATE", f"users/{user_id}"),
            ("CREATE", f"users/{user_id}"),
        ],
        operations,
    )
    expect(changes[0]["authDetails"]["clientId"] == os.environ["SESAME_CLIENT_ID"], changes[0])
    logins = admin.get_events({"client": os.environ["SESAME_CLIENT_ID"], "type": "CLIENT_LOGIN"})
    expect(len(logins) >= 1 and logins[0]["type"] == "CLIENT_LOGIN", logins)

    step("delete")
    admin.delete_user(user_id)
    expect_error(404, admin.get_user, user_id)
    expect_error(404, admin.delete_user, user_id)
    expect([user["id"] for user in admin.get_users()] == [other_id], "one user left")
    print("all admin calls behaved as Keycloak's", flush=True)


if __name__ == "__main__":
    main()
