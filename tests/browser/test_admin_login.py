"""The admin login in a real browser: the form, a wrong password, and the index a user lands on."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def test_front_office_logs_in_through_the_form_and_sees_the_admin(live_server, page, staff_user):
    staff_user("Front office", username="frontdesk")
    page.goto(f"{live_server.url}/admin/login/")

    page.fill("#id_username", "frontdesk")
    page.fill("#id_password", "wrong-password")
    page.click("input[type=submit]")
    expect(page.locator(".errornote")).to_contain_text("correct username and password")

    page.fill("#id_password", "browser-test-pass")
    page.click("input[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("#user-tools")).to_contain_text("frontdesk")
