// Account journeys through the UI: a forgotten password reset from the mail; a revoked session lands on
// sign-in; a reload mid-quiz resumes the open attempt with its saved answers.
import { expect, test } from '@playwright/test';
import { apiToken, expectAccessible, freshStudent, graphql, linkFromMail, register, signIn, uniqueEmail } from './support';

test('forgot password, reset from the mail, sign in', async ({ page }) => {
  const email = uniqueEmail('reset');
  const first = 'the first passphrase of this account';
  const second = 'a brand new passphrase after reset';
  // An account of its own (created and confirmed through the API), so the demo logins stay as they are.
  await register(page, email, first, 'Reset Tester');
  await page.goto(await linkFromMail(email, '/verify-email'));
  await expect(page.getByText('Your email address is confirmed')).toBeVisible();

  await page.goto('/sign-in');
  await expectAccessible(page, 'sign in');
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await expectAccessible(page, 'forgot password');
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Send me a reset link' }).click();
  await expect(page.getByText('a reset link is on its way')).toBeVisible();

  await page.goto(await linkFromMail(email, '/reset-password'));
  await expectAccessible(page, 'reset password');
  await page.getByLabel('New password', { exact: true }).fill(second);
  await page.getByLabel('Repeat the new password').fill(second);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByRole('heading', { name: 'Password changed' })).toBeVisible();

  await page.getByRole('link', { name: 'Sign in with your new password' }).click();
  await signIn(page, email, first);
  await expect(page.getByText('That email and password do not match an active account.')).toBeVisible();
  await signIn(page, email, second);
  await expect(page.getByRole('heading', { name: /^Welcome back, Reset/ })).toBeVisible();
});

test('a revoked session lands on sign-in, and signing in again returns to the page', async ({ page }) => {
  const { email, password } = await freshStudent(page, 'Python Foundations');
  await page.goto('/sign-in');
  await signIn(page, email, password);
  await expect(page.getByRole('heading', { name: /^Welcome back/ })).toBeVisible();
  // A reload keeps you signed in (the refresh cookie).
  await page.reload();
  await expect(page.getByRole('heading', { name: /^Welcome back/ })).toBeVisible();

  // Elsewhere, the account signs out of every session (as after a stolen laptop).
  const token = await apiToken(page, email, password);
  await graphql(page, 'mutation { logout(input: { allSessions: true }) { revokedSessions } }', {}, token);

  await page.getByRole('link', { name: 'Catalog' }).click();
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fcatalog&ended=1$/);
  await expect(page.getByText('Your session ended. Sign in again to continue.')).toBeVisible();
  await signIn(page, email, password);
  await expect(page).toHaveURL(/\/catalog$/);
});

test('a reload mid-quiz resumes the attempt with its saved answers', async ({ page }) => {
  const { email, password } = await freshStudent(page, 'Python Foundations');
  await page.goto('/sign-in');
  await signIn(page, email, password);
  await expect(page.getByRole('heading', { name: /^Welcome back/ })).toBeVisible();
  const quizLink = page.getByRole('region', { name: 'Quizzes waiting' }).getByRole('link').first();
  await quizLink.click();
  await page.getByRole('button', { name: 'Start the quiz' }).click();
  const question = page.locator('.question').first();
  const choice = question.locator('input').first();
  await choice.check();
  await expect(question.getByText('Saved')).toBeVisible();
  const attempt = await page.getByText(/^Attempt \d+ · answers are saved as you go/).textContent();

  await page.reload();
  await expect(page.getByText(attempt!.split(' · ')[0] + ' · answers are saved as you go', { exact: false })).toBeVisible();
  await expect(page.locator('.question').first().locator('input').first()).toBeChecked();
  await expectAccessible(page, 'quiz attempt after reload');
});
