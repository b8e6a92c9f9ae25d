"""Browser tests of the coordination desk, in headless Chromium driven by Playwright.

Run by scripts/desk-test.sh, which loads the demo registry into a fresh database and passes:
  AIDGRAPH_BIN           the aidgraph binary
  AIDGRAPH_DESK_WORK     the folder to run it in (its configuration comes from the environment)
  AIDGRAPH_DESK_SHOTS    the folder screenshots are written to
  AIDGRAPH_CHROMIUM      Chromium's executable

This script starts `aidgraph serve` itself, so that it can stop and restart it under an open
page. Each check is a user's task from end to end: sign in by pasting a token, open a heatmap
cell, review a flag and see it leave the open queue, see a flag raised through the API appear
on an open page without a reload, see the page reconnect after the service restarts, see a
recipient's needs and their coverage, see review offered only where the caller may review,
and be asked to sign in again when the token expires.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

BIN = os.environ["AIDGRAPH_BIN"]
WORK = os.environ["AIDGRAPH_DESK_WORK"]
SHOTS = Path(os.environ.get("AIDGRAPH_DESK_SHOTS", "target/desk-screenshots"))
CHROMIUM = os.environ.get("AIDGRAPH_CHROMIUM", "/usr/bin/chromium")
# The service honours a token for 30 s past its expiry (clock leeway).
LEEWAY_SECONDS = 30

# Chromium on a closed network: no background connections, no sandbox as root.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

NEW_ACTIVITY = {
    "iatiIdentifier": "XM-DAC-41128-DESK-KE-MLA",
    "reportingOrg": "XM-DAC-41128",
    "titles": [{"lang": "en", "text": "Mutual legal assistance training for Kenyan prosecutors"}],
    "descriptions": [
        {
            "lang": "en",
            "text": "Training for prosecutors and the central authority on mutual legal "
            "assistance requests under article 18 of the Convention.",
        }
    ],
    "participatingOrgs": [{"ref": "XM-DAC-41128", "role": "IMPLEMENTING"}],
    "recipientCountries": [{"code": "KE", "percentage": "100"}],
    "sectors": [{"code": "15130", "percentage": "100"}],
    "priorityAreas": ["INTERNATIONAL_COOPERATION"],
    "provisions": ["UNTOC-18"],
    "assistanceTypes": ["TRAINING"],
    "beneficiaryInstitutions": ["PROSECUTION"],
    "status": "IMPLEMENTATION",
    "plannedStart": "2026-02-01",
    "plannedEnd": "2027-01-31",
    "budget": {"amount": "300000", "currency": "USD"},
    "noNeedLinkReason": "registered by the desk's browser test",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PORT = free_port()
TOKENS: dict[str, str] = {}
URL = f"http://127.0.0.1:{PORT}"


def aidgraph(*args: str) -> str:
    """Runs an aidgraph command in the work folder; its standard output."""
    return subprocess.run(
        [BIN, *args], cwd=WORK, check=True, capture_output=True, text=True, env={**os.environ, "RUST_LOG": "warn"}
    ).stdout.strip()


def token(*args: str) -> str:
    return aidgraph("token", "issue", *args)


class Service:
    """`aidgraph serve` on a fixed port, started and stopped by the test."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "RUST_LOG": "warn", "AIDGRAPH_BIND": f"127.0.0.1:{PORT}"}
        self.process = subprocess.Popen([BIN, "serve"], cwd=WORK, env=env)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{URL}/readyz", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError):
                if self.process.poll() is not None:
                    raise RuntimeError(f"aidgraph serve exited with {self.process.returncode}")
                time.sleep(0.1)
        raise RuntimeError("aidgraph serve did not become ready in 60 s")

    def stop(self) -> None:
        """Stops the service as an operator would (SIGTERM: sockets close with 1001)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)


def graphql(token: str, query: str, variables: dict) -> dict:
    """Calls the API as a partner system would."""
    request = urllib.request.Request(
        f"{URL}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.load(response)
    assert not body.get("errors"), body
    return body["data"]


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, token: str) -> None:
    page.goto(f"{URL}/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Bearer token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who")).to_be_visible()


def coordinator_opens_a_heatmap_cell(page: Page) -> None:
    sign_in(page, TOKENS["coordinator"])
    expect(page.locator("#who")).to_contain_text("Coordinator")
    expect(page.get_by_role("tab", name=re.compile("Coverage heatmap"))).to_have_attribute("aria-selected", "true")
    cell = page.locator('button.cell[data-row="KE"][data-column="INTERNATIONAL_COOPERATION"]')
    expect(cell).to_be_visible()
    # Two uncoordinated donors train the same prosecutors: the need is duplicated, and the
    # state is written in the cell, not only coloured.
    expect(cell).to_contain_text("Duplicated")
    expect(cell).to_contain_text("⚑ 1")
    # The firearms need has no activity.
    expect(page.locator('button.cell[data-row="KE"][data-column="PROTOCOLS_IMPLEMENTATION"]')).to_contain_text("Unmet")
    # Keyboard: the cell is a button that Enter opens.
    cell.focus()
    page.keyboard.press("Enter")
    detail = page.locator("section.detail")
    expect(detail.get_by_role("heading", name="Kenya × International cooperation")).to_be_focused()
    expect(detail).to_contain_text("Strengthening mutual legal assistance in Kenya")
    expect(detail).to_contain_text("Training Kenyan prosecutors in international cooperation")
    expect(detail).to_contain_text("Capacity of the central authority and prosecutors")
    expect(detail.get_by_role("heading", name="Open flags (1)")).to_be_visible()
    shot(page, "heatmap")
    # Colouring by crowding needs no new answer and labels every cell too.
    page.get_by_label("Colour by").select_option("crowding")
    expect(cell).to_contain_text("Several providers")


def coordinator_reviews_a_flag(page: Page) -> None:
    page.get_by_role("tab", name=re.compile("Flag queue")).click()
    queue = page.locator("ol.queue > li.flag")
    expect(queue).to_have_count(2)
    expect(page.locator("#flag-count")).to_have_text("(2)")
    shot(page, "flags")
    tunisia = queue.filter(has_text="Legislative assistance to Tunisia")
    expect(tunisia).to_have_count(1)
    # Both activities side by side, and why they were flagged.
    expect(tunisia.get_by_label("Activity A")).to_be_visible()
    expect(tunisia.get_by_label("Activity B")).to_be_visible()
    expect(tunisia.locator("table.components tbody tr").first).to_be_visible()
    flag_id = tunisia.get_attribute("data-flag-id")
    tunisia.get_by_label(re.compile("^ ?Complementary")).check()
    tunisia.get_by_label("Note").fill("UNODC drafts, Germany advises parliament: agreed at the March meeting")
    tunisia.get_by_role("button", name="Record the review").click()
    expect(queue).to_have_count(1)
    expect(page.locator(f'#flag-{flag_id}')).to_have_count(0)
    reviewed = page.locator(".reviewed")
    expect(reviewed).to_contain_text("Complementary")
    expect(reviewed).to_contain_text("agreed at the March meeting")
    # The decision sticks: a fresh page (same tab session) no longer lists the flag as open.
    page.reload()
    page.get_by_role("tab", name=re.compile("Flag queue")).click()
    expect(queue).to_have_count(1)
    expect(page.locator(f'#flag-{flag_id}')).to_have_count(0)


def flag_raised_through_the_api_appears_live(page: Page) -> None:
    expect(page.locator("#live")).to_have_text("Live: connected")
    before = page.locator("ol.queue > li.flag").count()
    created = graphql(
        TOKENS["provider"],
        "mutation Create($input: ActivityInput!) { createActivity(input: $input, publish: true) { id } }",
        {"input": NEW_ACTIVITY},
    )
    assert created["createActivity"]["id"]
    arrived = page.locator("ol.queue > li.flag").filter(has_text="Mutual legal assistance training for Kenyan prosecutors")
    expect(arrived.first).to_be_visible(timeout=20_000)
    assert page.locator("ol.queue > li.flag").count() > before


def recipient_sees_needs_and_coverage(page: Page) -> None:
    sign_in(page, TOKENS["recipient"])
    expect(page.locator("#who")).to_contain_text("Recipient")
    expect(page.get_by_role("tab", name="Needs")).to_have_attribute("aria-selected", "true")
    rows = page.locator("table.needs tbody tr")
    expect(rows).to_have_count(3)
    # Only Kenya's needs: the recipient's scope, exactly as the API applies it.
    expect(page.locator("table.needs")).not_to_contain_text("Tunisia")
    expect(page.locator("table.needs")).not_to_contain_text("smuggling of migrants")
    firearms = rows.filter(has_text="Marking and record-keeping of firearms")
    expect(firearms).to_have_attribute("data-coverage", "UNMET")
    expect(firearms).to_contain_text("Unmet")
    victims = rows.filter(has_text="victims of trafficking")
    expect(victims).to_have_attribute("data-coverage", "COVERED")
    expect(victims).to_contain_text("Shelters and legal aid for survivors of trafficking in Kenya")
    mla = rows.filter(has_text="mutual legal assistance requests")
    expect(mla).to_have_attribute("data-coverage", "DUPLICATED")
    shot(page, "needs")
    # The coverage filter narrows to the needs nobody addresses.
    page.get_by_label("Coverage", exact=True).select_option("UNMET")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("firearms")


def expired_token_asks_to_sign_in_again(page: Page, issued_at: float) -> None:
    # Signed in at the start; the socket closes when the token runs out and the page asks
    # for a new one, saying why.
    remaining = issued_at + 1 + LEEWAY_SECONDS + 5 - time.time()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=max(remaining, 1) * 1000 + 10_000)
    expect(page.locator("#sign-in-reason")).to_contain_text("expired")
    expect(page.locator("#desk")).to_be_hidden()
    shot(page, "sign-in-expired")


REGIONAL_ACTIVITY = {
    "iatiIdentifier": "XM-DAC-41128-DESK-AFRICA",
    "reportingOrg": "XM-DAC-41128",
    "titles": [{"lang": "en", "text": "Regional platform for mutual legal assistance in Africa"}],
    "recipientCountries": [],
    "recipientRegions": [{"code": "298", "percentage": "100"}],
    "sectors": [{"code": "15130", "percentage": "100"}],
    "priorityAreas": ["INTERNATIONAL_COOPERATION"],
    "provisions": ["UNTOC-18"],
    "assistanceTypes": ["GOOD_PRACTICE_SHARING"],
    "status": "IMPLEMENTATION",
    "plannedStart": "2026-01-01",
    "plannedEnd": "2027-12-31",
    "noNeedLinkReason": "regional; needs are published by countries",
}


def a_regional_row_opens_its_activities(page: Page) -> None:
    graphql(
        TOKENS["provider"],
        "mutation Create($input: ActivityInput!) { createActivity(input: $input, publish: true) { id } }",
        {"input": REGIONAL_ACTIVITY},
    )
    page.get_by_role("tab", name="Coverage heatmap").click()
    cell = page.locator('button.cell[data-row="298"][data-column="INTERNATIONAL_COOPERATION"]')
    expect(cell).to_be_visible(timeout=20_000)
    cell.click()
    detail = page.locator("section.detail")
    expect(detail.get_by_role("heading", name=re.compile("× International cooperation"))).to_be_visible()
    expect(detail).to_contain_text("Regional platform for mutual legal assistance in Africa")
    expect(detail).to_contain_text("regional rows have none")


def page_reconnects_after_a_restart(page: Page, service: Service) -> None:
    live = page.locator("#live")
    expect(live).to_have_text("Live: connected")
    service.stop()
    expect(live).to_contain_text("Live updates lost; reconnecting")
    expect(live).to_have_attribute("data-state", "lost")
    service.start()
    expect(live).to_have_text("Live: connected", timeout=40_000)
    # After reconnecting, the views catch up with what they may have missed.
    page.get_by_role("tab", name=re.compile("Flag queue")).click()
    expect(page.locator("ol.queue > li.flag").first).to_be_visible()


def provider_reviews_only_its_own_flags(page: Page) -> None:
    sign_in(page, TOKENS["provider"])
    expect(page.locator("#who")).to_contain_text("United Nations Office on Drugs and Crime")
    # Keyboard: arrow keys move between the views.
    page.get_by_role("tab", name="Coverage heatmap").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name=re.compile("Flag queue"))).to_have_attribute("aria-selected", "true")
    flags = page.locator("ol.queue > li.flag")
    own = flags.filter(has_text="Mutual legal assistance training for Kenyan prosecutors")
    others = flags.filter(has_not_text="Mutual legal assistance training for Kenyan prosecutors")
    expect(own.first).to_be_visible()
    expect(others.first).to_be_visible()
    for i in range(own.count()):
        expect(own.nth(i).get_by_role("button", name="Record the review")).to_have_count(1)
    for i in range(others.count()):
        expect(others.nth(i).get_by_role("button", name="Record the review")).to_have_count(0)
        expect(others.nth(i)).to_contain_text("Coordinators and the providers of these activities review flags")


def a_refused_review_says_so_and_changes_nothing(page: Page) -> None:
    """The API decides, not the page: a page that wrongly believes the provider may review
    every flag (its viewer answer rewritten on the way) offers the form, and the API's refusal
    is shown beside it while the flag stays open."""

    def as_coordinator(route) -> None:
        request = route.request
        if request.method == "POST" and "query Viewer" in (request.post_data or ""):
            response = route.fetch()
            body = response.json()
            body["data"]["viewer"]["role"] = "COORDINATOR"
            route.fulfill(response=response, json=body)
        else:
            route.continue_()

    page.route("**/graphql", as_coordinator)
    sign_in(page, TOKENS["provider"])
    page.get_by_role("tab", name=re.compile("Flag queue")).click()
    other = page.locator("ol.queue > li.flag").filter(has_not_text="Mutual legal assistance training for Kenyan prosecutors").first
    expect(other.get_by_role("button", name="Record the review")).to_be_visible()
    flag_id = other.get_attribute("data-flag-id")
    other.get_by_label(re.compile("^ ?Dismissed")).check()
    other.get_by_role("button", name="Record the review").click()
    expect(other.locator(".form-message")).to_contain_text("Refused:")
    expect(page.locator(f"#flag-{flag_id}")).to_have_count(1)
    page.unroute("**/graphql")
    open_flags = graphql(
        TOKENS["coordinator"],
        "query Open($filter: OverlapFlagFilter!) { overlapFlags(filter: $filter) { nodes { id } } }",
        {"filter": {"status": ["OPEN"]}},
    )
    assert flag_id in [f["id"] for f in open_flags["overlapFlags"]["nodes"]], "the refused review changed the flag"


def main() -> int:
    service = Service()
    service.start()
    issued_at = time.time()
    TOKENS.update(
        short=token("--role", "coordinator", "--ttl", "1s"),
        coordinator=token("--role", "coordinator"),
        recipient=token("--role", "recipient", "--country", "KE"),
        provider=token("--role", "provider", "--org", "XM-DAC-41128"),
    )
    try:
        return run(service, issued_at)
    finally:
        service.stop()


def run(service: Service, issued_at: float) -> int:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            short = browser.new_page(viewport={"width": 1280, "height": 900})
            sign_in(short, TOKENS["short"])
            checks = []
            coordinator = browser.new_page(viewport={"width": 1280, "height": 900})
            recipient = browser.new_page(viewport={"width": 1280, "height": 900})
            provider = browser.new_page(viewport={"width": 1280, "height": 900})
            for name, page, check in [
                ("a coordinator opens a heatmap cell", coordinator, coordinator_opens_a_heatmap_cell),
                ("a coordinator reviews a flag and it leaves the open queue", coordinator, coordinator_reviews_a_flag),
                ("a flag raised through the API appears without a reload", coordinator, flag_raised_through_the_api_appears_live),
                ("a regional row of the heatmap opens its activities", coordinator, a_regional_row_opens_its_activities),
                ("the page reconnects after the service restarts", coordinator, lambda page: page_reconnects_after_a_restart(page, service)),
                ("a recipient sees its needs and their coverage", recipient, recipient_sees_needs_and_coverage),
                ("a provider is offered review only on its own flags", provider, provider_reviews_only_its_own_flags),
                ("a refused review is said, and changes nothing", browser.new_page(viewport={"width": 1280, "height": 900}), a_refused_review_says_so_and_changes_nothing),
                ("an expired token shows the sign-in again", short, lambda page: expired_token_asks_to_sign_in_again(page, issued_at)),
            ]:
                started = time.time()
                try:
                    check(page)
                except Exception:
                    print(f"FAIL {name}; the page is in {SHOTS / 'failure.png'}", flush=True)
                    shot(page, "failure")
                    raise
                checks.append(name)
                print(f"ok   {name} ({time.time() - started:.1f} s)", flush=True)
        finally:
            browser.close()
    print(f"{len(checks)} desk checks passed; screenshots in {SHOTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
