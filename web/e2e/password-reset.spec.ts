// Through the UI: a forgotten password, reset from the mailed link, then signing in with the new one.
import { expect, test } from '@playwright/test';
import { expectAccessible, linkFromMail, register, signIn, uniqueEmail } from './support';

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
