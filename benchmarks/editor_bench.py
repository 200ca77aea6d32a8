"""Validation round trip in the rule editor: from the request leaving (after the debounce) to the squiggle on screen.

Run: .venv/bin/python benchmarks/editor_bench.py [--edits 40] [--lines 300]

Drives Debian's Chromium (Playwright) against a fresh seeded `cutis serve`, opens a generated
rulebook of about 300 lines, and repeats one edit far down the text: a character that makes a
field name unknown, then undo. The clock starts when the editor sends `validateRulebook` (its
`cutis:validate-sent` event, after the 300 ms typing pause) and stops at the first animation
frame after the error squiggle is in the DOM. Prints median and p95 of that round trip, and of
the GraphQL request alone (Resource Timing), over the repeated edits.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright

from tests.web.harness import CHROMIUM, CHROMIUM_ARGS, build_web_app, running_server
from tests.web.pages import graphql, log_in_quickly

RULE = """rule bcbs-ak-cap-{n} "Cap of {n} actinic keratoses per session, variant {n}"
  in policy
  when service.kind = destruction
   and service.diagnoses any in actinic_keratosis
   and present(service.count)
   and service.count > {n} lesions
  then
    cap lesions of service at {n} lesions
    flag payer_lesion_cap_applied
"""

CREATE = """mutation($text: String!) {
  createRulebook(name: "Benchmark (300 lines)", payer: "BCBS", layer: payer, text: $text) {
    __typename ... on Rulebook { id }
  }
}"""

# Runs in the page: `window.__squiggle` resolves with timings once the next error squiggle is shown.
WAIT_FOR_SQUIGGLE = """() => { window.__squiggle = new Promise((resolve) => {
  const content = document.querySelector('.cm-content');
  const done = () => {
    observer.disconnect();
    const domAt = performance.now();
    requestAnimationFrame(() => {
      const shownAt = performance.now();
      const requests = performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/graphql'));
      const last = requests[requests.length - 1];
      const requestMs = last ? last.responseEnd - last.startTime : null;
      resolve({ sentAt: window.__lastValidateSent, domAt, shownAt, requestMs });
    });
  };
  const observer = new MutationObserver(() => { if (content.querySelector('.cm-lintRange-error')) done(); });
  observer.observe(content, { childList: true, subtree: true, attributes: true });
}); }"""


def generated_rulebook(lines: int) -> str:
    header = (
        'rulebook "Benchmark (300 lines)" for payer BCBS\n  extends "National base"\n  effective 2026-01-01\n\n'
        "valueset actinic_keratosis = [L57.0]\n\n"
    )
    rules: list[str] = []
    n = 1
    while len((header + "\n".join(rules)).splitlines()) < lines:
        rules.append(RULE.format(n=n))
        n += 1
    return header + "\n".join(rules)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=40)
    parser.add_argument("--lines", type=int, default=300)
    args = parser.parse_args()
    text = generated_rulebook(args.lines)
    build_web_app()
    with running_server() as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=server.base_url)
        log_in_quickly(context, server.base_url)
        created = graphql(context, server.base_url, CREATE, {"text": text})["createRulebook"]
        assert created["__typename"] == "Rulebook", created
        page = context.new_page()
        page.add_init_script(
            "window.addEventListener('cutis:validate-sent', (e) => { window.__lastValidateSent = e.detail.at; });"
        )
        page.goto(f"/rulebooks/{created['id']}")
        page.locator("#problems-summary").filter(has_text="No problems").wait_for()
        total_lines = text.count("\n") + 1
        target = max(line for line, content in enumerate(text.splitlines(), 1) if "service.count >" in content)

        round_trips, requests = [], []
        for _ in range(args.edits + 3):  # the first 3 warm up
            page.locator(".cm-content").focus()
            page.keyboard.press("Control+End")
            for _ in range(total_lines - target):
                page.keyboard.press("ArrowUp")
            page.keyboard.press("Home")
            for _ in range(len("and service.coun")):
                page.keyboard.press("ArrowRight")
            page.keyboard.press("Shift+ArrowRight")
            page.evaluate(WAIT_FOR_SQUIGGLE)  # starts watching; does not wait
            page.keyboard.type("x")  # service.count -> service.counx: unknown field
            timing = page.evaluate("() => window.__squiggle")
            round_trips.append(timing["shownAt"] - timing["sentAt"])
            requests.append(timing["requestMs"] or 0.0)
            page.keyboard.press("Escape")
            page.keyboard.press("Control+z")
            page.locator(".cm-lintRange-error").wait_for(state="detached")
        browser.close()

    round_trips, requests = round_trips[3:], requests[3:]
    print(f"rulebook: {total_lines} lines, {len(text)} characters; edit on line {target}; {len(round_trips)} edits")
    print("validation round trip (request sent after the debounce -> squiggle shown):")
    print(
        f"  median {statistics.median(round_trips):6.1f} ms   p95 {percentile(round_trips, 0.95):6.1f} ms   "
        f"min {min(round_trips):6.1f} ms   max {max(round_trips):6.1f} ms"
    )
    print("of which the GraphQL request (Resource Timing, start -> response end):")
    print(f"  median {statistics.median(requests):6.1f} ms   p95 {percentile(requests, 0.95):6.1f} ms")
    print("target (issue 7): under 150 ms")


if __name__ == "__main__":
    main()
