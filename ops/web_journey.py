"""The web's journeys in Chromium (Selenium, headless), against a stack that ran the demo story (ops/web-test).

A client signs in with the link from the email the outbound sandbox recorded, opens its delivered deliverable
and asks for a revision, sends a new brief and changes its plan in Stripe's Customer Portal; the operator, signed in meanwhile through the Clerk stand-in on the review queue, sees the new version arrive
without a reload, reviews it beside the old one and delivers it with the keyboard; the client's project page
shows the delivery without a reload. The operator sends a message to a run the gateway holds open, from its task's
page, reads it in the run's session and aborts the run. Then what must not work: another client's page (404), a form without its
token or with another session's (403), a sign-in link used twice or expired (403), a Clerk handshake used twice
(403). No page may log a console
error. Screenshots of the main pages are kept.
"""

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.action_chains import ActionChains

BASE = os.environ["WEB_BASE"]
OUTBOUND = os.environ["WEB_OUTBOUND"]
CLIENT = os.environ["WEB_CLIENT_EMAIL"]
OPERATOR = os.environ["WEB_OPERATOR_EMAIL"]
OUT = os.environ["WEB_OUT"]
BULLPEN = os.environ["BULLPEN_BIN"]
CLERK = os.environ["WEB_CLERK"]
GATEWAY = os.environ["WEB_GATEWAY"]


def step(text):
    print(f"[web] {text}", flush=True)


def fail(text):
    print(f"[web] FAILED: {text}", flush=True)
    sys.exit(1)


def eventually(check, what, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception:  # the page may be mid-update
            pass
        time.sleep(0.2)
    fail(f"timed out waiting for {what}")


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.implicitly_wait(0)
    return driver


def console_errors(driver, page):
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    if errors:
        fail(f"console errors on {page}: {errors}")


def emails():
    with urllib.request.urlopen(OUTBOUND + "/sandbox/state", timeout=5) as response:
        return json.load(response)["emails"]


def sign_in_link(address, after=0):
    def find():
        found = [e for e in emails()[after:] if address in e["to"] and e["subject"].startswith("Your sign-in link")]
        if found:
            return re.search(r"(\S+/signin/confirm\?\S+)", found[-1]["text"]).group(1)
    return eventually(find, f"the sign-in email to {address}")


def sign_in(driver, address, name):
    before = len(emails())
    driver.get(BASE + "/")
    eventually(lambda: "/signin" in driver.current_url, "the sign-in page")
    field = driver.find_element(By.ID, "email")
    field.send_keys(address)
    field.send_keys(Keys.ENTER)
    eventually(lambda: "Check your email" in driver.find_element(By.TAG_NAME, "h1").text, "the check-your-email page")
    link = sign_in_link(address, before)
    driver.get(link)
    driver.find_element(By.CSS_SELECTOR, "main form button").click()
    eventually(lambda: driver.current_url.rstrip("/") == BASE, f"{name} signed in")
    console_errors(driver, f"{name}'s first page")
    return link


def sign_in_with_clerk(driver, address, name):
    """Through Clerk's sign-in page (the sandbox's stand-in) and back to the console with its handshake."""
    driver.get(BASE + "/")
    eventually(lambda: "/signin" in driver.current_url, "the sign-in page")
    driver.find_element(By.LINK_TEXT, "Sign in with Clerk").click()
    eventually(lambda: "/sign-in" in driver.current_url, "Clerk's sign-in page")
    field = driver.find_element(By.ID, "identifier")
    field.send_keys(address)
    field.send_keys(Keys.ENTER)
    eventually(lambda: driver.current_url.rstrip("/") == BASE, f"{name} signed in through Clerk")
    console_errors(driver, f"{name}'s first page")


def cookie(driver):
    return "bullpen_session=" + driver.get_cookie("bullpen_session")["value"]


def http(method, path, cookie_value=None, form=None, headers=None):
    """One request, redirects not followed: (status, body), or with headers=True (status, body, headers)."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(path if path.startswith("http") else BASE + path, data=data, method=method)
    if cookie_value:
        request.add_header("Cookie", cookie_value)
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            answer = (response.status, response.read().decode(), response.headers)
    except urllib.error.HTTPError as error:
        answer = (error.code, error.read().decode(), error.headers)
    return answer if headers else answer[:2]


def cli(token, *arguments):
    """Runs the bullpen CLI against the stack as the token's holder; returns its JSON answer."""
    result = subprocess.run([BULLPEN, *arguments, "--json"], capture_output=True, text=True, check=True,
                            env=dict(os.environ, BULLPEN_URL=BASE, BULLPEN_TOKEN=token))
    return json.loads(result.stdout)


def gateway_faults(faults):
    request = urllib.request.Request(GATEWAY + "/sandbox/faults", data=json.dumps(faults).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).close()


def talk_to_a_running_agent(operator, token, project_id):
    """A run the sandbox gateway holds open: the operator sends it a message from the task's page, reads it in
    the session, then aborts the run from the same page."""
    suffix = str(int(time.time()))
    agent = cli(token, "agent", "register", "--name", f"web-journey-{suffix}", "--specialization", "writer",
                "--wait")["result"]["agentId"]
    task = cli(token, "task", "create", "--project", project_id, "--title", "A run to talk to", "--type",
               "research", "--wait")["result"]["taskId"]
    gateway_faults({"holdRunsMs": 120000})
    try:
        cli(token, "task", "dispatch", str(task), "--agent", str(agent), "--wait")
        eventually(lambda: cli(token, "task", "show", str(task))["status"] == "running", "the held run running")
    finally:
        gateway_faults({})  # the run already started keeps its hold
    operator.get(f"{BASE}/tasks/{task}")
    operator.find_element(By.ID, "agent-message").send_keys("Please cite the launch numbers.")
    operator.find_element(By.ID, "send-message").click()
    eventually(lambda: "Done." in operator.find_element(By.TAG_NAME, "main").text, "the message to the agent applied")

    def message_in_session():
        operator.get(f"{BASE}/tasks/{task}/session")
        return any("Please cite the launch numbers." in line.text
                   for line in operator.find_elements(By.CSS_SELECTOR, "#session-messages li"))
    eventually(message_in_session, "the operator's message in the run's session (chat.send)")
    console_errors(operator, "a running task's session")
    operator.get(f"{BASE}/tasks/{task}")
    operator.find_element(By.ID, "abort-reason").send_keys("The client changed the brief")
    operator.find_element(By.ID, "abort-run").click()
    eventually(lambda: "Done." in operator.find_element(By.TAG_NAME, "main").text, "the abort applied")
    eventually(lambda: cli(token, "task", "show", str(task))["status"] == "failed", "the aborted task failed")
    operator.get(f"{BASE}/tasks/{task}")
    if "The client changed the brief" not in operator.find_element(By.TAG_NAME, "main").text:
        fail("the aborted task's page does not say why it was aborted")
    console_errors(operator, "an aborted task's page")


def shot(driver, name):
    driver.save_screenshot(os.path.join(OUT, name + ".png"))


def keyboard_to(driver, element_id, presses=80):
    """Tab through the page until the element has the focus; the keyboard alone."""
    body = driver.find_element(By.TAG_NAME, "body")
    body.click()
    for _ in range(presses):
        if driver.switch_to.active_element.get_attribute("id") == element_id:
            return
        ActionChains(driver).send_keys(Keys.TAB).perform()
    fail(f"the keyboard never reached #{element_id}")


def main():
    client = browser()
    operator = browser()
    try:
        step(f"the operator signs in through Clerk ({OPERATOR}) and opens the review queue")
        sign_in_with_clerk(operator, OPERATOR, "the operator")
        shot(operator, "command-center")
        operator.get(BASE + "/review")
        waiting = len(operator.find_elements(By.CSS_SELECTOR, "#review-list li"))

        step(f"the client signs in ({CLIENT}) with the link from its email")
        client_link = sign_in(client, CLIENT, "the client")
        shot(client, "client-projects")
        plan = client.find_element(By.ID, "plan").find_element(By.XPATH, "..").text
        if "Pro" not in plan or "this period" not in plan:
            fail(f"the client's plan and its use are not shown: {plan}")
        cards = client.find_elements(By.CSS_SELECTOR, ".cards a")
        if not cards:
            fail("the client sees no projects")
        project_url = None
        for card in [c.get_attribute("href") for c in cards]:
            client.get(card)
            if client.find_elements(By.CSS_SELECTOR, "#deliverable-list a"):
                project_url = card
                break
        if not project_url:
            fail("no project of the client's shows a delivered deliverable")
        project_id = project_url.rstrip("/").split("/")[-1]
        shot(client, "client-project")
        client.find_element(By.CSS_SELECTOR, "#deliverable-list a").click()
        if not client.find_element(By.ID, "content").text.strip():
            fail("the delivered deliverable shows no content")
        console_errors(client, "the deliverable page")
        shot(client, "client-deliverable")

        step("the client downloads the version's file by its signed link")
        deliverable_id = client.current_url.rstrip("/").split("/")[-1]
        attachment = os.path.join(OUT, "brief-notes.txt")
        with open(attachment, "w") as handle:
            handle.write("The three audiences: founders, operators, investors.\n")
        token = subprocess.run([BULLPEN, "token", "create", "--role", "operator", "--name", "web-test-files"],
                               capture_output=True, text=True, check=True).stdout.strip()
        subprocess.run([BULLPEN, "deliverable", "attach", deliverable_id, attachment, "--wait"], check=True,
                       capture_output=True, env=dict(os.environ, BULLPEN_URL=BASE, BULLPEN_TOKEN=token))
        client.refresh()
        link = client.find_element(By.CSS_SELECTOR, "#file-list a")
        with urllib.request.urlopen(link.get_attribute("href"), timeout=10) as response:
            if response.read() != open(attachment, "rb").read():
                fail("the downloaded file is not the attached one")
        shot(client, "client-deliverable")

        step("the client asks for a revision; the command's page shows it applied")
        client.find_element(By.ID, "revision-notes").send_keys("Name the three audiences in the first line.")
        client.find_element(By.CSS_SELECTOR, "form[action$='/revision'] button").click()
        eventually(lambda: "Done." in client.find_element(By.TAG_NAME, "main").text, "the revision request applied")
        client.get(project_url)
        delivered_before = len(client.find_elements(By.CSS_SELECTOR, "#deliverable-list li"))

        step("the operator's review queue shows the new version without a reload")
        eventually(
            lambda: len(operator.find_elements(By.CSS_SELECTOR, "#review-list li")) > waiting,
            "the new version in the operator's review queue (live)", timeout=40)
        shot(operator, "review-queue")
        operator.find_elements(By.CSS_SELECTOR, "#review-list li a")[-1].click()
        if not operator.find_elements(By.CSS_SELECTOR, ".side-by-side .version.previous"):
            fail("the review screen does not show the version before beside the new one")
        shot(operator, "review-screen")
        console_errors(operator, "the review screen")

        step("the operator delivers it with the keyboard alone")
        keyboard_to(operator, "deliver")
        ActionChains(operator).send_keys(Keys.ENTER).perform()
        eventually(lambda: "Done." in operator.find_element(By.TAG_NAME, "main").text, "the delivery applied")

        step("the client's project page shows the delivery without a reload")
        # The page was loaded before the delivery and is not reloaded: only the event stream can add the version.
        eventually(
            lambda: len(client.find_elements(By.CSS_SELECTOR, "#deliverable-list li")) == delivered_before + 1,
            "the newly delivered version on the client's page (live)")
        console_errors(client, "the project page")

        step("the console's other pages and the client's invoices open, each without a console error")
        for path, heading in [("/agents", "Agents"), ("/dead-letters", "Parked messages"), ("/analytics", "Analytics"),
                              ("/clients", "Clients"), ("/billing", "Billing")]:
            operator.get(BASE + path)
            if operator.find_element(By.TAG_NAME, "h1").text != heading:
                fail(f"{path} shows {operator.find_element(By.TAG_NAME, 'h1').text}")
            console_errors(operator, path)
            if path == "/analytics":
                if not operator.find_elements(By.CSS_SELECTOR, "svg.chart"):
                    fail("the analytics page has no chart")
                shot(operator, "analytics")
            if path == "/billing" and not operator.find_elements(By.CSS_SELECTOR, "svg.chart"):
                fail("the billing page has no MRR chart")
        operator.get(BASE + "/clients")
        operator.find_element(By.XPATH, f"//td[contains(., '{CLIENT}')]/preceding-sibling::td/a").click()
        if "%" not in operator.find_element(By.ID, "sla-compliance").text and \
                operator.find_element(By.ID, "sla-compliance").text != "-":
            fail("the client's page shows no SLA compliance")
        if not operator.find_elements(By.CSS_SELECTOR, "#client-history li"):
            fail("the client's page shows no history")
        if "pro" not in operator.find_element(By.ID, "billing-state").find_element(By.XPATH, "..").text:
            fail("the client's page shows no plan")
        console_errors(operator, "a client's page")
        shot(operator, "client-account")
        operator.get(BASE + "/tasks/1")
        if not operator.find_elements(By.CSS_SELECTOR, "#task-reasons li"):
            fail("a task's page says nothing of why it is where it is")

        def run_shown():
            operator.get(BASE + "/tasks/1")
            rows = operator.find_elements(By.CSS_SELECTOR, "#task-runs tr")
            return rows and "/" in rows[0].find_elements(By.TAG_NAME, "td")[3].text
        eventually(run_shown, "a task's page showing the model its run used (the gateway's report)")
        shot(operator, "task")
        operator.get(BASE + "/tasks/1/session")
        lines = operator.find_elements(By.CSS_SELECTOR, "#session-messages li")
        if not lines or "Task id: 1" not in lines[0].text:
            fail("the task's session page does not show the run's prompt from the gateway")
        if "cb_… (hidden)" not in lines[0].text:
            fail("the task's session page shows the run's callback token")
        console_errors(operator, "a task's session")
        shot(operator, "task-session")

        step("the operator sends a running agent a message from its task's page, reads it in the session, aborts it")
        talk_to_a_running_agent(operator, token, project_id)
        console_errors(operator, "a task's page")
        client.get(BASE + "/invoices")
        if not client.find_elements(By.CSS_SELECTOR, "tbody tr"):
            fail("the client sees no invoices (the demo's checkout paid one)")
        console_errors(client, "the invoices page")
        for path in ["/agents", "/billing", "/clients/1", "/tasks/1/session"]:
            status, _ = http("GET", path, cookie(client))
            if status != 404:
                fail(f"a client opened {path}: {status}")

        step("the client sends a new brief; it opens a project")
        client.get(BASE + "/")
        client.find_element(By.ID, "new-brief").click()
        client.find_element(By.ID, "name").send_keys("Investor update")
        client.find_element(By.ID, "brief").send_keys("A one-page update for our investors, from the launch numbers.")
        client.find_element(By.ID, "send-brief").click()
        eventually(lambda: client.find_elements(By.ID, "open-project"), "the brief applied, with its project")
        client.find_element(By.ID, "open-project").click()
        if client.find_element(By.TAG_NAME, "h1").text != "Investor update":
            fail(f"the brief's project shows {client.find_element(By.TAG_NAME, 'h1').text}")
        console_errors(client, "the brief's project")

        step("the client changes its plan in Stripe's Customer Portal and comes back to it")
        client.get(BASE + "/")
        client.find_element(By.ID, "change-plan").click()
        eventually(lambda: "/p/session/" in client.current_url, "Stripe's Customer Portal")
        if "Pro" not in client.find_element(By.ID, "current-plan").text:
            fail(f"the portal shows another plan: {client.find_element(By.ID, 'current-plan').text}")
        client.find_element(By.ID, "switch-scale").click()
        eventually(lambda: client.current_url.rstrip("/") == BASE, "back from the Customer Portal")

        def on_scale():
            client.get(BASE + "/")
            return "Scale" in client.find_element(By.ID, "plan").find_element(By.XPATH, "..").text
        eventually(on_scale, "the plan card showing Scale (Stripe's webhook applied)", timeout=30)
        console_errors(client, "the home page after the plan change")

        step("what must not work")
        client_cookie, operator_cookie = cookie(client), cookie(operator)
        other = subprocess.run(
            [BULLPEN, "client", "create", "--name", "Other Co", "--email", f"other-{int(time.time())}@other.test",
             "--wait", "--json"], capture_output=True, text=True, env=dict(os.environ, BULLPEN_URL=BASE,
             BULLPEN_TOKEN=subprocess.run([BULLPEN, "token", "create", "--role", "operator", "--name", "web-test"],
                                          capture_output=True, text=True, check=True).stdout.strip()), check=True)
        other_client = json.loads(other.stdout)["result"]["clientId"]
        token = subprocess.run([BULLPEN, "token", "create", "--role", "operator", "--name", "web-test-2"],
                               capture_output=True, text=True, check=True).stdout.strip()
        env = dict(os.environ, BULLPEN_URL=BASE, BULLPEN_TOKEN=token)
        created = subprocess.run(
            [BULLPEN, "project", "create", "--client", str(other_client), "--name", "Secret plans", "--type",
             "website", "--tier", "pro", "--wait", "--json"], capture_output=True, text=True, env=env, check=True)
        other_project = json.loads(created.stdout)["result"]["projectId"]
        status, body = http("GET", f"/projects/{other_project}", client_cookie)
        if status != 404 or "Secret plans" in body:
            fail(f"client A read client B's project: {status}")
        client.get(f"{BASE}/projects/{other_project}")
        if "Not found" not in client.find_element(By.TAG_NAME, "h1").text:
            fail("client A's browser shows client B's project")
        status, _ = http("GET", "/review", client_cookie)
        if status != 404:
            fail(f"a client opened the review queue: {status}")
        form = {"body": "no token", "key": "k-no-token"}
        status, _ = http("POST", f"/projects/{project_id}/messages", client_cookie, form)
        if status != 403:
            fail(f"a form without its token was taken: {status}")
        operator.get(BASE + "/")
        operator_csrf = operator.find_element(By.CSS_SELECTOR, "form.signout input[name=csrf]").get_attribute("value")
        status, _ = http("POST", f"/projects/{project_id}/messages", client_cookie, dict(form, csrf=operator_csrf))
        if status != 403:
            fail(f"a form with another session's token was taken: {status}")
        token_value = urllib.parse.parse_qs(urllib.parse.urlparse(client_link).query)["token"][0]
        status, body = http("POST", "/signin/confirm", None, {"token": token_value, "next": "/"})
        if status != 403 or "used already" not in body:
            fail(f"a used sign-in link was taken again: {status}")
        before = len(emails())
        http("POST", "/signin", None, {"email": CLIENT, "next": "/"})
        fresh = sign_in_link(CLIENT, before)
        fresh_token = urllib.parse.parse_qs(urllib.parse.urlparse(fresh).query)["token"][0]
        subprocess.run(
            ["psql", os.environ["BULLPEN_DATABASE_URL"].split("?")[0], "-qc",
             "UPDATE webtest.sign_in_links SET expires_at = now() - interval '1 second' WHERE used_at IS NULL"],
            check=True, capture_output=True)
        status, body = http("POST", "/signin/confirm", None, {"token": fresh_token, "next": "/"})
        if status != 403 or "expired" not in body:
            fail(f"an expired sign-in link was taken: {status}")
        status, _ = http("GET", "/", None)
        if status != 303:
            fail(f"a stranger was not sent to sign in: {status}")
        status, _, headers = http("POST", CLERK + "/sign-in", None,
                                  {"email": OPERATOR, "redirect_url": BASE + "/signin/clerk"}, headers=True)
        handshake = headers.get("Location", "")
        if status != 303 or "__clerk_handshake=" not in handshake:
            fail(f"Clerk's sign-in gave no handshake: {status} {handshake}")
        status, _, headers = http("GET", handshake, None, headers=True)
        if status != 303 or "bullpen_session=bp_" not in headers.get("Set-Cookie", ""):
            fail(f"a Clerk handshake opened no session: {status}")
        status, body = http("GET", handshake, None)
        if status != 403 or "used already" not in body:
            fail(f"a Clerk handshake was taken twice: {status}")
        status, body = http("GET", handshake.replace("__clerk_handshake=", "__clerk_handshake=x"), None)
        if status != 403 or "does not hold" not in body:
            fail(f"a forged Clerk handshake was taken: {status}")

        step("sign out everywhere ends the session")
        client.get(BASE + "/sessions")
        shot(client, "sessions")
        client.find_element(By.ID, "signout-everywhere").click()
        eventually(lambda: "/signin" in client.current_url, "the sign-in page after signing out")
        time.sleep(1.2)  # the token cache's lifetime
        status, _ = http("GET", f"/projects/{project_id}", client_cookie)
        if status != 303:
            fail(f"a session signed out was still taken: {status}")
        step("all journeys passed")
    except SystemExit:
        # What each browser showed when a journey failed: a screenshot and the page's text, kept with the rest.
        for name, driver in (("client", client), ("operator", operator)):
            try:
                shot(driver, f"failed-{name}")
                with open(os.path.join(OUT, f"failed-{name}.txt"), "w") as handle:
                    handle.write(driver.current_url + "\n\n" + driver.find_element(By.TAG_NAME, "body").text)
            except Exception:
                pass
        raise
    finally:
        client.quit()
        operator.quit()


if __name__ == "__main__":
    main()
