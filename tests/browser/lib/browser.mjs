// Headless Chromium from the system (Debian's package), driven by playwright-core, and the
// checks every page of the journey gets: a screenshot for review, axe-core's accessibility
// rules and the absence of Content-Security-Policy violations.

import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

/** Where Debian's chromium package puts the browser; SESAME_CHROMIUM overrides it. */
export const CHROMIUM = process.env.SESAME_CHROMIUM || '/usr/bin/chromium';

// The flags that work on our machines: no sandbox (the tests run as root), no GPU, and no
// background connections, which the closed network would refuse at every start.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The axe-core rules run on every page: WCAG 2.0 and 2.1, levels A and AA (RGAA 4.1's base). */
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

/** Impacts that fail the test. */
const FAILING_IMPACTS = new Set(['serious', 'critical']);

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: install Debian's chromium package ` +
        '(apt-get install -y chromium), as .ci/run does, or set SESAME_CHROMIUM',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/**
 * Records what each page of a browser context should be checked for, and checks it: one
 * numbered screenshot per page under `screenshotDir`, axe-core, and CSP reports.
 */
export class PageChecker {
  constructor(screenshotDir) {
    this.screenshotDir = screenshotDir;
    this.count = 0;
    this.cspViolations = [];
    this.axeSource = null;
    this.findings = [];
  }

  /** Listens to a page's console: Chromium reports every CSP violation there. */
  watch(page) {
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) {
        this.cspViolations.push(`${page.url()}: ${message.text()}`);
      }
    });
    return page;
  }

  /** Screenshot and accessibility check of the page as it is now. */
  async check(page, name) {
    await page.waitForLoadState('load');
    this.count += 1;
    await mkdir(this.screenshotDir, { recursive: true });
    const file = path.join(this.screenshotDir, `${String(this.count).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });

    const violations = await this.runAxe(page);
    const failing = violations.filter((violation) => FAILING_IMPACTS.has(violation.impact));
    const minor = violations.filter((violation) => !FAILING_IMPACTS.has(violation.impact));
    for (const violation of minor) {
      this.findings.push(`${name}: ${violation.impact} ${violation.id} (${violation.help})`);
    }
    if (failing.length > 0) {
      const details = failing
        .map(
          (violation) =>
            `  ${violation.impact} ${violation.id}: ${violation.help}\n` +
            violation.nodes.map((node) => `    ${node.target.join(' ')}: ${node.failureSummary}`).join('\n'),
        )
        .join('\n');
      throw new Error(`accessibility violations on ${name} (${page.url()}):\n${details}`);
    }
    if (this.cspViolations.length > 0) {
      throw new Error(`Content-Security-Policy violations:\n${this.cspViolations.join('\n')}`);
    }
    return file;
  }

  async runAxe(page) {
    if (this.axeSource === null) {
      this.axeSource = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
    }
    // Evaluated through the DevTools protocol, which the page's CSP does not apply to, so the
    // page keeps its real policy while axe runs.
    const loaded = await page.evaluate(() => typeof window.axe !== 'undefined');
    if (!loaded) {
      await page.evaluate(this.axeSource);
    }
    return page.evaluate(
      (tags) =>
        window.axe
          .run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] })
          .then((results) =>
            results.violations.map((violation) => ({
              id: violation.id,
              impact: violation.impact,
              help: violation.help,
              nodes: violation.nodes.map((node) => ({
                target: node.target,
                failureSummary: node.failureSummary,
              })),
            })),
          ),
      AXE_TAGS,
    );
  }
}
