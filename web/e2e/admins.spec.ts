// Through the UI: an organization admin invites an instructor and changes a member's role; a site admin
// deactivates a user, who can then no longer sign in. Pages a student cannot use answer a clear page.
import { expect, test } from '@playwright/test';
import { expectAccessible, freshStudent, signIn, uniqueEmail } from './support';

test('admins manage members and accounts', async ({ page }) => {
  const member = await freshStudent(page, 'Python Foundations');
  page.on('dialog', (dialog) => void dialog.accept());

  // A student sees no staff section, and a staff page answers the forbidden page, not a crash.
  await page.goto('/sign-in');
  await signIn(page, member.email, member.password);
  await expect(page.getByRole('heading', { name: /^Welcome/ })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Teach' })).toHaveCount(0);
  await page.goto('/admin/users');
  await expect(page.getByRole('heading', { name: 'You don’t have access to this page' })).toBeVisible();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();

  await signIn(page, 'admin@coursegraph.dev');
  await page.getByRole('link', { name: /^Organization/ }).click();
  await expect(page.getByRole('heading', { name: 'Members of Demo Academy' })).toBeVisible();
  await expectAccessible(page, 'organization members');

  const invited = uniqueEmail('new-instructor');
  await page.getByLabel('Email').fill(invited);
  await page.getByLabel('Role', { exact: true }).selectOption('INSTRUCTOR');
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await expect(page.getByText(`Invitation mailed to ${invited}`)).toBeVisible();

  await page.getByLabel('Filter by role').selectOption('STUDENT');
  // Site admins see members' emails: the row of this journey's own student.
  const row = page.getByRole('row', { name: new RegExp(member.email) });
  await row.getByRole('combobox').selectOption('INSTRUCTOR');
  await row.getByRole('button', { name: 'Save role' }).click();
  await expect(page.getByText(/Fresh Student is now instructor/)).toBeVisible();

  // Settings: a value out of range is refused at its field.
  await page.getByRole('navigation', { name: 'Organization' }).getByRole('link', { name: 'Settings' }).click();
  await page.getByLabel('Running labs per member').fill('50');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByLabel('Running labs per member')).toHaveAttribute('aria-invalid', 'true');
  await expectAccessible(page, 'organization settings with an error');

  // Both changes in the audit log (written from the events a moment later; under `make test` the worker
  // first catches up with the events of the whole run before it, which can take a minute or two).
  await page.getByRole('navigation', { name: 'Organization' }).getByRole('link', { name: 'Audit log' }).click();
  await page.getByLabel('Action').fill('organizations.*');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(async () => {
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect(page.getByRole('cell', { name: 'organizations.membership.role_changed' }).first()).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 150_000 });
  await expect(page.getByRole('cell', { name: 'organizations.invitation.created' }).first()).toBeVisible();
  await expectAccessible(page, 'organization audit log');

  // An API client for an integration: its secret shown once, then revoked.
  await page.getByRole('navigation', { name: 'Organization' }).getByRole('link', { name: 'API clients' }).click();
  const clientName = `LMS sync ${Date.now()}`;
  await page.getByLabel('Name').fill(clientName);
  await page.getByRole('button', { name: 'Create API client' }).click();
  await expect(page.getByText('Grant at least one scope.')).toBeVisible();
  await page.getByLabel(/Read courses/).check();
  await page.getByRole('button', { name: 'Create API client' }).click();
  await expect(page.getByText(/is shown only now/)).toBeVisible();
  await expect(page.getByRole('button', { name: 'Copy the secret' })).toBeVisible();
  await expectAccessible(page, 'API clients with a new secret');
  await page.getByRole('button', { name: `Revoke ${clientName}` }).click();
  await expect(page.getByRole('listitem').filter({ hasText: clientName }).getByText(/^Revoked/)).toBeVisible();

  await page.getByRole('link', { name: 'Admin' }).click();
  await expect(page.getByRole('heading', { name: 'Users', level: 1 })).toBeVisible();
  await page.getByLabel('Name or email').fill(member.email);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByRole('row', { name: new RegExp(member.email) })).toBeVisible();
  await expectAccessible(page, 'site admin users');
  await page.getByRole('button', { name: 'Deactivate Fresh Student' }).click();
  await expect(page.getByRole('row', { name: new RegExp(member.email) }).getByText('Deactivated')).toBeVisible();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await signIn(page, member.email, member.password);
  await expect(page.getByText('That email and password do not match an active account.')).toBeVisible();
});
