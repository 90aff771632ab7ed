// The Smart OA journey of a producer in headless Chromium, as the initialisation guide shows it:
// the mail link, the authenticator set-up from the manual key, the password, the name, the
// confirmation, back to the portal, sign-in with the password and the one-time code; then a
// second device added in the account console ("Mon Profil"), and a new sign-in that picks it,
// switched to English on the way with the language switcher. Every page is screenshotted under
// target/browser-screenshots/ and checked with axe-core.
//
// Usage: node journey.test.mjs PATH_TO_SESAME_BINARY
// Elements are found by their role and their French (or English) labels, as a user finds them.

import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { PageChecker, launchBrowser } from './lib/browser.mjs';
import { startSesame } from './lib/server.mjs';
import { Authenticator, checkRfc6238Vectors } from './lib/totp.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repositoryRoot = path.resolve(here, '..', '..');
const screenshotDir =
  process.env.SESAME_SCREENSHOT_DIR || path.join(repositoryRoot, 'target', 'browser-screenshots');

const PRODUCER_EMAIL = 'producteur.demo@smart-oa.example';
const PASSWORD = 'Un mot de passe solide 2026 !';
const FIRST_NAME = 'Jeanne';
const LAST_NAME = 'Productrice';
const DEVICE_NAME = 'Téléphone de Jeanne';
const SECOND_DEVICE_NAME = 'Tablette du bureau';
const STEP_TIMEOUT_MS = 15_000;
// The whole journey takes about ten seconds; each device's codes are used at most twice within
// one time step, so no step waits for the clock (the authenticator would wait up to 30 s).
// Past this, the browser and Sésame are stopped and the test fails.
const JOURNEY_TIMEOUT_MS = 95_000;

function assert(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

async function expectHeading(page, name) {
  const heading = page.getByRole('heading', { level: 1 });
  await heading.waitFor({ timeout: STEP_TIMEOUT_MS });
  const text = (await heading.innerText()).trim();
  assert(text === name, `expected the heading "${name}" on ${page.url()}, found "${text}"`);
  assert((await page.locator('h1').count()) === 1, `more than one h1 on ${page.url()}`);
}

/** The realm's theme: the Smart OA banner, in the portal's navy, from the hashed stylesheet. */
async function expectSmartOaHeader(page) {
  const banner = page.getByRole('banner');
  await banner.getByText('Smart OA', { exact: true }).waitFor();
  const background = await banner.evaluate((element) => getComputedStyle(element).backgroundColor);
  assert(background === 'rgb(0, 26, 112)', `the Smart OA stylesheet applies: ${background}`);
}

/** Runs one named step and prints how long it took; a failure names the step. */
async function step(name, body) {
  const started = Date.now();
  try {
    await body();
  } catch (err) {
    err.message = `step "${name}" failed: ${err.message}`;
    throw err;
  }
  console.log(`ok   ${name} (${Date.now() - started} ms)`);
}

/** Opens "Impossible de scanner ?" and reads the key and its settings as a user types them. */
async function enrolFromManualKey(page, checker, labels, screenshotName = 'configure-totp-manual') {
  await page.getByRole('link', { name: labels.unableToScan }).click();
  await expectHeading(page, labels.configureTitle);
  await checker.check(page, screenshotName);

  const key = (await page.locator('#totp-secret').innerText()).trim();
  const settings = await page.getByRole('main').innerText();
  assert(/SHA1/.test(settings), `the manual mode names the algorithm: ${settings}`);
  assert(/\b6\b/.test(settings), `the manual mode names 6 digits: ${settings}`);
  assert(/\b30\b/.test(settings), `the manual mode names the 30 s period: ${settings}`);
  assert(/^[A-Z2-7 ]{16,}$/.test(key), `a base32 key is shown: ${key}`);
  return new Authenticator(key);
}

async function signIn(page, checker, authenticator, labels, screenshotPrefix) {
  await expectHeading(page, labels.loginTitle);
  await checker.check(page, `${screenshotPrefix}-password`);
  await page.getByLabel(labels.username).fill(PRODUCER_EMAIL);
  await page.getByLabel(labels.password, { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: labels.signIn }).click();

  await page.getByLabel(labels.otpCode).waitFor({ timeout: STEP_TIMEOUT_MS });
  await expectHeading(page, labels.loginTitle);
  await checker.check(page, `${screenshotPrefix}-code`);
  await page.getByLabel(labels.otpCode).fill(await authenticator.nextCode());
  await page.getByRole('button', { name: labels.signIn }).click();
}

const FRENCH = {
  configureTitle: "Configuration de l'authentification par mobile",
  unableToScan: 'Impossible de scanner ?',
  loginTitle: 'Connectez-vous à votre compte',
  username: "Nom d'utilisateur ou courriel",
  password: 'Mot de passe',
  signIn: 'Connexion',
  otpCode: 'Code à usage unique',
  chooseDevice: 'Choisissez votre appareil',
};

const ENGLISH = {
  loginTitle: 'Sign in to your account',
  username: 'Username or email',
  password: 'Password',
  signIn: 'Sign in',
  otpCode: 'One-time code',
  chooseDevice: 'Choose your device',
};

async function main() {
  const binary = process.argv[2];
  assert(binary, 'usage: node journey.test.mjs PATH_TO_SESAME_BINARY');
  checkRfc6238Vectors();
  await rm(screenshotDir, { recursive: true, force: true });

  const started = Date.now();
  const browser = await launchBrowser();
  let sesame = null;
  const deadline = setTimeout(async () => {
    console.error(`the journey took more than ${JOURNEY_TIMEOUT_MS} ms`);
    if (sesame) {
      console.error(`--- sesame output\n${sesame.output()}`);
      await sesame.stop();
    }
    await browser.close();
    process.exit(1);
  }, JOURNEY_TIMEOUT_MS);
  try {
    sesame = await startSesame(path.resolve(binary), repositoryRoot);
    const checker = new PageChecker(screenshotDir);
    const context = await browser.newContext({ locale: 'fr-FR', viewport: { width: 1024, height: 800 } });
    const page = checker.watch(await context.newPage());
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    let authenticator = null;
    let secondAuthenticator = null;

    await step('the mail link opens the authenticator set-up', async () => {
      await page.goto(sesame.invitation);
      await expectHeading(page, FRENCH.configureTitle);
      for (const app of ['Microsoft Authenticator', 'FreeOTP', 'Google Authenticator']) {
        await page.getByRole('listitem').filter({ hasText: app }).first().waitFor();
      }
      await page.getByRole('img', { name: /Code QR/ }).waitFor();
      await expectSmartOaHeader(page);
      await checker.check(page, 'configure-totp');
    });

    await step('the manual mode shows the key, and the code enrols the phone', async () => {
      authenticator = await enrolFromManualKey(page, checker, FRENCH);
      await page.getByLabel('Code à usage unique').fill(await authenticator.nextCode());
      await page.getByLabel("Nom d'appareil").fill(DEVICE_NAME);
      await page.getByRole('button', { name: 'Soumettre' }).click();
    });

    await step('the new password is set', async () => {
      await expectHeading(page, 'Mise à jour du mot de passe');
      await checker.check(page, 'update-password');
      await page.getByLabel('Nouveau mot de passe').fill(PASSWORD);
      await page.getByLabel('Confirmation du mot de passe').fill(PASSWORD);
      await page.getByRole('button', { name: 'Soumettre' }).click();
    });

    await step('first and last name complete the profile', async () => {
      await expectHeading(page, 'Mise à jour du compte');
      const email = await page.getByLabel('Courriel').inputValue();
      assert(email === PRODUCER_EMAIL, `the e-mail is prefilled: ${email}`);
      await checker.check(page, 'update-profile');
      await page.getByLabel('Prénom').fill(FIRST_NAME);
      await page.getByRole('textbox', { name: 'Nom', exact: true }).fill(LAST_NAME);
      await page.getByRole('button', { name: 'Soumettre' }).click();
    });

    await step('"Votre compte a été mis à jour" links back to the portal', async () => {
      await expectHeading(page, 'Votre compte a été mis à jour');
      await checker.check(page, 'account-updated');
      await page.getByRole('link', { name: 'Cliquez ici pour vous connecter' }).click();
      await page.waitForURL(sesame.portalUrl);
      await checker.check(page, 'portal-home');
    });

    await step('"Se connecter" signs in with the password, then the code', async () => {
      await page.getByRole('link', { name: 'Se connecter' }).click();
      await signIn(page, checker, authenticator, FRENCH, 'login-fr');
      await page.waitForURL((url) => url.href.startsWith(sesame.portalUrl));
      await page.getByText(`${FIRST_NAME} ${LAST_NAME}`).first().waitFor();
      await checker.check(page, 'portal-signed-in');
    });

    await step('the used mail link opens a themed "link expired" page', async () => {
      const usedLinkPage = checker.watch(await context.newPage());
      await usedLinkPage.goto(sesame.invitation);
      await expectHeading(usedLinkPage, 'Lien expiré');
      await expectSmartOaHeader(usedLinkPage);
      await checker.check(usedLinkPage, 'used-link');
      await usedLinkPage.close();
    });

    await step('"Mon Profil" adds a second device, listed with its creation date', async () => {
      await page.getByRole('link', { name: 'Mon Profil' }).click();
      await expectHeading(page, 'Mon compte');
      await checker.check(page, 'account');
      await page.getByRole('button', { name: "Configurer Application d'authentification" }).click();
      await expectHeading(page, FRENCH.configureTitle);
      await checker.check(page, 'account-configure-totp');
      secondAuthenticator = await enrolFromManualKey(page, checker, FRENCH, 'account-configure-totp-manual');
      await page.getByLabel('Code à usage unique').fill(await secondAuthenticator.nextCode());
      await page.getByLabel("Nom d'appareil").fill(SECOND_DEVICE_NAME);
      await page.getByRole('button', { name: 'Soumettre' }).click();

      await expectHeading(page, 'Mon compte');
      const main = await page.getByRole('main').innerText();
      for (const device of [DEVICE_NAME, SECOND_DEVICE_NAME]) {
        assert(main.includes(device), `the console lists ${device}:\n${main}`);
      }
      const dates = main.match(/Créé le \d{1,2}(er)? \p{L}+ \d{4} à \d{2}:\d{2}\./gu) || [];
      assert(dates.length === 2, `each device shows its creation date:\n${main}`);
      await checker.check(page, 'account-two-devices');
    });

    await step('signing in again offers the device choice, then English with the switcher', async () => {
      const secondContext = await browser.newContext({
        locale: 'fr-FR',
        viewport: { width: 390, height: 844 },
      });
      const secondPage = checker.watch(await secondContext.newPage());
      secondPage.setDefaultTimeout(STEP_TIMEOUT_MS);
      await secondPage.goto(sesame.portalUrl);
      await secondPage.getByRole('link', { name: 'Se connecter' }).click();
      await expectHeading(secondPage, FRENCH.loginTitle);
      await checker.check(secondPage, 'login-again-password');
      await secondPage.getByLabel(FRENCH.username).fill(PRODUCER_EMAIL);
      await secondPage.getByLabel(FRENCH.password, { exact: true }).fill(PASSWORD);
      await secondPage.getByRole('button', { name: FRENCH.signIn }).click();

      const frenchPicker = secondPage.getByRole('group', { name: FRENCH.chooseDevice });
      for (const device of [DEVICE_NAME, SECOND_DEVICE_NAME]) {
        await frenchPicker.getByRole('radio', { name: device, exact: true }).waitFor();
      }
      await checker.check(secondPage, 'login-again-device-choice');

      await secondPage
        .getByRole('navigation', { name: 'Choisir la langue' })
        .getByRole('link', { name: 'English' })
        .click();
      await expectHeading(secondPage, ENGLISH.loginTitle);
      await expectSmartOaHeader(secondPage);
      const lang = await secondPage.locator('html').getAttribute('lang');
      assert(lang === 'en', `the page says it is in English: lang=${lang}`);
      const englishPicker = secondPage.getByRole('group', { name: ENGLISH.chooseDevice });
      await englishPicker.getByRole('radio', { name: SECOND_DEVICE_NAME, exact: true }).check();
      await checker.check(secondPage, 'login-again-device-choice-en');
      await secondPage.getByLabel(ENGLISH.otpCode).fill(await secondAuthenticator.nextCode());
      await secondPage.getByRole('button', { name: ENGLISH.signIn }).click();

      await secondPage.waitForURL((url) => url.href.startsWith(sesame.portalUrl));
      await secondPage.getByText(`${FIRST_NAME} ${LAST_NAME}`).first().waitFor();
      await checker.check(secondPage, 'portal-signed-in-second-device');
      await secondContext.close();
    });

    await context.close();
    if (checker.findings.length > 0) {
      console.log(`axe-core findings below the serious impact:\n  ${checker.findings.join('\n  ')}`);
    }
    console.log(
      `browser journey passed: ${checker.count} pages checked, screenshots in ${screenshotDir}, ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  } catch (err) {
    if (sesame) {
      console.error(`--- sesame output\n${sesame.output()}`);
    }
    throw err;
  } finally {
    clearTimeout(deadline);
    const stopping = Date.now();
    await browser.close();
    const browserClosed = Date.now();
    if (sesame) {
      await sesame.stop();
    }
    console.log(
      `browser closed in ${browserClosed - stopping} ms, Sésame stopped in ${Date.now() - browserClosed} ms`,
    );
  }
}

main().catch((err) => {
  console.error(err.stack || String(err));
  process.exitCode = 1;
});
