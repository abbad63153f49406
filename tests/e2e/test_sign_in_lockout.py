"""Sign-in lockout in a real browser: the locked-out page, and the manager's unlock."""

from django.test import Client
from playwright.sync_api import expect

from tests.e2e.test_dashboard import sign_in, signed_in
from tests.support import PASSWORD

LIMIT = 5  # SIGN_IN_FAILURE_LIMIT's default
WRONG_PASSWORD = "not-the-password"


def test_an_account_is_locked_after_five_wrong_passwords_and_the_page_says_how_long_and_what_to_do(
    page, live_server, sdr, request
):
    username = sdr.user.username
    for _ in range(LIMIT - 1):
        sign_in(page, live_server, username, password=WRONG_PASSWORD)
        expect(page.get_by_role("alert")).to_have_text(
            "Your username and password didn't match. Please try again."
        )

    sign_in(page, live_server, username, password=WRONG_PASSWORD)

    expect(page.get_by_role("heading", name="Sign-in paused for this account")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(
        f"Too many wrong passwords were tried for {username}, so signing in to this account is "
        "paused for 15 minutes"
    )
    expect(page.get_by_text("ask a manager or owner of your organization to unlock your "
                            "account")).to_be_visible()
    # Kept beside the failure screenshots (test-results/, a CI artefact) for a person to read.
    results = request.config.rootpath / "test-results"
    results.mkdir(exist_ok=True)
    page.screenshot(path=str(results / "sign-in-locked.png"), full_page=True)

    # The right password is refused too until the lock lapses or a manager lifts it.
    page.get_by_role("link", name="sign in again").click()
    sign_in(page, live_server, username)
    expect(page.get_by_role("heading", name="Sign-in paused for this account")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/login/")


def test_a_manager_unlocks_a_locked_member_in_the_console_and_the_member_signs_in(
    page, browser, live_server, manager, sdr
):
    for _ in range(LIMIT):
        Client().post("/login/", {"username": sdr.user.username, "password": WRONG_PASSWORD})

    signed_in(page, live_server, manager)
    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("link", name="Sign-in locks").click()
    page.get_by_role("checkbox", name=f"Select this object for an action - "
                                      f"Account {sdr.user.username}").check()
    page.select_option("select[name=action]", "unlock_sign_in")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_text(f"Unlocked: {sdr.user.username}. They can sign in again now."))\
        .to_be_visible()

    member = browser.new_context().new_page()
    try:
        sign_in(member, live_server, sdr.user.username, password=PASSWORD)
        expect(member).to_have_url(f"{live_server.url}/")
    finally:
        member.context.close()
