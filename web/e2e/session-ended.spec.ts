// Through the UI: a reload keeps you signed in; a session revoked elsewhere lands on sign-in, and signing
// in again returns to the page you wanted.
import { expect, test } from '@playwright/test';
import { apiToken, freshStudent, graphql, signIn } from './support';

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
